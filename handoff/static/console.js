// Agent console: sign-in, status, the live queue and offline worklist, one open
// conversation, replies and internal notes, canned responses, claim, transfer and close.
// Talks to the handoff service per docs/api.md; rendering lives in console-view.js.

import {api, ApiError} from "./api.js";
import {autoGrow, h, isSubmitEnter, nearBottom} from "./dom.js";
import {SKILL_CODES, fillPlaceholders, skillLabel, toDate} from "./format.js";
import {openLive} from "./live.js";
import {
  isMine, isMineOffline, renderContext, renderContextPlaceholder, renderDivider, renderMessages,
  renderQueue, renderTitle, renderTranscript, sameId, tickTimes,
} from "./console-view.js";

const AUTH_KEY = "tandem.console.auth";
const MAX_LENGTH = 2000;
const OPEN_STATUSES = new Set(["queued", "assigned"]);
const BASE_TITLE = document.title;
const SESSION_EXPIRED = "세션이 만료되었습니다. 다시 로그인하세요. / Your session has expired, please sign in again.";
const ALREADY_TAKEN = "이미 다른 상담원이 맡은 상담입니다 / already taken by another agent";
const CLOSE_CONFIRM = "이 상담을 종료할까요? 고객은 다시 봇과 대화하게 됩니다.\n" +
  "Close this conversation? The customer goes back to the bot.";

const $ = (id) => document.getElementById(id);
const els = {
  loginView: $("login-view"), loginForm: $("login-form"), username: $("login-username"),
  password: $("login-password"), loginError: $("login-error"), loginSubmit: $("login-submit"),
  appView: $("app-view"), liveStatus: $("live-status"), agentName: $("agent-name"), logout: $("logout"),
  queue: $("queue"), queueCount: $("queue-count"), queueError: $("queue-error"), queueRefresh: $("queue-refresh"),
  convEmpty: $("conv-empty"), convBody: $("conv-body"), convBack: $("conv-back"), convTitle: $("conv-title"),
  convClaim: $("conv-claim"), contextToggle: $("context-toggle"), closeButton: $("close-button"),
  convNotice: $("conv-notice"), thread: $("thread"), transcript: $("transcript"),
  divider: $("handoff-divider"), messages: $("messages"), replyForm: $("reply-form"),
  replyInput: $("reply-input"), replySend: $("reply-send"), replyError: $("reply-error"),
  replyCounter: $("reply-counter"), context: $("context-body"), contextClose: $("context-close"),
  toasts: $("toasts"), agentStatus: $("agent-status"), agentCapacity: $("agent-capacity"),
  tabQueue: $("tab-queue"), tabOffline: $("tab-offline"), offlineCount: $("offline-count"),
  transferButton: $("transfer-button"), resolutionSelect: $("resolution-select"),
  cannedPicker: $("canned-picker"), noteToggle: $("note-toggle"), transferDialog: $("transfer-dialog"),
  transferForm: $("transfer-form"), transferTarget: $("transfer-target"), transferNote: $("transfer-note"),
  transferError: $("transfer-error"), transferCancel: $("transfer-cancel"),
};

const state = {
  auth: null, // {token, expires_at, agent}
  handoffs: [], // open handoffs, as last listed
  unread: new Map(), // handoff id (string) -> count of customer messages not yet seen
  claiming: new Set(),
  open: null, // {id, handoff, context, messages: Map, loading, error}
  retried: new Set(), // failed message ids already resent
  retrying: new Set(),
  drafts: new Map(),
  sending: false,
  closing: false,
  live: null,
  liveState: "connecting",
  queueSeq: 0,
  openSeq: 0,
  refreshTimer: null,
  pollTimer: null,
  tickTimer: null,
  tab: "queue", // "queue" or "offline"
  offline: [], // the offline worklist, as last listed
  profile: null, // my status, capacity and load
  agents: [],
  canned: [],
};

const me = () => state.auth?.agent;
const isSupervisor = () => me()?.role === "supervisor";
/** May I reply to, note, transfer or close this handoff? */
const canWork = (handoff) => isMine(handoff, me()) || (isSupervisor() && handoff?.status === "assigned");
const canClose = (handoff) => canWork(handoff) || isMineOffline(handoff, me()) ||
  (isSupervisor() && handoff?.status === "offline" && handoff.assigned_agent_id);

// ------------------------------------------------------------------ auth

function loadAuth() {
  try {
    const auth = JSON.parse(sessionStorage.getItem(AUTH_KEY) || "null");
    if (!auth?.token || !auth.agent) return null;
    const expires = toDate(auth.expires_at);
    if (expires && expires.getTime() <= Date.now()) return null;
    return auth;
  } catch {
    return null;
  }
}

function saveAuth(auth) {
  try {
    sessionStorage.setItem(AUTH_KEY, JSON.stringify(auth));
  } catch {
    /* still works for this page view */
  }
}

function clearAuth() {
  try {
    sessionStorage.removeItem(AUTH_KEY);
  } catch {
    /* nothing stored */
  }
}

/** Call the service with the agent's token; a 401 signs the agent out. */
async function call(path, options = {}) {
  const auth = state.auth;
  if (!auth) throw new ApiError(401, "unauthorized", SESSION_EXPIRED);
  try {
    return await api(path, {...options, token: auth.token});
  } catch (err) {
    if (err instanceof ApiError && err.status === 401 && state.auth === auth) logout(SESSION_EXPIRED);
    throw err;
  }
}

function showLoginError(message) {
  els.loginError.textContent = message || "";
}

async function login(event) {
  event.preventDefault();
  const username = els.username.value.trim();
  const password = els.password.value;
  if (!username || !password) {
    showLoginError("아이디와 비밀번호를 입력하세요 / Enter your username and password");
    (username ? els.password : els.username).focus();
    return;
  }
  showLoginError("");
  els.loginSubmit.disabled = true;
  try {
    const data = await api("/api/auth/login", {method: "POST", body: {username, password}});
    if (!data?.token || !data.agent) {
      throw new ApiError(0, "bad_response", "로그인 응답이 올바르지 않습니다 / Unexpected login response");
    }
    state.auth = {token: data.token, expires_at: data.expires_at ?? null, agent: data.agent};
    saveAuth(state.auth);
    els.password.value = "";
    startApp();
  } catch (err) {
    showLoginError(err.message);
    els.password.select();
  } finally {
    els.loginSubmit.disabled = false;
  }
}

function logout(message = "") {
  if (state.auth && !message) {
    // Revoke the token on the server too; the page signs out whatever the answer.
    api("/api/auth/logout", {method: "POST", token: state.auth.token}).catch(() => {});
  }
  state.live?.close();
  clearTimeout(state.refreshTimer);
  clearInterval(state.pollTimer);
  clearInterval(state.tickTimer);
  clearAuth();
  Object.assign(state, {
    auth: null, handoffs: [], open: null, live: null, sending: false, closing: false,
    refreshTimer: null, pollTimer: null, tickTimer: null,
  });
  state.queueSeq += 1;
  state.openSeq += 1;
  for (const collection of [state.unread, state.claiming, state.retried, state.retrying, state.drafts]) {
    collection.clear();
  }
  els.replyInput.value = "";
  els.queue.replaceChildren();
  els.toasts.replaceChildren();
  renderOpen();
  updateTitle();
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  els.appView.hidden = true;
  els.loginView.hidden = false;
  showLoginError(message);
  els.username.focus();
}

function startApp() {
  const agent = me();
  els.loginView.hidden = true;
  els.appView.hidden = false;
  els.agentName.textContent = agent.display_name || agent.username || "";
  els.agentName.title = `${agent.username ?? ""}${agent.role ? ` · ${agent.role}` : ""}`;
  state.live = openLive({
    token: state.auth.token,
    onEvent: onLiveEvent,
    onState: onLiveState,
    onUnauthorized: () => logout(SESSION_EXPIRED),
  });
  state.tickTimer = setInterval(() => tickTimes(els.queue), 30000);
  refreshQueue();
  loadProfile();
  loadTeamAndCanned();
  const id = idFromHash();
  if (id) select(id);
  else renderOpen();
}

// ------------------------------------------------------------------ my status, team, canned responses

async function loadProfile() {
  try {
    state.profile = await call("/api/agents/me");
    drawProfile();
  } catch (err) {
    if (state.auth) toast(err.message, "error");
  }
}

function drawProfile() {
  const profile = state.profile;
  if (!profile) return;
  els.agentStatus.value = profile.status;
  els.agentStatus.dataset.status = profile.status;
  els.agentCapacity.textContent = `${profile.load} / ${profile.capacity}`;
  els.agentCapacity.title = `진행 중 ${profile.load} · 최대 ${profile.capacity} / ` +
    `${profile.load} of ${profile.capacity} chats · ${(profile.skills || []).join(", ")}`;
}

async function changeStatus() {
  const status = els.agentStatus.value;
  try {
    state.profile = await call("/api/agents/me/status", {method: "PUT", body: {status}});
    drawProfile();
  } catch (err) {
    if (!state.auth) return;
    toast(err.message, "error");
    drawProfile();
  }
}

async function loadTeamAndCanned() {
  try {
    const [team, canned] = await Promise.all([call("/api/agents"), call("/api/canned-responses")]);
    state.agents = team?.agents || [];
    state.canned = canned?.canned_responses || [];
    renderOpen();
  } catch (err) {
    if (state.auth) toast(err.message, "error");
  }
}

// ------------------------------------------------------------------ toasts, title, hash

function toast(text, kind = "info", ms = 5000) {
  const node = h("div", {
    class: "toast", "data-kind": kind, "data-testid": "toast", role: kind === "error" ? "alert" : "status",
  }, text);
  els.toasts.append(node);
  while (els.toasts.childElementCount > 4) els.toasts.firstElementChild.remove();
  setTimeout(() => node.remove(), ms);
}

function updateTitle() {
  let total = 0;
  for (const count of state.unread.values()) total += count;
  document.title = total ? `(${total}) ${BASE_TITLE}` : BASE_TITLE;
}

function idFromHash() {
  const match = /^#handoff=([\w-]+)$/.exec(location.hash);
  return match ? match[1] : null;
}

// ------------------------------------------------------------------ live feed

const LIVE_TEXT = {
  connecting: "연결 중 / Connecting",
  connected: "실시간 / Live",
  reconnecting: "다시 연결 중 / Reconnecting",
};

function onLiveState(liveState, {reconnected} = {}) {
  state.liveState = liveState;
  els.liveStatus.dataset.state = liveState;
  els.liveStatus.textContent = LIVE_TEXT[liveState] || liveState;
  els.liveStatus.title = liveState === "connected"
    ? "실시간 업데이트 중 / Receiving live updates"
    : "실시간 연결이 끊겨 주기적으로 새로고침합니다 / Live feed down, refreshing periodically";
  if (liveState === "connected") {
    clearInterval(state.pollTimer);
    state.pollTimer = null;
    // Changes made before the feed was ready are not pushed: catch up on them.
    refreshQueue();
    if (reconnected && state.open) loadConversation(state.open.id);
  } else if (!state.pollTimer && state.auth) {
    state.pollTimer = setInterval(refreshQueue, 20000);
  }
}

function onLiveEvent(frame) {
  if (!state.auth) return;
  switch (frame.type) {
    case "handoff.created":
      if (frame.handoff) {
        upsertHandoff(frame.handoff);
        if (frame.handoff.status === "queued") toast(`새 상담 요청 / New handoff #${frame.handoff.id}`);
      }
      scheduleQueueRefresh();
      break;
    case "handoff.flagged":
      if (frame.handoff) {
        upsertHandoff(frame.handoff);
        toast(`답장이 늦어지고 있습니다 / Customer waiting for a reply: #${frame.handoff.id}`, "error", 8000);
      }
      break;
    case "handoff.updated":
      if (frame.handoff) {
        const before = state.handoffs.find((x) => sameId(x.id, frame.handoff.id));
        if (isMine(frame.handoff, me()) && !isMine(before, me()) && !state.claiming.has(String(frame.handoff.id))) {
          toast(`새 상담이 배정되었습니다 / Assigned to you: #${frame.handoff.id}`);
        }
        upsertHandoff(frame.handoff);
        if (state.open && sameId(state.open.id, frame.handoff.id)) {
          state.open.handoff = {...state.open.handoff, ...frame.handoff};
          renderOpen();
        }
      }
      scheduleQueueRefresh();
      scheduleProfileRefresh();
      break;
    case "message.created":
      onMessageCreated(frame.handoff_id ?? frame.message?.handoff_id, frame.message);
      break;
    default:
      break;
  }
}

function onMessageCreated(handoffId, message) {
  if (!message || handoffId === undefined || handoffId === null) return;
  if (state.open && sameId(state.open.id, handoffId)) {
    addMessages([message]);
    return;
  }
  if (message.role === "agent") return; // someone's reply elsewhere is not news to me
  const key = String(handoffId);
  state.unread.set(key, (state.unread.get(key) || 0) + 1);
  updateTitle();
  drawQueue();
}

// ------------------------------------------------------------------ queue

let profileTimer = null;
function scheduleProfileRefresh() {
  clearTimeout(profileTimer);
  profileTimer = setTimeout(loadProfile, 300);
}

function upsertHandoff(handoff) {
  if (!handoff || handoff.id === undefined) return;
  const offlineIndex = state.offline.findIndex((x) => sameId(x.id, handoff.id));
  if (handoff.status === "offline") {
    if (offlineIndex >= 0) state.offline[offlineIndex] = {...state.offline[offlineIndex], ...handoff};
    else state.offline.push(handoff);
  } else if (offlineIndex >= 0) {
    state.offline.splice(offlineIndex, 1);
  }
  const index = state.handoffs.findIndex((x) => sameId(x.id, handoff.id));
  if (OPEN_STATUSES.has(handoff.status)) {
    if (index >= 0) state.handoffs[index] = {...state.handoffs[index], ...handoff};
    else state.handoffs.push(handoff);
  } else if (index >= 0) {
    state.handoffs.splice(index, 1);
    state.unread.delete(String(handoff.id));
    updateTitle();
  }
  drawQueue();
}

function scheduleQueueRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refreshQueue, 250);
}

async function refreshQueue() {
  if (!state.auth) return;
  const seq = ++state.queueSeq;
  try {
    const [data, offline] = await Promise.all([
      call("/api/handoffs"), call("/api/handoffs?status=offline"),
    ]);
    if (seq !== state.queueSeq) return;
    state.handoffs = Array.isArray(data?.handoffs) ? data.handoffs : [];
    state.offline = Array.isArray(offline?.handoffs) ? offline.handoffs : [];
    els.queueError.textContent = "";
    const present = new Set(state.handoffs.map((x) => String(x.id)));
    for (const key of state.unread.keys()) if (!present.has(key)) state.unread.delete(key);
    updateTitle();
    drawQueue();
    const fresh = state.open && state.handoffs.find((x) => sameId(x.id, state.open.id));
    if (fresh && state.open.handoff) {
      state.open.handoff = {...state.open.handoff, ...fresh};
      renderOpen();
    }
  } catch (err) {
    if (!state.auth || seq !== state.queueSeq) return;
    els.queueError.textContent = `대기열을 불러오지 못했습니다 / Could not load the queue: ${err.message}`;
  }
}

/** Re-render the queue, keeping keyboard focus on the same item's button. */
function drawQueue() {
  if (!state.auth) return;
  const focused = els.queue.contains(document.activeElement) ? document.activeElement : null;
  const focusKey = focused && {
    id: focused.closest("[data-handoff-id]")?.dataset.handoffId,
    action: focused.dataset.action,
  };
  const offlineTab = state.tab === "offline";
  els.tabQueue.setAttribute("aria-selected", String(!offlineTab));
  els.tabOffline.setAttribute("aria-selected", String(offlineTab));
  els.offlineCount.textContent = String(state.offline.filter((x) => !x.assigned_agent_id).length);
  renderQueue(els.queue, {
    handoffs: offlineTab ? state.offline : state.handoffs,
    me: me(),
    selectedId: state.open?.id ?? null,
    unread: state.unread,
    claiming: state.claiming,
    onSelect: select,
    onClaim: claim,
  });
  els.queueCount.textContent = String(state.handoffs.filter((x) => x.status === "queued").length);
  els.queueCount.title = "대기 중 / Waiting";
  if (focusKey?.id) {
    const item = els.queue.querySelector(`[data-handoff-id="${CSS.escape(focusKey.id)}"]`);
    (item?.querySelector(`[data-action="${focusKey.action}"]`) || item?.querySelector("button"))?.focus();
  }
}

async function claim(id) {
  const key = String(id);
  if (state.claiming.has(key)) return;
  state.claiming.add(key);
  drawQueue();
  renderOpen();
  try {
    const handoff = await call(`/api/handoffs/${encodeURIComponent(id)}/claim`, {method: "POST"});
    upsertHandoff(handoff);
    toast(`상담을 맡았습니다 / You claimed #${id}`);
    select(handoff?.id ?? id);
  } catch (err) {
    if (!state.auth) return;
    toast(err.status === 409 ? ALREADY_TAKEN : err.message, "error", 7000);
    refreshQueue();
    if (state.open && sameId(state.open.id, id)) loadConversation(id);
  } finally {
    state.claiming.delete(key);
    drawQueue();
    renderOpen();
  }
}

// ------------------------------------------------------------------ conversation

function select(id) {
  if (state.open) state.drafts.set(String(state.open.id), els.replyInput.value);
  state.unread.delete(String(id));
  updateTitle();
  state.open = {
    id,
    handoff: state.handoffs.find((x) => sameId(x.id, id)) || {id},
    context: null,
    messages: new Map(),
    loading: true,
    error: null,
  };
  if (idFromHash() !== String(id)) history.replaceState(null, "", `#handoff=${encodeURIComponent(id)}`);
  els.appView.dataset.view = "conversation";
  els.replyInput.value = state.drafts.get(String(id)) || "";
  setReplyError("");
  drawQueue();
  renderOpen({scroll: "bottom"});
  loadConversation(id);
}

async function loadConversation(id) {
  const seq = ++state.openSeq;
  try {
    const data = await call(`/api/handoffs/${encodeURIComponent(id)}`);
    if (seq !== state.openSeq || !state.open || !sameId(state.open.id, id)) return;
    const {context, messages, transfers, ...handoff} = data || {};
    state.open.handoff = handoff;
    state.open.transfers = Array.isArray(transfers) ? transfers : [];
    state.open.context = context && typeof context === "object" ? context : {};
    for (const message of Array.isArray(messages) ? messages : []) {
      if (message?.id !== undefined) state.open.messages.set(String(message.id), message);
    }
    state.open.loading = false;
    state.open.error = null;
    renderOpen({scroll: "bottom"});
  } catch (err) {
    if (!state.auth || seq !== state.openSeq || !state.open || !sameId(state.open.id, id)) return;
    state.open.loading = false;
    state.open.error = err.message;
    renderOpen();
  }
}

function addMessages(messages) {
  if (!state.open) return;
  for (const message of messages) {
    if (message?.id !== undefined) state.open.messages.set(String(message.id), message);
  }
  renderOpen();
}

function sortedMessages() {
  const list = [...state.open.messages.values()];
  return list.sort((a, b) => {
    const byId = Number(a.id) - Number(b.id);
    if (Number.isFinite(byId) && byId !== 0) return byId;
    return String(a.created_at).localeCompare(String(b.created_at));
  });
}

function noticeFor(open) {
  const handoff = open.handoff || {};
  if (open.loading && !handoff.status) return null;
  if (handoff.status === "queued") {
    return "대기 중인 상담입니다. 맡기를 눌러야 답장할 수 있습니다. / Queued — claim it to reply.";
  }
  if (handoff.status === "offline") {
    return isMineOffline(handoff, me())
      ? "업무 외 요청입니다. 고객에게 연락한 뒤 종료하세요. / Offline request — contact the customer, then close it."
      : "업무 외 요청입니다. 맡기를 눌러 처리하세요. / Offline request — take it to work on it.";
  }
  if (handoff.status === "assigned" && !isMine(handoff, me())) {
    return "다른 상담원이 응대 중입니다 (읽기 전용). / Another agent is handling this conversation (read-only).";
  }
  if (handoff.status && !OPEN_STATUSES.has(handoff.status) && handoff.status !== "offline") {
    return "종료된 상담입니다. / This conversation is closed.";
  }
  return null;
}

/** Render the open conversation (header, notice, thread, context, composer). */
function renderOpen({scroll} = {}) {
  const open = state.open;
  els.convEmpty.hidden = Boolean(open);
  els.convBody.hidden = !open;
  if (!open) {
    els.appView.dataset.view = "queue";
    renderContextPlaceholder(els.context);
    updateComposer();
    return;
  }
  const handoff = open.handoff || {id: open.id};
  const mine = isMine(handoff, me());
  const stick = scroll === "bottom" || nearBottom(els.thread);
  const previousScroll = els.thread.scrollTop;

  renderTitle(els.convTitle, handoff);
  const takeable = handoff.status === "queued" || (handoff.status === "offline" && !handoff.assigned_agent_id);
  els.convClaim.hidden = !takeable;
  els.convClaim.disabled = state.claiming.has(String(open.id));
  const closable = canClose(handoff);
  els.closeButton.disabled = !closable || state.closing;
  els.resolutionSelect.disabled = !closable || state.closing;
  els.transferButton.disabled = !canWork(handoff);
  els.closeButton.title = closable ? "" : "배정된 상담원만 종료할 수 있습니다 / Only the assigned agent can close";
  const notice = noticeFor(open);
  els.convNotice.hidden = !notice;
  els.convNotice.textContent = notice || "";

  if (open.error && !open.context) {
    els.transcript.replaceChildren(h("div", {class: "alert thread-error", role: "alert"},
      `상담을 불러오지 못했습니다 / Could not load this conversation: ${open.error} `,
      h("button", {type: "button", class: "link-btn", onclick: () => loadConversation(open.id)},
        "다시 시도 / Retry")));
    els.divider.hidden = true;
    els.messages.replaceChildren();
  } else if (open.loading && !open.context) {
    els.transcript.replaceChildren(h("p", {class: "thread-note"}, "불러오는 중… / Loading…"));
    els.divider.hidden = true;
    els.messages.replaceChildren();
  } else {
    renderTranscript(els.transcript, open.context?.transcript);
    els.divider.hidden = false;
    renderDivider(els.divider, handoff);
    renderMessages(els.messages, sortedMessages(), {
      me: me(),
      retried: state.retried,
      retrying: state.retrying,
      canRetry: mine,
      onRetry: retry,
    });
  }
  if (open.context) renderContext(els.context, handoff, open.context, open.transfers || []);
  else renderContextPlaceholder(els.context);

  updateComposer();
  els.thread.scrollTop = stick ? els.thread.scrollHeight : previousScroll;
}

// ------------------------------------------------------------------ reply, retry, close

function setReplyError(message) {
  els.replyError.textContent = message || "";
}

function updateComposer() {
  const handoff = state.open?.handoff;
  const can = Boolean(state.open) && canWork(handoff);
  const noting = can && els.noteToggle.checked;
  els.noteToggle.disabled = !can;
  els.replyForm.classList.toggle("note-mode", noting);
  drawCannedPicker(can && !noting);
  els.replyInput.disabled = !can;
  els.replyInput.placeholder = noting
    ? "내부 메모 — 고객에게 보내지 않습니다 / Internal note — never sent to the customer"
    : can
    ? "고객에게 답장 / Reply to the customer"
    : handoff?.status === "queued"
      ? "맡은 후 답장할 수 있습니다 / Claim this conversation to reply"
      : "답장할 수 없는 상담입니다 / You cannot reply to this conversation";
  const text = els.replyInput.value;
  const length = text.length;
  els.replySend.disabled = !can || state.sending || !text.trim() || length > MAX_LENGTH;
  els.replyCounter.textContent = length >= MAX_LENGTH
    ? `${length} / ${MAX_LENGTH} — 최대 2,000자 / 2,000 characters max`
    : `${length} / ${MAX_LENGTH}`;
  els.replyCounter.dataset.level = length >= MAX_LENGTH ? "full" : length >= MAX_LENGTH * 0.9 ? "near" : "";
  autoGrow(els.replyInput);
}

function drawCannedPicker(enabled) {
  const language = state.open?.handoff?.language;
  const options = state.canned.filter((item) => !language || item.language === language);
  els.cannedPicker.replaceChildren(
    h("option", {value: ""}, "상용구 / Canned response…"),
    ...options.map((item) => h("option", {value: String(item.id)}, item.title)));
  els.cannedPicker.disabled = !enabled || !options.length;
}

function useCanned() {
  const chosen = state.canned.find((item) => String(item.id) === els.cannedPicker.value);
  els.cannedPicker.value = "";
  if (!chosen || !state.open) return;
  const identity = state.open.context?.verified_identity;
  const fallback = state.open.handoff?.language === "en" ? "customer" : "고객";
  els.replyInput.value = fillPlaceholders(chosen.text, {
    name: identity?.name || fallback,
    agent_name: me()?.display_name || me()?.username || "",
  });
  updateComposer();
  els.replyInput.focus();
}

async function sendNote(id, text) {
  const note = await call(`/api/handoffs/${encodeURIComponent(id)}/notes`, {method: "POST", body: {text}});
  if (state.open && sameId(state.open.id, id) && note?.id !== undefined) addMessages([note]);
}

async function sendReply() {
  const open = state.open;
  if (!open || !canWork(open.handoff) || state.sending) return;
  const text = els.replyInput.value.trim();
  if (!text) return;
  if (text.length > MAX_LENGTH) {
    setReplyError("최대 2,000자까지 보낼 수 있습니다 / Replies are limited to 2,000 characters");
    return;
  }
  const id = open.id;
  state.sending = true;
  setReplyError("");
  els.replyInput.value = ""; // cleared at once; put back if the service refuses it
  state.drafts.delete(String(id));
  updateComposer();
  const stillOpen = () => state.open && sameId(state.open.id, id);
  try {
    if (els.noteToggle.checked) {
      await sendNote(id, text);
      return;
    }
    const message = await call(`/api/handoffs/${encodeURIComponent(id)}/messages`, {method: "POST", body: {text}});
    if (stillOpen() && message?.id !== undefined) addMessages([message]);
  } catch (err) {
    if (!state.auth) return;
    if (err.status === 502) {
      // Stored with delivery "failed": it appears in the thread with a Retry button.
      if (stillOpen()) {
        setReplyError(`${err.message} — 다시 보내기를 누르세요 / use Retry`);
        loadConversation(id);
      }
    } else {
      if (stillOpen()) {
        if (!els.replyInput.value) els.replyInput.value = text;
        setReplyError(err.message);
      } else if (!state.drafts.get(String(id))) {
        state.drafts.set(String(id), text);
      }
      if (err.status === 403 || err.status === 409 || err.status === 404) {
        refreshQueue();
        if (stillOpen()) loadConversation(id);
      }
    }
  } finally {
    state.sending = false;
    updateComposer();
  }
}

async function retry(message) {
  const open = state.open;
  if (!open || !isMine(open.handoff, me())) return;
  const key = String(message.id);
  const id = open.id;
  state.retrying.add(key);
  renderOpen();
  try {
    const sent = await call(`/api/handoffs/${encodeURIComponent(id)}/messages`, {
      method: "POST", body: {text: message.text},
    });
    state.retried.add(key);
    if (state.open && sameId(state.open.id, id) && sent?.id !== undefined) addMessages([sent]);
  } catch (err) {
    if (!state.auth) return;
    toast(err.message, "error", 7000);
    if (state.open && sameId(state.open.id, id)) loadConversation(id);
  } finally {
    state.retrying.delete(key);
    if (state.open) renderOpen();
  }
}

async function closeHandoff() {
  const open = state.open;
  if (!open || !canClose(open.handoff) || state.closing) return;
  if (!window.confirm(CLOSE_CONFIRM)) return;
  const id = open.id;
  state.closing = true;
  renderOpen();
  try {
    const handoff = await call(`/api/handoffs/${encodeURIComponent(id)}/close`, {
      method: "POST", body: {resolution: els.resolutionSelect.value},
    });
    if (handoff) upsertHandoff(handoff);
    if (state.open && sameId(state.open.id, id)) {
      state.open.handoff = {...state.open.handoff, ...(handoff || {}), status: handoff?.status || "resolved"};
    }
    state.drafts.delete(String(id));
    toast(`상담을 종료했습니다 / Conversation #${id} closed`);
    refreshQueue();
  } catch (err) {
    if (!state.auth) return;
    toast(err.message, "error", 7000);
    refreshQueue();
    if (state.open && sameId(state.open.id, id)) loadConversation(id);
  } finally {
    state.closing = false;
    if (state.open) renderOpen();
  }
}

// ------------------------------------------------------------------ transfer

function openTransfer() {
  const open = state.open;
  if (!open || !canWork(open.handoff)) return;
  const queues = SKILL_CODES.map((code) => h("option", {value: `skill:${code}`},
    `대기열 / Queue · ${skillLabel(code).join(" / ")}`));
  const agents = state.agents
    .filter((agent) => agent.active && agent.status !== "offline" && !sameId(agent.id, open.handoff.assigned_agent_id))
    .map((agent) => h("option", {value: `agent:${agent.id}`},
      `${agent.display_name} · ${agent.status} · ${agent.load}/${agent.capacity}`));
  els.transferTarget.replaceChildren(...queues, ...agents);
  els.transferNote.value = "";
  els.transferError.textContent = "";
  els.transferDialog.showModal();
  els.transferNote.focus();
}

async function submitTransfer(event) {
  event.preventDefault();
  const open = state.open;
  const note = els.transferNote.value.trim();
  if (!open || !note) {
    els.transferError.textContent = "메모를 적어 주세요 / Write a note for the next person";
    return;
  }
  const [kind, value] = els.transferTarget.value.split(":");
  const body = kind === "agent" ? {to_agent_id: Number(value), note} : {to_skill: value, note};
  try {
    const handoff = await call(`/api/handoffs/${encodeURIComponent(open.id)}/transfer`, {method: "POST", body});
    els.transferDialog.close();
    upsertHandoff(handoff);
    toast(`이관했습니다 / Transferred #${open.id}`);
    loadConversation(open.id);
    loadTeamAndCanned();
  } catch (err) {
    if (state.auth) els.transferError.textContent = err.message;
  }
}

// ------------------------------------------------------------------ wiring

els.loginForm.addEventListener("submit", login);
els.logout.addEventListener("click", () => logout());
els.queueRefresh.addEventListener("click", refreshQueue);
els.convClaim.addEventListener("click", () => state.open && claim(state.open.id));
els.closeButton.addEventListener("click", closeHandoff);
els.agentStatus.addEventListener("change", changeStatus);
els.tabQueue.addEventListener("click", () => { state.tab = "queue"; drawQueue(); });
els.tabOffline.addEventListener("click", () => { state.tab = "offline"; drawQueue(); });
els.transferButton.addEventListener("click", openTransfer);
els.transferForm.addEventListener("submit", submitTransfer);
els.transferCancel.addEventListener("click", () => els.transferDialog.close());
els.cannedPicker.addEventListener("change", useCanned);
els.noteToggle.addEventListener("change", updateComposer);
els.convBack.addEventListener("click", () => {
  els.appView.dataset.view = "queue";
});
function showContextDrawer(show) {
  els.appView.dataset.context = show ? "open" : "";
  els.contextToggle.setAttribute("aria-expanded", String(show));
}
els.contextToggle.addEventListener("click", () => showContextDrawer(els.appView.dataset.context !== "open"));
els.contextClose.addEventListener("click", () => {
  showContextDrawer(false);
  els.contextToggle.focus();
});
els.replyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  sendReply();
});
els.replyInput.addEventListener("keydown", (event) => {
  if (isSubmitEnter(event)) {
    event.preventDefault();
    sendReply();
  }
});
els.replyInput.addEventListener("input", () => {
  setReplyError("");
  updateComposer();
});
window.addEventListener("hashchange", () => {
  const id = idFromHash();
  if (state.auth && id && !(state.open && sameId(state.open.id, id))) select(id);
});

state.auth = loadAuth();
if (state.auth) {
  startApp();
} else {
  clearAuth();
  els.username.focus();
}
