// Formatting of times and the service's codes (reasons, languages, channels).

import {TIME_ZONE} from "./time-zone.js";

/**
 * A Date from the service's timestamps: ISO strings ("2026-11-22T18:00:00+00:00";
 * a string without an offset is taken as UTC) or Unix seconds (Rasa's floats).
 */
export function toDate(value) {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "number") return new Date(value > 1e12 ? value : value * 1000);
  let text = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return toDate(Number(text));
  if (/^\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(text)) text = `${text.replace(" ", "T")}Z`;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

const ZONED = new Intl.DateTimeFormat("en-CA", {
  timeZone: TIME_ZONE, year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});

/** The date's calendar fields in the business's time zone, as zero-padded strings. */
function zoned(date) {
  return Object.fromEntries(ZONED.formatToParts(date).map((part) => [part.type, part.value]));
}

/** "14:05" (today) or "11/21 14:05" (another day), in the business's time zone. */
export function clock(value) {
  const date = toDate(value);
  if (!date) return "";
  const at = zoned(date);
  const today = zoned(new Date());
  const time = `${at.hour}:${at.minute}`;
  if (at.year === today.year && at.month === today.month && at.day === today.day) return time;
  return `${Number(at.month)}/${Number(at.day)} ${time}`;
}

/** Full date and time in the business's time zone, for tooltips. */
export function fullTime(value) {
  const date = toDate(value);
  if (!date) return "";
  const at = zoned(date);
  return `${at.year}-${at.month}-${at.day} ${at.hour}:${at.minute}:${at.second}`;
}

/** Elapsed time since `value` in a compact, language-neutral form: "<1m", "12m", "1h 05m", "2d 3h". */
export function since(value, now = Date.now()) {
  const date = toDate(value);
  if (!date) return "–";
  const minutes = Math.max(0, Math.floor((now - date.getTime()) / 60000));
  if (minutes < 1) return "<1m";
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${String(minutes % 60).padStart(2, "0")}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** Minutes elapsed since `value` (for colouring long waits). */
export function minutesSince(value, now = Date.now()) {
  const date = toDate(value);
  return date ? (now - date.getTime()) / 60000 : 0;
}

const REASONS = {
  human_requested: ["상담원 요청", "Asked for a person"],
  request_human: ["상담원 요청", "Asked for a person"],
  negative_emotion: ["불만·감정", "Upset customer"],
  angry: ["불만 고객", "Angry customer"],
  distress: ["도움 필요", "Customer in distress"],
  complex_technical: ["기술 문제", "Technical fault"],
  technical_issue: ["기술 문제", "Technical fault"],
  contract_change: ["계약 변경", "Contract change"],
  cancellation: ["해지", "Cancellation"],
  billing_dispute: ["요금 이의", "Billing dispute"],
  discount_request: ["할인 요청", "Discount request"],
  low_confidence: ["이해 실패", "Bot did not understand"],
  nlu_fallback: ["이해 실패", "Bot did not understand"],
  repeated_fallback: ["반복 이해 실패", "Bot failed repeatedly"],
  verification_failed: ["본인 확인 실패", "Verification failed"],
};

/** [korean, english] label for a handoff reason; unknown codes are shown humanised. */
export function reasonLabel(code) {
  if (!code) return ["사유 없음", "No reason"];
  const known = REASONS[code];
  if (known) return known;
  const text = String(code).replace(/[_-]+/g, " ");
  return [text, text];
}

const LANGUAGES = {ko: "한국어 KO", en: "English EN"};
export function languageLabel(code) {
  return LANGUAGES[code] || (code ? String(code).toUpperCase() : "–");
}

const CHANNELS = {
  socketio: "Web chat",
  rest: "REST",
  callback: "Messaging",
  telegram: "Telegram",
  facebook: "Messenger",
  slack: "Slack",
};
export function channelLabel(code) {
  return CHANNELS[code] || code || "–";
}

const STATUSES = {
  queued: ["대기", "Queued"],
  assigned: ["상담 중", "Assigned"],
  resolved: ["종료", "Resolved"],
  abandoned: ["이탈", "Abandoned"],
  offline: ["업무 외", "Offline"],
};
export function statusLabel(code) {
  return STATUSES[code] || [code || "–", code || "–"];
}

/** "97%" from a 0–1 confidence. */
export function percent(value) {
  const n = Number(value);
  return Number.isFinite(n) ? `${Math.round(n * 100)}%` : "";
}

/** Any slot or entity value as readable text. */
export function valueText(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

const SKILLS = {
  billing: ["요금", "Billing"],
  technical: ["기술", "Technical"],
  retention: ["해지 방어", "Retention"],
  general: ["일반", "General"],
};
const PRIORITIES = {
  urgent: ["긴급", "Urgent"], high: ["높음", "High"], normal: ["보통", "Normal"], low: ["낮음", "Low"],
};
const TRIGGERS = {
  explicit_request: ["상담원 요청", "Asked for a person"],
  complex_topic: ["복잡한 문의", "Complex topic"],
  emotion: ["감정", "Emotion"],
  repeated_failure: ["반복 실패", "Repeated failure"],
  verification_failed: ["본인 확인 실패", "Verification failed"],
  other: ["기타", "Other"],
};
export const RESOLUTIONS = {
  resolved: ["해결", "Resolved"],
  follow_up: ["후속 조치", "Follow-up"],
  no_response: ["응답 없음", "No response"],
  duplicate: ["중복", "Duplicate"],
  spam: ["스팸", "Spam"],
  customer_cancelled: ["고객 취소", "Cancelled by customer"],
  timed_out: ["대기 중 이탈", "Left the queue"],
};

const pair = (table, code) => table[code] || [code || "–", code || "–"];
export const skillLabel = (code) => pair(SKILLS, code);
export const priorityLabel = (code) => pair(PRIORITIES, code);
export const triggerLabel = (code) => pair(TRIGGERS, code);
export const resolutionLabel = (code) => pair(RESOLUTIONS, code);
export const SKILL_CODES = Object.keys(SKILLS);

/** Fill a canned response's {name} and {agent_name}; unknown names stay visible. */
export function fillPlaceholders(text, values) {
  return String(text).replace(/\{(\w+)\}/g, (match, name) => values[name] ?? match)
    .replace(/\{\{/g, "{").replace(/\}\}/g, "}");
}
