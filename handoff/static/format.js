// Formatting of times and the service's codes (reasons, languages, channels).

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

/** "14:05" (today) or "11/21 14:05" (another day), in the browser's time zone. */
export function clock(value) {
  const date = toDate(value);
  if (!date) return "";
  const time = date.toLocaleTimeString("ko-KR", {hour: "2-digit", minute: "2-digit", hour12: false});
  const today = new Date();
  if (date.toDateString() === today.toDateString()) return time;
  return `${date.getMonth() + 1}/${date.getDate()} ${time}`;
}

/** Full local date and time, for tooltips. */
export function fullTime(value) {
  const date = toDate(value);
  if (!date) return "";
  const p = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())} ` +
    `${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
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

// The customer's channel (the handoff's `channel`), and Rasa's input channels that
// the bot's context may still name.
const CHANNELS = {
  web: ["웹 채팅", "Web chat"],
  telegram: ["텔레그램", "Telegram"],
  whatsapp: ["왓츠앱", "WhatsApp"],
  sms: ["문자", "SMS"],
  kakao: ["카카오톡", "KakaoTalk"],
  socketio: ["웹 채팅", "Web chat"],
  twilio: ["Twilio", "Twilio"],
  rest: ["REST", "REST"],
};
export function channelLabel(code) {
  const known = CHANNELS[code];
  if (!known) return code || "–";
  return known[0] === known[1] ? known[0] : `${known[0]} / ${known[1]}`;
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
