// The open conversation: its header, the bot transcript before the handoff, the
// messages and notes since, kept current by live frames; which one is open follows
// the address (#handoff=<id>).

import {agentName, channelName, customerName, statusBadge} from "./console-badges.js";
import {closeAsFollowUp, drawComposer, swapDraft} from "./console-composer.js";
import {drawContext} from "./console-context.js";
import {fileView, textNamesFile} from "./console-files.js";
import {claim, drawQueue, seen, updateTitle} from "./console-queue.js";
import {
  OPEN_STATUSES, isMine, isMineOffline, isOpen, isTakeable, sameId, session, signedIn, state,
} from "./console-state.js";
import {toast} from "./console-toasts.js";
import {bi, h, nearBottom, replace} from "./dom.js";
import {
  clock, deliveryAdvice, deliveryFailureLabel, fullTime, percent, valueText,
} from "./format.js";
import {errorText, label, t} from "./labels.js";

const $ = (id) => document.getElementById(id);
const els = {
  appView: $("app-view"), convEmpty: $("conv-empty"), convBody: $("conv-body"), convBack: $("conv-back"),
  convTitle: $("conv-title"), convClaim: $("conv-claim"), convNotice: $("conv-notice"), thread: $("thread"),
  transcript: $("transcript"), divider: $("handoff-divider"), messages: $("messages"),
};

// ------------------------------------------------------------------ opening and loading

export function select(id) {
  const previous = state.open;
  state.unread.delete(String(id));
  seen(id);
  updateTitle();
  state.open = {
    id,
    handoff: state.handoffs.find((x) => sameId(x.id, id)) || {id},
    context: null,
    messages: new Map(),
    attachments: [],
    loading: true,
    error: null,
  };
  if (idFromHash() !== String(id)) history.replaceState(null, "", `#handoff=${encodeURIComponent(id)}`);
  els.appView.dataset.view = "conversation";
  swapDraft(previous?.id, id);
  drawQueue();
  renderOpen({scroll: "bottom"});
  loadConversation(id);
}

export async function loadConversation(id) {
  const seq = ++state.openSeq;
  try {
    const data = await session.call(`/api/handoffs/${encodeURIComponent(id)}`);
    if (seq !== state.openSeq || !isOpen(id)) return;
    const {context, messages, transfers, attachments, ...handoff} = data || {};
    state.open.handoff = handoff;
    state.open.transfers = Array.isArray(transfers) ? transfers : [];
    state.open.attachments = Array.isArray(attachments) ? attachments : [];
    state.open.context = context && typeof context === "object" ? context : {};
    for (const message of Array.isArray(messages) ? messages : []) {
      if (message?.id !== undefined) state.open.messages.set(String(message.id), message);
    }
    state.open.loading = false;
    state.open.error = null;
    renderOpen({scroll: "bottom"});
  } catch (err) {
    if (!signedIn() || seq !== state.openSeq || !isOpen(id)) return;
    state.open.loading = false;
    state.open.error = errorText(err);
    renderOpen();
  }
}

/** Messages or notes of the open conversation, from the service or the live feed. */
export function addMessages(messages) {
  if (!state.open) return;
  for (const message of messages) {
    if (message?.id !== undefined) state.open.messages.set(String(message.id), message);
  }
  renderOpen();
}

/** A live frame about a handoff, which may be the open one. */
export function handoffChanged(handoff) {
  if (!isOpen(handoff.id)) return;
  state.open.handoff = {...state.open.handoff, ...handoff};
  renderOpen();
}

export function idFromHash() {
  const match = /^#handoff=([\w-]+)$/.exec(location.hash);
  return match ? match[1] : null;
}

/** Signed out: no conversation open, none in the address. */
export function closeConversation() {
  renderOpen();
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
}

// ------------------------------------------------------------------ resending a failed reply

async function retry(message) {
  const open = state.open;
  if (!open || !isMine(open.handoff)) return;
  const key = String(message.id);
  const id = open.id;
  state.retrying.add(key);
  renderOpen();
  try {
    // The file goes again with it; a text that only named the file is left to the
    // service. With its client id the same message is sent again, under its own id.
    const body = message.attachment?.id
      ? {attachment_id: message.attachment.id, ...(textNamesFile(message) ? {} : {text: message.text})}
      : {text: message.text};
    if (message.client_id) body.client_id = message.client_id;
    const sent = await session.call(`/api/handoffs/${encodeURIComponent(id)}/messages`, {
      method: "POST", body,
    });
    if (String(sent?.id) !== key) state.retried.add(key);
    if (isOpen(id) && sent?.id !== undefined) addMessages([sent]);
  } catch (err) {
    if (!signedIn()) return;
    toast(errorText(err), "error", 7000);
    if (isOpen(id)) loadConversation(id);
  } finally {
    state.retrying.delete(key);
    if (state.open) renderOpen();
  }
}

// ------------------------------------------------------------------ drawing

/** Render the open conversation (header, notice, thread, context, composer). */
export function renderOpen({scroll} = {}) {
  const open = state.open;
  els.convEmpty.hidden = Boolean(open);
  els.convBody.hidden = !open;
  if (!open) {
    els.appView.dataset.view = "queue";
    drawContext();
    drawComposer();
    return;
  }
  const handoff = open.handoff || {id: open.id};
  const stick = scroll === "bottom" || nearBottom(els.thread);
  const previousScroll = els.thread.scrollTop;

  renderTitle(handoff);
  els.convClaim.hidden = !isTakeable(handoff);
  els.convClaim.disabled = state.claiming.has(String(open.id));
  const notice = noticeFor(open);
  els.convNotice.hidden = !notice;
  els.convNotice.textContent = notice || "";

  if (open.error && !open.context) {
    els.transcript.replaceChildren(h("div", {class: "alert thread-error", role: "alert"},
      `${t("conversation_load_failed")}: ${open.error} `,
      h("button", {type: "button", class: "link-btn", onclick: () => loadConversation(open.id)},
        t("retry"))));
    els.divider.hidden = true;
    els.messages.replaceChildren();
  } else if (open.loading && !open.context) {
    els.transcript.replaceChildren(h("p", {class: "thread-note"}, t("loading")));
    els.divider.hidden = true;
    els.messages.replaceChildren();
  } else {
    renderTranscript(open.context?.transcript, earlierFiles(open));
    els.divider.hidden = false;
    renderDivider(handoff);
    renderMessages(sortedMessages(), isMine(handoff));
  }
  drawContext();
  drawComposer();
  els.thread.scrollTop = stick ? els.thread.scrollHeight : previousScroll;
}

function noticeFor(open) {
  const handoff = open.handoff || {};
  if (open.loading && !handoff.status) return null;
  if (handoff.status === "queued") return t("notice_queued");
  if (handoff.status === "offline") return t(isMineOffline(handoff) ? "notice_offline_mine" : "notice_offline");
  if (handoff.status === "assigned" && !isMine(handoff)) {
    return t("notice_other_agent", {agent: agentName(handoff.assigned_agent_id, handoff.assigned_agent_name)});
  }
  if (handoff.status && !OPEN_STATUSES.has(handoff.status)) return t("notice_closed");
  return null;
}

function sortedMessages() {
  const list = [...state.open.messages.values()];
  return list.sort((a, b) => {
    const byId = Number(a.id) - Number(b.id);
    if (Number.isFinite(byId) && byId !== 0) return byId;
    return String(a.created_at).localeCompare(String(b.created_at));
  });
}

/** Header title: the customer by name, with status, channel and language badges. */
function renderTitle(handoff) {
  replace(els.convTitle,
    h("h2", {class: "conv-name", "data-testid": "conversation-customer"},
      handoff.status ? customerName(handoff) : "…",
      h("span", {class: "conv-id", title: t("conversation_id")}, ` ${t("handoff_number", {n: handoff.id})}`)),
    h("div", {class: "conv-badges"},
      handoff.status ? statusBadge(handoff.status) : null,
      handoff.channel_kind ? h("span", {class: "badge", "data-testid": "conversation-channel"},
        channelName(handoff)) : null,
      handoff.language ? h("span", {class: "badge"}, label("language", handoff.language)) : null,
      handoff.status === "assigned" ? h("span", {class: "badge", "data-testid": "conversation-agent"},
        agentName(handoff.assigned_agent_id, handoff.assigned_agent_name)) : null));
}

/** The bot conversation before the handoff (context.transcript), visually muted, and
 * the files the customer shared with the bot then. */
function renderTranscript(transcript, files) {
  const items = Array.isArray(transcript) ? transcript : [];
  replace(els.transcript,
    h("div", {class: "divider transcript-title"}, t("before_handoff")),
    items.length
      ? items.map((entry) => transcriptEntry(entry))
      : h("p", {class: "thread-note"}, t("no_transcript")),
    files.length
      ? h("div", {class: "msg msg-transcript", "data-testid": "earlier-files", "data-role": "user"},
        h("div", {class: "msg-head"}, h("span", {class: "msg-author"}, t("files_before_handoff"))),
        files.map((file) => fileView(file)))
      : null);
}

/** The customer's files of the handoff that no message since carries: shared before it. */
function earlierFiles(open) {
  const carried = new Set([...open.messages.values()].map((message) => message.attachment?.id).filter(Boolean));
  return (open.attachments || []).filter((file) => file.uploaded_by === "customer" && !carried.has(file.id));
}

function transcriptEntry(entry) {
  const role = entry?.role === "user" ? "user" : "bot";
  const intent = role === "user" && entry.intent
    ? h("span", {class: "badge badge-accent", title: t("intent")},
      `${valueText(entry.intent?.name ?? entry.intent)}${entry.confidence !== undefined ? ` ${percent(entry.confidence)}` : ""}`)
    : null;
  return h("div", {class: "msg msg-transcript", "data-testid": "transcript-message", "data-role": role},
    h("div", {class: "msg-head"},
      h("span", {class: "msg-author"}, label("role", role)),
      intent,
      h("time", {title: fullTime(entry?.timestamp)}, clock(entry?.timestamp))),
    h("div", {class: "msg-text"}, valueText(entry?.text ?? "")));
}

/** The handoff divider: "handoff at … · reason". */
function renderDivider(handoff) {
  replace(els.divider, h("span", {},
    t("handoff_at", {time: clock(handoff.created_at)}),
    handoff.reason ? ` · ${label("reason", handoff.reason)}` : ""));
}

/** The messages since the handoff; only the assigned agent may resend a failed one. */
function renderMessages(messages, canRetry) {
  replace(els.messages, messages.length
    ? messages.map((message) => messageItem(message, canRetry))
    : h("p", {class: "thread-note"}, t("no_messages_yet")));
}

function author(message) {
  if (message.role === "user" || message.role === "bot") return label("role", message.role);
  const who = agentName(message.agent_id, message.agent_name);
  return message.role === "note" ? `${label("role", "note")} · ${who}` : who;
}

function messageItem(message, canRetry) {
  const role = ["user", "bot", "agent", "note"].includes(message.role) ? message.role : "bot";
  const key = String(message.id);
  let foot = null;
  if (role === "agent" && message.delivery) {
    if (message.delivery === "failed") {
      foot = failedFoot(message, key, canRetry);
    } else if (message.delivery === "pending") {
      foot = h("div", {class: "msg-foot", "data-delivery": "pending"}, label("delivery", "pending"));
    } else if (message.delivery === "delivered") {
      foot = h("div", {class: "msg-foot", "data-delivery": "delivered"}, `✓ ${label("delivery", "delivered")}`);
    }
  }
  return h("article", {
    class: role === "note" ? "msg msg-note" : "msg",
    "data-testid": role === "note" ? "note" : "message",
    "data-role": role,
    "data-message-id": message.id,
    "data-delivery": message.delivery || null,
  },
  h("div", {class: "msg-head"},
    h("span", {class: "msg-author", "data-testid": "message-author"}, author(message)),
    h("time", {title: fullTime(message.created_at)}, clock(message.created_at))),
  textNamesFile(message) ? null : h("div", {class: "msg-text"}, valueText(message.text ?? "")),
  fileView(message.attachment),
  foot);
}

/**
 * "Not delivered" with the reason. A failure that sending again may fix has a Retry
 * button; one it cannot (a closed WhatsApp window, a blocked bot) says what to do
 * instead, with a way to close the conversation as a follow-up.
 */
function failedFoot(message, key, canRetry) {
  const failure = message.delivery_failure || null;
  const [ko, en] = deliveryFailureLabel(failure?.reason);
  const permanent = Boolean(failure?.permanent);
  const advice = permanent ? deliveryAdvice(failure.reason) : null;
  let action = null;
  if (state.retried.has(key)) {
    action = h("span", {class: "msg-resent"}, t("resent"));
  } else if (!permanent) {
    action = h("button", {
      type: "button",
      class: "btn btn-small retry-button",
      "data-testid": "retry-button",
      disabled: !canRetry || state.retrying.has(key),
      onclick: () => retry(message),
    }, t("retry"));
  } else if (canRetry) {
    action = h("button", {
      type: "button",
      class: "btn btn-small",
      "data-testid": "follow-up-button",
      onclick: () => closeAsFollowUp(),
    }, "후속 조치로 종료 ", h("span", {lang: "en"}, "Close as follow-up"));
  }
  return h("div", {
    class: "msg-foot msg-foot-failed",
    "data-delivery": "failed",
    "data-failure": failure?.reason || null,
    "data-permanent": permanent ? "true" : "false",
  },
  h("div", {class: "msg-failure"},
    h("span", {"data-testid": "delivery-failure"}, `⚠ 전달 실패: ${ko} / Not delivered: ${en}`),
    advice ? h("p", {class: "msg-advice", "data-testid": "delivery-advice"}, bi(advice[0], advice[1])) : null),
  action);
}

export function wireConversation() {
  els.convClaim.addEventListener("click", () => state.open && claim(state.open.id));
  els.convBack.addEventListener("click", () => {
    els.appView.dataset.view = "queue";
  });
  window.addEventListener("hashchange", () => {
    const id = idFromHash();
    if (signedIn() && id && !isOpen(id)) select(id);
  });
}
