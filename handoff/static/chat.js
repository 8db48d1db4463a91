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

import {api} from "./api.js";
import {autoGrow, h, nearBottom, submitOnEnter} from "./dom.js";
import {clock} from "./format.js";

const MAX_LENGTH = 2000;
const SESSION_KEY = "tandem.chat.session_id";
const HISTORY_KEY = "tandem.chat.history";
const HISTORY_LIMIT = 200;
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
};

let socket = null;
forgetLegacyStorage();
let sessionId = ISSUED_ID.test(load(SESSION_KEY) ?? "") ? load(SESSION_KEY) : null;
let freshlyIssued = false; // sessionId came from the service and is not confirmed yet
let ready = false; // connected and session confirmed on the current connection
let everConnected = false;
const outbox = []; // messages typed while not ready: {text, row}
let history = [];
// Who answers: {mode: "bot"|"waiting"|"agent", agent: name|null}, and in which language.
let handoff = {mode: "bot", agent: null};
let language = browserLanguage();

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

/**
 * Render one message. item: {role: "user"|"bot", text, ts, chips?, image?,
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
  if (item.text) bubble.append(item.text);
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
  const meta = row.querySelector(".chat-meta");
  if (meta) meta.textContent = clock(Date.now() / 1000);
}

// ---------------------------------------------------------------- sending

/** Send `text` to the bot, showing `display` (a button's title) as the customer's message. */
function send(text, display = text) {
  const message = String(text ?? "").trim();
  if (!message || message.length > MAX_LENGTH) return false;
  const item = {role: "user", text: String(display ?? message).trim() || message, ts: Date.now() / 1000};
  noteLanguage(item.text);
  const row = renderMessage(item, {pending: !ready});
  disableChips();
  history.push(item);
  saveHistory();
  if (ready) socket.emit("user_uttered", {message, session_id: sessionId});
  else outbox.push({text: message, row});
  return true;
}

function flushOutbox() {
  while (ready && outbox.length) {
    const {text, row} = outbox.shift();
    socket.emit("user_uttered", {message: text, session_id: sessionId});
    markSent(row);
  }
}

function onBotUttered(data) {
  const message = typeof data === "string" ? {text: data} : data || {};
  const chips = (message.quick_replies || message.buttons || [])
    .filter((b) => b && (b.title || b.payload))
    .map((b) => ({title: String(b.title ?? b.payload), payload: String(b.payload ?? b.title)}));
  const attachment = message.attachment;
  const image = typeof message.image === "string" ? message.image
    : attachment?.type === "image" && typeof attachment.payload?.src === "string" ? attachment.payload.src
      : null;
  const text = typeof message.text === "string" ? message.text : "";
  const sender = senderOf(message);
  followHandoff(sender, message.handoff);
  if (!text && !chips.length && !image) {
    saveHistory();
    return;
  }

  const item = {role: "bot", text, ts: Date.now() / 1000};
  if (chips.length) item.chips = chips;
  if (image && /^(https?:|\/)/.test(image)) item.image = image;
  if (sender.kind !== "bot") item.sender = sender.kind;
  if (sender.kind === "agent") {
    item.name = sender.name;
    item.lang = language;
  }
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
