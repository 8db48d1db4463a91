// Customer web chat: talks to Rasa's socket.io channel (session_persistence: true).
// The session id is the customer's whole credential: whoever presents it continues
// the conversation. So it comes from the service (POST /api/chat/sessions, signed;
// the bot refuses any other), and lives in sessionStorage: a reload in the same tab
// continues the conversation, closing the tab or "New conversation" ends it. The
// visible history is kept beside it, because Rasa does not replay it.
//
// Every bot_uttered payload says who speaks (sender: {kind: "bot"|"agent"|"notice",
// name}) and, when it says so, where the customer stands with people (handoff:
// {status: "queued"|"assigned", agent}): agents' bubbles carry their name, and the
// header shows whether the assistant, nobody yet, or which agent is answering.
//
// Photos and PDFs: the customer's file goes to the service first (POST
// /api/chat/attachments with the session id in X-Tandem-Chat-Session), then to the
// bot as the message /share_attachment{"attachment_kind":…} whose metadata carries
// the service's description (tandem_attachment). An agent's file arrives the same
// way on a bot_uttered payload. Photos show in the chat, PDFs as a link, both from
// the service's own /files/ address.
//
// Each message the customer sends has an id of its own and stays "sending" until the
// bot acknowledges it ({ok: true}); one without an acknowledgement (the connection
// dropped, the assistant having trouble) is sent again, marked so, and the bot
// handles it once (bot/web_chat_turns.py). An agent's reply is confirmed back to the
// bot, and shown once by its message_id even when it arrives again.

import {api} from "./api.js";
import {autoGrow, h, nearBottom, submitOnEnter} from "./dom.js";
import {clock} from "./format.js";

const MAX_LENGTH = 2000;
const SESSION_KEY = "tandem.chat.session_id";
const HISTORY_KEY = "tandem.chat.history";
const HISTORY_LIMIT = 200;
// What the service keeps (its TANDEM_ATTACHMENT_MAX_BYTES may say otherwise, through
// /api/public-config); checked here only to spare the customer a useless upload.
const DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024;
const FILE_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"];
const SESSION_HEADER = "X-Tandem-Chat-Session";
// A refusal without the service's code (a proxy's, say), by its status.
const STATUS_ERRORS = {
  413: "attachment_too_large",
  415: "attachment_type_not_allowed",
  429: "attachment_rate_limited",
};
const FILE_ERRORS = {
  attachment_too_large: (limit) =>
    `파일이 너무 큽니다(최대 ${limit}) / The file is too large (${limit} at most)`,
  attachment_type_not_allowed: () =>
    "사진(JPEG, PNG, GIF, WebP)과 PDF만 보낼 수 있습니다 / Only photos (JPEG, PNG, GIF, WebP) and PDF files can be sent",
  attachment_empty: () => "빈 파일입니다 / The file is empty",
  attachment_rate_limited: () =>
    "잠시 후 다시 보내 주세요 / Too many files: please try again in a few minutes",
  not_connected: () => "연결된 뒤에 보내 주세요 / Please wait until the chat is connected",
  failed: () => "파일을 보내지 못했습니다. 다시 시도해 주세요 / The file could not be sent: please try again",
};
// How long a message waits for its acknowledgement, and how long after a failed one
// it is sent again.
const ACK_TIMEOUT_MS = 30000;
const RESEND_DELAY_MS = 3000;
// Refusals of a message the bot will never take: it is marked "not sent", not sent again.
const REFUSED_FOR_GOOD = new Set(["invalid_message", "empty_message", "message_too_long", "metadata_too_large"]);
// Issued ids are "<random>.<signature>"; one without a dot was made up by an older page.
const ISSUED_ID = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

// Labels in the customer's language: the one of their last message with letters.
const MODE_TEXT = {
  bot: {ko: () => "챗봇 상담 중", en: () => "Chatting with our assistant"},
  waiting: {ko: () => "상담원 연결을 기다리는 중", en: () => "Waiting for an agent"},
  agent: {
    ko: (name) => (name ? `상담원 ${name}님과 상담 중` : "상담원과 상담 중"),
    en: (name) => (name ? `Chatting with ${name} (agent)` : "Chatting with an agent"),
  },
};
const AGENT_LABEL = {ko: (name) => `상담원 ${name}`, en: (name) => `Agent ${name}`};
const UNNAMED_AGENT = {ko: "상담원", en: "Agent"};
const HANGUL = /[\u3131-\u318e\uac00-\ud7a3]/;
const LATIN = /[A-Za-z]/;

const STATUS_TEXT = {
  connecting: "연결 중… / Connecting…",
  connected: "연결됨 / Connected",
  reconnecting: "다시 연결 중… / Reconnecting…",
  error: "연결할 수 없습니다 / Cannot connect",
};

const els = {
  mode: document.getElementById("chat-mode"),
  dialog: document.getElementById("chat-new-dialog"),
  dialogWaiting: document.getElementById("chat-new-waiting"),
  dialogAgent: document.getElementById("chat-new-agent"),
  status: document.getElementById("chat-status"),
  retry: document.getElementById("chat-retry"),
  newConversation: document.getElementById("chat-new"),
  scroll: document.getElementById("chat-scroll"),
  empty: document.getElementById("chat-empty"),
  messages: document.getElementById("chat-messages"),
  form: document.getElementById("chat-form"),
  input: document.getElementById("chat-input"),
  send: document.getElementById("chat-send"),
  counter: document.getElementById("chat-counter"),
  attach: document.getElementById("chat-attach"),
  file: document.getElementById("chat-file"),
  fileError: document.getElementById("chat-file-error"),
};

let socket = null;
forgetLegacyStorage();
let sessionId = ISSUED_ID.test(load(SESSION_KEY) ?? "") ? load(SESSION_KEY) : null;
let freshlyIssued = false; // sessionId came from the service and is not confirmed yet
let ready = false; // connected and session confirmed on the current connection
let everConnected = false;
// Messages not acknowledged yet, oldest first:
// {text, id, row, attempts, inFlight, metadata?}.
const outbox = [];
let maxFileBytes = DEFAULT_MAX_FILE_BYTES;
let history = [];
// Who answers: {mode: "bot"|"waiting"|"agent", agent: name|null}, and in which language.
let handoff = {mode: "bot", agent: null};
let language = browserLanguage();
// The agents' replies shown, by message_id: one that arrives again is not shown twice.
const shownReplies = new Set();

// ---------------------------------------------------------------- storage

function load(key) {
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

function store(key, value) {
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, value);
  } catch {
    /* private mode or quota: the chat still works, it just won't survive a reload */
  }
}

/** Earlier pages kept a self-made id in localStorage for good; drop it and its history. */
function forgetLegacyStorage() {
  try {
    localStorage.removeItem(SESSION_KEY);
    localStorage.removeItem(HISTORY_KEY);
  } catch {
    /* storage unavailable: there is nothing to forget */
  }
}

function saveHistory() {
  if (!sessionId) return;
  history = history.slice(-HISTORY_LIMIT);
  store(HISTORY_KEY, JSON.stringify({session_id: sessionId, items: history, handoff, language}));
}

function restoreHistory() {
  if (!sessionId) return;
  let saved = null;
  try {
    saved = JSON.parse(load(HISTORY_KEY) || "null");
  } catch {
    saved = null;
  }
  if (!saved || saved.session_id !== sessionId || !Array.isArray(saved.items)) return;
  history = saved.items;
  for (const item of history) if (item.message_id !== undefined) shownReplies.add(item.message_id);
  if (saved.language === "ko" || saved.language === "en") language = saved.language;
  if (MODE_TEXT[saved.handoff?.mode]) {
    handoff = {mode: saved.handoff.mode, agent: cleanName(saved.handoff.agent)};
  }
  renderMode();
  for (const item of history) renderMessage(item);
  disableChips(lastRow()); // only the newest message's chips stay usable
  scrollToBottom();
}

// ---------------------------------------------------------------- who answers

function browserLanguage() {
  const preferred = navigator.languages?.[0] || navigator.language || "ko";
  return preferred.toLowerCase().startsWith("en") ? "en" : "ko";
}

/** The customer writes in Korean or English: any Hangul makes it Korean, as for the bot. */
function noteLanguage(text) {
  const spoken = HANGUL.test(text) ? "ko" : LATIN.test(text) ? "en" : null;
  if (spoken && spoken !== language) {
    language = spoken;
    renderMode();
  }
}

function cleanName(name) {
  return typeof name === "string" && name.trim() ? name.trim().slice(0, 128) : null;
}

function renderMode() {
  const {mode, agent} = handoff;
  els.mode.dataset.mode = mode;
  els.mode.lang = language;
  if (agent) els.mode.dataset.agent = agent;
  else delete els.mode.dataset.agent;
  els.mode.textContent = MODE_TEXT[mode][language](agent);
}

function setMode(mode, agent = null) {
  handoff = {mode, agent: mode === "agent" ? cleanName(agent) : null};
  renderMode();
}

/** Follow the conversation: an agent's reply or a notice moves the header along;
 *  a message of the bot's own means the bot is answering again. */
function followHandoff(sender, state) {
  if (state?.status === "queued") setMode("waiting");
  else if (state?.status === "assigned") setMode("agent", state.agent || sender.name || handoff.agent);
  else if (sender.kind === "agent") setMode("agent", sender.name || handoff.agent);
  else if (sender.kind === "bot") setMode("bot");
}

/** Who says a bot_uttered payload; payloads without it are the bot's. */
function senderOf(message) {
  const sender = message.sender;
  if (sender && ["bot", "agent", "notice"].includes(sender.kind)) {
    return {kind: sender.kind, name: cleanName(sender.name)};
  }
  return {kind: "bot", name: null};
}

// ---------------------------------------------------------------- status

function setStatus(state, detail = "") {
  els.status.dataset.state = state;
  els.status.textContent = detail ? `${STATUS_TEXT[state]} — ${detail}` : STATUS_TEXT[state];
  els.retry.hidden = state !== "error";
}

// ---------------------------------------------------------------- rendering

function lastRow() {
  return els.messages.lastElementChild;
}

function scrollToBottom() {
  els.scroll.scrollTop = els.scroll.scrollHeight;
}

function updateEmpty() {
  els.empty.hidden = els.messages.childElementCount > 0;
}

/** Disable every chip group except the one in `keep`. */
function disableChips(keep = null) {
  for (const group of els.messages.querySelectorAll(".chips")) {
    if (keep && keep.contains(group)) continue;
    for (const chip of group.querySelectorAll("button")) chip.disabled = true;
  }
}

/** Who a stored message is from: "user", "bot", "agent" or "notice". */
function speakerOf(item) {
  if (item.role === "user") return "user";
  if (item.sender === "agent" || item.agent) return "agent";
  return item.sender === "notice" ? "notice" : "bot";
}

function agentLabel(item) {
  const name = cleanName(item.name) || cleanName(typeof item.agent === "string" ? item.agent : null);
  const lang = item.lang === "en" ? "en" : "ko";
  return h("div", {class: "chat-sender", "data-testid": "chat-sender", lang},
    name ? AGENT_LABEL[lang](name) : UNNAMED_AGENT[lang]);
}

/** A file the service described, as the page keeps it; null when it is not one. */
function fileOf(value) {
  if (!value || typeof value !== "object") return null;
  const {id, media_type: mediaType, filename, size_bytes: size, url} = value;
  if (typeof id !== "string" || !FILE_TYPES.includes(mediaType)) return null;
  if (typeof url !== "string" || !fileAddress(url)) return null;
  return {
    id,
    media_type: mediaType,
    filename: typeof filename === "string" && filename ? filename : "file",
    size_bytes: Number.isInteger(size) && size >= 0 ? size : 0,
    url,
  };
}

/** Where the page loads a file from: the service's own /files/ address (the
 *  page is the service's, and its policy loads images from itself only). */
function fileAddress(url) {
  let parsed;
  try {
    parsed = new URL(url, window.location.href);
  } catch {
    return null;
  }
  if (!["http:", "https:"].includes(parsed.protocol)) return null;
  if (!/^\/files\/[^/]+$/.test(parsed.pathname)) return null;
  return parsed.pathname + parsed.search;
}

function sizeLabel(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

function renderFile(file) {
  const address = fileAddress(file.url);
  if (file.media_type.startsWith("image/")) {
    return h("a", {
      class: "chat-file-image",
      href: address,
      target: "_blank",
      rel: "noopener noreferrer",
      "data-testid": "chat-attachment",
      "data-kind": "image",
    }, h("img", {src: address, alt: file.filename}));
  }
  return h("a", {
    class: "chat-file-link",
    href: address,
    target: "_blank",
    rel: "noopener noreferrer",
    "data-testid": "chat-attachment",
    "data-kind": "document",
  }, file.filename, " ", h("span", {class: "chat-file-size"}, `(${sizeLabel(file.size_bytes)})`));
}

/**
 * Render one message. item: {role: "user"|"bot", text, ts, chips?, image?, file?,
 * sender?: "agent"|"notice", name?, lang?}. Text always goes in as text (never HTML).
 */
function renderMessage(item, {pending = false} = {}) {
  const stick = item.role === "user" || nearBottom(els.scroll);
  const speaker = speakerOf(item);
  const bubble = h("div", {
    class: "chat-bubble",
    "data-testid": "chat-message",
    "data-role": item.role,
    "data-sender": speaker,
  });
  const file = fileOf(item.file);
  if (file) bubble.append(renderFile(file));
  // An agent's file without words comes with its name as the text: shown once.
  if (item.text && !(file && item.text === file.filename)) bubble.append(item.text);
  if (item.image) {
    bubble.append(h("img", {src: item.image, alt: item.text ? "" : "이미지 / Image"}));
  }

  const row = h("div", {
    class: "chat-row",
    dataset: {role: item.role, sender: speaker},
  },
  speaker === "agent" ? agentLabel(item) : null,
  bubble,
  item.chips?.length ? renderChips(item.chips) : null,
  h("div", {class: "chat-meta"}, pending ? "보내는 중… / Sending…" : clock(item.ts)));
  if (pending) row.dataset.pending = "";

  els.messages.append(row);
  updateEmpty();
  if (stick) scrollToBottom();
  return row;
}

function renderChips(chips) {
  return h("div", {class: "chips", role: "group", "aria-label": "빠른 답변 / Quick replies"},
    chips.map((chip) => h("button", {
      type: "button",
      class: "chip",
      "data-testid": "chat-chip",
      onclick: (event) => {
        if (send(chip.payload || chip.title, chip.title)) {
          event.currentTarget.setAttribute("aria-pressed", "true");
        }
      },
    }, chip.title)));
}

function markSent(row) {
  delete row.dataset.pending;
  delete row.dataset.refused;
  const meta = row.querySelector(".chat-meta");
  if (meta) {
    meta.textContent = clock(Date.now() / 1000);
    meta.removeAttribute("role");
  }
}

/** The bot's channel did not take this message (too fast, or no message at all): say
 * so under it, with what the bot answered. */
function noteRefusal(row, answer) {
  row.dataset.refused = answer?.error || "refused";
  const meta = row.querySelector(".chat-meta");
  if (meta) {
    const lead = answer?.error === "rate_limited" ? "잠시 기다리는 중 / Waiting" : "보내지 못했어요 / Not sent";
    meta.textContent = `${lead} — ${answer?.message || ""}`.trim();
    meta.setAttribute("role", "alert");
  }
}

// ---------------------------------------------------------------- sending

/** Send `text` to the bot, showing `display` (a button's title) as the customer's message. */
function send(text, display = text) {
  const message = String(text ?? "").trim();
  if (!message || message.length > MAX_LENGTH) return false;
  const item = {role: "user", text: String(display ?? message).trim() || message, ts: Date.now() / 1000};
  noteLanguage(item.text);
  const row = renderMessage(item, {pending: true});
  disableChips();
  history.push(item);
  saveHistory();
  outbox.push({text: message, id: messageId(), row, attempts: 0, inFlight: false});
  flushOutbox();
  return true;
}

function messageId() {
  if (window.crypto?.randomUUID) return window.crypto.randomUUID();
  return `m${Date.now().toString(36)}${Math.random().toString(36).slice(2, 12)}`;
}

/** Sends the oldest unacknowledged message, one at a time so that they keep their order. */
function flushOutbox() {
  const entry = outbox[0];
  if (!ready || !entry || entry.inFlight) return;
  entry.inFlight = true;
  const payload = {message: entry.text, session_id: sessionId, message_id: entry.id};
  if (entry.metadata) payload.metadata = entry.metadata;
  if (entry.attempts > 0) payload.resent = true;
  entry.attempts += 1;
  socket.timeout(ACK_TIMEOUT_MS).emit("user_uttered", payload, (err, answer) => {
    entry.inFlight = false;
    if (outbox[0] !== entry) return; // a new conversation dropped it meanwhile
    if (!err && answer?.ok) {
      outbox.shift();
      markSent(entry.row);
      flushOutbox();
    } else if (!err && answer?.error === "rate_limited") {
      // Over the customer's rate: it goes by itself once the bot takes it again.
      noteRefusal(entry.row, answer);
      setTimeout(flushOutbox, Math.max(1, Number(answer.retry_after) || 1) * 1000);
    } else if (!err && REFUSED_FOR_GOOD.has(answer?.error)) {
      // What the bot will never take (only a changed page sends it): not sent.
      outbox.shift();
      noteRefusal(entry.row, answer);
      flushOutbox();
    } else {
      // Not acknowledged: sent again shortly, or once the connection is back.
      setTimeout(flushOutbox, RESEND_DELAY_MS);
    }
  });
}

// ---------------------------------------------------------------- files

function showFileError(kind) {
  const words = FILE_ERRORS[kind] || FILE_ERRORS.failed;
  els.fileError.textContent = words(sizeLabel(maxFileBytes));
  els.fileError.dataset.error = kind;
  els.fileError.hidden = false;
}

function clearFileError() {
  els.fileError.hidden = true;
  els.fileError.textContent = "";
  delete els.fileError.dataset.error;
}

/** What the page can tell before uploading: the service decides the rest. */
function fileProblem(file) {
  if (!sessionId) return "not_connected";
  if (!file.size) return "attachment_empty";
  if (file.type && !FILE_TYPES.includes(file.type)) return "attachment_type_not_allowed";
  if (file.size > maxFileBytes) return "attachment_too_large";
  return null;
}

/** Stores the file with the service; its description, or throws the error code. */
async function upload(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  let response;
  try {
    response = await fetch("/api/chat/attachments", {
      method: "POST",
      headers: {[SESSION_HEADER]: sessionId, Accept: "application/json"},
      body: form,
      cache: "no-store",
    });
  } catch {
    throw new Error("failed");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const code = typeof data?.error === "string" && Object.hasOwn(FILE_ERRORS, data.error)
      ? data.error : STATUS_ERRORS[response.status];
    throw new Error(code || "failed");
  }
  const stored = fileOf(data);
  if (!stored) throw new Error("failed");
  return stored;
}

/** Send a photo or a PDF: upload it, show it, and tell the bot it was shared. */
async function sendFile(file) {
  clearFileError();
  const problem = fileProblem(file);
  if (problem) {
    showFileError(problem);
    return;
  }
  const placeholder = renderMessage(
    {role: "user", text: file.name, ts: Date.now() / 1000}, {pending: true});
  els.attach.disabled = true;
  let stored;
  try {
    stored = await upload(file);
  } catch (err) {
    placeholder.remove();
    updateEmpty();
    showFileError(err.message);
    return;
  } finally {
    els.attach.disabled = false;
  }
  const item = {role: "user", text: "", file: stored, ts: Date.now() / 1000};
  const row = renderMessage(item, {pending: true});
  placeholder.remove();
  disableChips();
  history.push(item);
  saveHistory();
  const kind = stored.media_type.startsWith("image/") ? "image" : "document";
  const text = `/share_attachment{"attachment_kind":"${kind}"}`;
  const metadata = {tandem_attachment: stored};
  outbox.push({text, id: messageId(), row, attempts: 0, inFlight: false, metadata});
  flushOutbox();
}

function onBotUttered(data, confirm) {
  const message = typeof data === "string" ? {text: data} : data || {};
  // The bot waits for the page to confirm an agent's reply.
  if (typeof confirm === "function") confirm({ok: true});
  const replyId = Number.isInteger(message.message_id) ? message.message_id : undefined;
  if (replyId !== undefined) {
    if (shownReplies.has(replyId)) return;
    shownReplies.add(replyId);
  }
  const chips = (message.quick_replies || message.buttons || [])
    .filter((b) => b && (b.title || b.payload))
    .map((b) => ({title: String(b.title ?? b.payload), payload: String(b.payload ?? b.title)}));
  const attachment = message.attachment;
  const image = typeof message.image === "string" ? message.image
    : attachment?.type === "image" && typeof attachment.payload?.src === "string" ? attachment.payload.src
      : null;
  const text = typeof message.text === "string" ? message.text : "";
  const file = fileOf(message.tandem_attachment);
  const sender = senderOf(message);
  followHandoff(sender, message.handoff);
  if (!text && !chips.length && !image && !file) {
    saveHistory();
    return;
  }

  const item = {role: "bot", text, ts: Date.now() / 1000};
  if (file) item.file = file;
  if (chips.length) item.chips = chips;
  if (image && /^(https?:|\/)/.test(image)) item.image = image;
  if (sender.kind !== "bot") item.sender = sender.kind;
  if (sender.kind === "agent") {
    item.name = sender.name;
    item.lang = language;
  }
  if (replyId !== undefined) item.message_id = replyId;
  renderMessage(item);
  history.push(item);
  saveHistory();
}

// ---------------------------------------------------------------- connection

/** Start the conversation on the current connection, with a fresh id if there is none. */
async function requestSession() {
  if (!sessionId) {
    try {
      sessionId = (await api("/api/chat/sessions", {method: "POST"})).session_id;
      freshlyIssued = true;
    } catch (err) {
      setStatus("error", `대화를 시작하지 못했습니다 / Could not start a conversation: ${err.message}`);
      return;
    }
  }
  socket.emit("session_request", {session_id: sessionId});
}

/** The bot refused the id (made up, or signed with another secret): start afresh. */
function onSessionRefused(data) {
  ready = false;
  if (freshlyIssued) {
    // Even a new id is refused: the service and the bot do not share the secret.
    setStatus("error", data?.message || "대화를 시작하지 못했습니다 / Could not start a conversation");
    return;
  }
  forgetSession();
  requestSession();
}

function forgetSession() {
  sessionId = null;
  history = [];
  shownReplies.clear();
  setMode("bot");
  store(SESSION_KEY, null);
  store(HISTORY_KEY, null);
  els.messages.replaceChildren(...outbox.map((o) => o.row));
  updateEmpty();
}

function sessionFrom(data) {
  if (typeof data === "string") return data;
  if (data && typeof data === "object") return data.session_id || data.sessionId || null;
  return null;
}

async function connect() {
  setStatus("connecting");
  let config;
  try {
    config = await api("/api/public-config");
  } catch (err) {
    setStatus("error", `설정을 불러오지 못했습니다 / Could not load settings: ${err.message}`);
    return;
  }
  if (Number.isInteger(config?.attachment_max_bytes) && config.attachment_max_bytes > 0) {
    maxFileBytes = config.attachment_max_bytes;
  }
  if (!config?.rasa_socket_url) {
    setStatus("error", "채팅 서버 주소가 없습니다 / No chat server address configured");
    return;
  }
  if (typeof window.io !== "function") {
    setStatus("error", "채팅 라이브러리를 불러오지 못했습니다 / The chat library did not load");
    return;
  }

  socket = window.io(config.rasa_socket_url, {
    path: "/socket.io/",
    transports: ["websocket", "polling"],
  });

  socket.on("connect", () => {
    ready = false;
    requestSession();
  });

  socket.on("session_refused", onSessionRefused);

  socket.on("session_confirm", (data) => {
    const confirmed = sessionFrom(data) || sessionId;
    if (!confirmed) return;
    if (sessionId && confirmed !== sessionId) {
      // The server started another conversation: the saved history is not its.
      history = [];
      setMode("bot");
      els.messages.replaceChildren(...outbox.map((o) => o.row));
      updateEmpty();
    }
    sessionId = confirmed;
    freshlyIssued = false;
    store(SESSION_KEY, sessionId);
    saveHistory();
    ready = true;
    everConnected = true;
    setStatus("connected");
    flushOutbox();
  });

  socket.on("bot_uttered", onBotUttered);

  socket.on("disconnect", (reason) => {
    ready = false;
    if (reason === "io client disconnect") return; // we did it (new conversation)
    setStatus("reconnecting");
    if (reason === "io server disconnect") socket.connect(); // the server will not retry for us
  });

  socket.on("connect_error", () => {
    ready = false;
    setStatus(everConnected ? "reconnecting" : "connecting",
      everConnected ? "" : "채팅 서버에 연결할 수 없어 다시 시도합니다 / Chat server unreachable, retrying");
  });

  socket.io.on("reconnect_attempt", () => setStatus("reconnecting"));
  socket.io.on("reconnect_failed", () => setStatus("error", "다시 연결하지 못했습니다 / Could not reconnect"));
}

/** "New conversation" asks first: the whole conversation goes with one tap. */
function askNewConversation() {
  els.dialogWaiting.hidden = handoff.mode !== "waiting";
  els.dialogAgent.hidden = handoff.mode !== "agent";
  els.dialog.returnValue = "";
  els.dialog.showModal();
}

function onDialogClose() {
  if (els.dialog.returnValue === "confirm") newConversation();
  else els.newConversation.focus();
}

function newConversation() {
  outbox.length = 0;
  forgetSession();
  if (socket) {
    ready = false;
    setStatus("connecting");
    socket.disconnect();
    socket.connect(); // the connect handler asks for a fresh session
  } else {
    connect();
  }
  els.input.focus();
}

// ---------------------------------------------------------------- composer

function updateComposer() {
  const length = els.input.value.length;
  els.send.disabled = !els.input.value.trim();
  if (length >= MAX_LENGTH) {
    els.counter.dataset.level = "full";
    els.counter.textContent = `${length} / ${MAX_LENGTH} — 최대 2,000자 / 2,000 characters max`;
  } else {
    els.counter.dataset.level = length >= MAX_LENGTH * 0.9 ? "near" : "";
    els.counter.textContent = `${length} / ${MAX_LENGTH}`;
  }
  autoGrow(els.input);
}

function submit() {
  if (send(els.input.value)) {
    els.input.value = "";
    updateComposer();
  }
  els.input.focus();
}

submitOnEnter(els.form, els.input, submit);

els.input.addEventListener("input", updateComposer);
els.attach.addEventListener("click", () => els.file.click());
els.file.addEventListener("change", () => {
  const [file] = els.file.files;
  els.file.value = ""; // the same file may be chosen again
  if (file) sendFile(file);
});
els.newConversation.addEventListener("click", askNewConversation);
els.dialog.addEventListener("close", onDialogClose);
els.retry.addEventListener("click", () => {
  if (socket) socket.connect();
  else connect();
});

renderMode();
restoreHistory();
updateEmpty();
updateComposer();
connect();
