// Formatting of times, scores and values; the words for the service's codes are
// in labels.js.

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

// Why an agent's reply did not reach the customer, and what the agent can do.
const DELIVERY_FAILURES = {
  platform_error: ["메신저가 전달하지 못했습니다", "The messaging platform did not deliver it"],
  window_closed: ["WhatsApp 24시간 창이 닫혔습니다", "WhatsApp's 24-hour window is closed"],
  blocked: ["고객이 차단했거나 수신을 거부했습니다", "The customer blocked the bot or unsubscribed"],
  invalid_recipient: ["받는 사람에게 보낼 수 없습니다", "The recipient cannot be reached"],
  timeout: ["메신저가 제때 응답하지 않았습니다", "The platform did not answer in time"],
  rasa_unavailable: ["봇 서버에 연결할 수 없습니다", "The bot server could not be reached"],
};
const DELIVERY_ADVICE = {
  window_closed: [
    "고객이 먼저 메시지를 보내면 다시 답장할 수 있습니다. 고객의 메시지를 기다리거나, 후속 조치(콜백·문의 접수)로 종료하세요.",
    "You can reply once the customer writes again. Wait for their message, or close as follow-up to call them back or answer their ticket.",
  ],
  blocked: [
    "이 채널로는 더 보낼 수 없습니다. 다른 연락 수단으로 후속 조치하세요.",
    "This channel cannot reach them any more. Close as follow-up and contact them another way.",
  ],
  invalid_recipient: [
    "이 채널로는 보낼 수 없습니다. 다른 연락 수단으로 후속 조치하세요.",
    "This channel cannot reach them. Close as follow-up and contact them another way.",
  ],
};
export function deliveryFailureLabel(reason) {
  return DELIVERY_FAILURES[reason] || ["전달되지 않았습니다", "Not delivered"];
}
/** What the agent can do about a failure that sending again cannot fix, if anything. */
export function deliveryAdvice(reason) {
  return DELIVERY_ADVICE[reason] || null;
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

/** Fill a canned response's {name} and {agent_name}; unknown names stay visible. */
export function fillPlaceholders(text, values) {
  return String(text).replace(/\{(\w+)\}/g, (match, name) => values[name] ?? match)
    .replace(/\{\{/g, "{").replace(/\}\}/g, "}");
}
