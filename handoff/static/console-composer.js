// Working on the open conversation: the reply box (or internal note), a file attached
// to the reply, canned responses, drafts kept per conversation, transfer to a queue or
// a colleague (the list kept current by the live feed), and close with a resolution.

import {customerName} from "./console-badges.js";
import {addMessages, loadConversation, renderOpen} from "./console-conversation.js";
import {fileSize, uploadFile} from "./console-files.js";
import {refreshQueue, upsertHandoff} from "./console-queue.js";
import {canClose, canWork, isOpen, isSupervisor, me, sameId, session, signedIn, state} from "./console-state.js";
import {toast} from "./console-toasts.js";
import {autoGrow, h, submitOnEnter, trapFocus} from "./dom.js";
import {deliveryFailureLabel, fillPlaceholders} from "./format.js";
import {codes, errorText, label, t} from "./labels.js";

const MAX_LENGTH = 2000;

const $ = (id) => document.getElementById(id);
const els = {
  replyForm: $("reply-form"), replyInput: $("reply-input"), replySend: $("reply-send"),
  replyError: $("reply-error"), replyCounter: $("reply-counter"), noteToggle: $("note-toggle"),
  cannedPicker: $("canned-picker"), closeButton: $("close-button"), resolutionSelect: $("resolution-select"),
  transferButton: $("transfer-button"), transferDialog: $("transfer-dialog"), transferForm: $("transfer-form"),
  transferTarget: $("transfer-target"), transferNote: $("transfer-note"), transferError: $("transfer-error"),
  transferCancel: $("transfer-cancel"), noteBanner: $("note-mode-banner"),
  attachButton: $("attach-button"), attachInput: $("attach-input"), attachment: $("reply-attachment"),
};

// Handoff id (string) -> the file attached to the next reply there: {uploading, name}
// while it uploads, then the service's attachment.
const attached = new Map();

/** The colleagues to transfer to and the canned responses, for the signed-in agent. */
export async function loadTeamAndCanned() {
  try {
    const [team, canned] = await Promise.all([session.call("/api/agents"), session.call("/api/canned-responses")]);
    state.agents = team?.agents || [];
    state.canned = canned?.canned_responses || [];
    renderOpen();
    drawTransferTargets();
  } catch (err) {
    if (signedIn()) toast(errorText(err), "error");
  }
}

let teamTimer = null;

/** Load the team again shortly: one load for a burst of changes. */
export function scheduleTeamRefresh() {
  clearTimeout(teamTimer);
  teamTimer = setTimeout(async () => {
    try {
      state.agents = (await session.call("/api/agents"))?.agents || state.agents;
      drawTransferTargets();
    } catch {
      /* the next change or the dialog's opening loads it again */
    }
  }, 500);
}

/** A colleague's status, capacity or skills changed (the live feed's agent.updated). */
export function agentChanged(agent) {
  if (!agent || agent.id === undefined) return;
  const index = state.agents.findIndex((x) => sameId(x.id, agent.id));
  if (index >= 0) state.agents[index] = {...state.agents[index], ...agent};
  else state.agents.push(agent);
  drawTransferTargets();
}

/** Whether the transfer dialog is open (its list follows the team live). */
export const transferOpen = () => els.transferDialog.open;

// ------------------------------------------------------------------ drawing

/** The composer and the header's transfer and close controls, for the open conversation. */
export function drawComposer() {
  const open = state.open;
  if (open) {
    const handoff = open.handoff || {id: open.id};
    const closable = canClose(handoff);
    els.closeButton.disabled = !closable || state.closing;
    els.resolutionSelect.disabled = !closable || state.closing;
    els.transferButton.disabled = !canWork(handoff);
    els.closeButton.title = closable ? "" : t("only_assigned_can_close");
    for (const option of els.resolutionSelect.options) option.textContent = label("resolution", option.value);
  }
  updateComposer();
}

function updateComposer() {
  const handoff = state.open?.handoff;
  const can = Boolean(state.open) && canWork(handoff);
  const noting = can && els.noteToggle.checked;
  els.noteToggle.disabled = !can;
  els.replyForm.classList.toggle("note-mode", noting);
  els.replyForm.dataset.mode = noting ? "note" : "reply";
  els.noteBanner.hidden = !noting;
  els.replySend.textContent = t(noting ? "save_note" : "send");
  drawCannedPicker(can && !noting);
  els.replyInput.disabled = !can;
  const file = state.open ? attached.get(String(state.open.id)) : null;
  els.attachButton.disabled = !can || noting || Boolean(file?.uploading);
  drawAttachment(can ? file : null);
  els.replyInput.placeholder = noting
    ? t("placeholder_note")
    : can
      ? t("placeholder_reply")
      : handoff?.status === "queued"
        ? t("placeholder_claim_first")
        : t("placeholder_cannot_reply");
  const text = els.replyInput.value;
  const length = text.length;
  const ready = Boolean(text.trim()) || Boolean(file?.id && !noting);
  els.replySend.disabled = !can || state.sending || Boolean(file?.uploading) || !ready || length > MAX_LENGTH;
  els.replyCounter.textContent = length >= MAX_LENGTH
    ? `${length} / ${MAX_LENGTH} — ${t("max_length")}`
    : `${length} / ${MAX_LENGTH}`;
  els.replyCounter.dataset.level = length >= MAX_LENGTH ? "full" : length >= MAX_LENGTH * 0.9 ? "near" : "";
  autoGrow(els.replyInput);
}

function setReplyError(message) {
  els.replyError.textContent = message || "";
}

// ------------------------------------------------------------------ a file for the reply

/** The file waiting to go with the reply, with a way to take it off. */
function drawAttachment(file) {
  els.attachment.hidden = !file;
  if (!file) {
    els.attachment.replaceChildren();
    return;
  }
  els.attachment.dataset.state = file.uploading ? "uploading" : "ready";
  els.attachment.replaceChildren(
    h("span", {class: "reply-attachment-name", "data-testid": "reply-attachment-name"},
      `📎 ${file.uploading ? file.name : file.filename}`,
      file.uploading ? ` · ${t("uploading")}` : ` · ${fileSize(file.size_bytes)}`),
    file.uploading ? null : h("button", {
      type: "button", class: "btn btn-small btn-ghost", "data-testid": "reply-attachment-remove",
      title: t("remove_attachment"), "aria-label": t("remove_attachment"),
      onclick: () => {
        attached.delete(String(state.open?.id));
        updateComposer();
        els.replyInput.focus();
      },
    }, "✕"));
}

/** The agent picked a file: it is uploaded now and goes with their next reply. */
async function attachChosenFile() {
  const [chosen] = els.attachInput.files || [];
  els.attachInput.value = "";
  const open = state.open;
  if (!chosen || !open || !canWork(open.handoff)) return;
  const id = open.id;
  const key = String(id);
  attached.set(key, {uploading: true, name: chosen.name});
  setReplyError("");
  updateComposer();
  try {
    const file = await uploadFile(id, chosen);
    attached.set(key, file);
  } catch (err) {
    attached.delete(key);
    if (!signedIn()) return;
    if (isOpen(id)) setReplyError(errorText(err));
    else toast(errorText(err), "error");
  } finally {
    if (isOpen(id)) updateComposer();
  }
}

/** Keep what was typed for the conversation left; bring back the next one's draft. */
export function swapDraft(previousId, nextId) {
  if (previousId !== undefined) state.drafts.set(String(previousId), els.replyInput.value);
  els.replyInput.value = state.drafts.get(String(nextId)) || "";
  setReplyError("");
}

export function clearComposer() {
  els.replyInput.value = "";
  attached.clear();
  drawAttachment(null);
}

// ------------------------------------------------------------------ canned responses

function drawCannedPicker(enabled) {
  const language = state.open?.handoff?.language;
  const options = state.canned.filter((item) => !language || item.language === language);
  els.cannedPicker.replaceChildren(
    h("option", {value: ""}, t("canned_pick")),
    ...options.map((item) => h("option", {value: String(item.id)}, item.title)));
  els.cannedPicker.disabled = !enabled || !options.length;
}

function useCanned() {
  const chosen = state.canned.find((item) => String(item.id) === els.cannedPicker.value);
  els.cannedPicker.value = "";
  if (!chosen || !state.open) return;
  // The customer is addressed in their own language, whatever the agent's.
  const handoff = state.open.handoff || {};
  els.replyInput.value = fillPlaceholders(chosen.text, {
    name: (handoff.customer_verified && handoff.customer_name) ||
      label("ui", "customer_fallback", {}, handoff.language === "en" ? "en" : "ko"),
    agent_name: me()?.display_name || me()?.username || "",
  });
  updateComposer();
  els.replyInput.focus();
}

// ------------------------------------------------------------------ reply and note

async function sendNote(id, text) {
  const note = await session.call(`/api/handoffs/${encodeURIComponent(id)}/notes`, {method: "POST", body: {text}});
  if (isOpen(id) && note?.id !== undefined) addMessages([note]);
}

async function sendReply() {
  const open = state.open;
  if (!open || !canWork(open.handoff) || state.sending) return;
  const text = els.replyInput.value.trim();
  const noting = els.noteToggle.checked;
  const id = open.id;
  const file = noting ? null : attached.get(String(id));
  if (file?.uploading || (!text && !file)) return;
  if (text.length > MAX_LENGTH) {
    setReplyError(t("max_length"));
    return;
  }
  state.sending = true;
  setReplyError("");
  els.replyInput.value = ""; // cleared at once; put back if the service refuses it
  state.drafts.delete(String(id));
  updateComposer();
  try {
    if (noting) {
      await sendNote(id, text);
      // One note at a time: the next thing typed goes to the customer again, so
      // a reply is never kept from them by a box left ticked.
      if (isOpen(id)) els.noteToggle.checked = false;
      return;
    }
    // A reply sent again after no answer keeps its client id: the service then
    // takes it as the same reply, never a second copy for the customer.
    const unanswered = state.unansweredReply;
    const clientId = unanswered?.handoffId === id && unanswered.text === text
      && unanswered.fileId === file?.id ? unanswered.clientId : replyClientId();
    state.unansweredReply = {handoffId: id, text, fileId: file?.id, clientId};
    const body = file
      ? {attachment_id: file.id, client_id: clientId, ...(text ? {text} : {})}
      : {text, client_id: clientId};
    const message = await session.call(`/api/handoffs/${encodeURIComponent(id)}/messages`, {method: "POST", body});
    state.unansweredReply = null;
    if (file) attached.delete(String(id));
    if (isOpen(id) && message?.id !== undefined) addMessages([message]);
  } catch (err) {
    // The service's own answer, if an error; not a proxy's page for a lost instance.
    if (typeof err.body?.error === "string") state.unansweredReply = null;
    if (!signedIn()) return;
    if (err.status === 502) {
      // Stored with the file; a retry sends both again.
      if (file) attached.delete(String(id));
      // Stored with delivery "failed": it appears in the thread, with a Retry
      // button unless sending again cannot help (then with what to do instead).
      if (isOpen(id)) {
        if (err.code === "delivery_failed" && err.body?.permanent) {
          const [ko, en] = deliveryFailureLabel(err.body.reason);
          setReplyError(`전달되지 않았습니다: ${ko} / Not delivered: ${en}`);
        } else {
          setReplyError(`${errorText(err)} — ${t("use_retry")}`);
        }
        loadConversation(id);
      }
    } else {
      if (isOpen(id)) {
        if (!els.replyInput.value) els.replyInput.value = text;
        setReplyError(errorText(err));
      } else if (!state.drafts.get(String(id))) {
        state.drafts.set(String(id), text);
      }
      if (err.status === 403 || err.status === 409 || err.status === 404) {
        refreshQueue();
        if (isOpen(id)) loadConversation(id);
      }
    }
  } finally {
    state.sending = false;
    updateComposer();
  }
}

// ------------------------------------------------------------------ close

/** Close the open conversation as a follow-up (after asking, like any close). */
export function closeAsFollowUp() {
  els.resolutionSelect.value = "follow_up";
  closeHandoff();
}

async function closeHandoff() {
  const open = state.open;
  if (!open || !canClose(open.handoff) || state.closing) return;
  if (!window.confirm(t("close_confirm"))) return;
  const id = open.id;
  state.closing = true;
  renderOpen();
  try {
    const handoff = await session.call(`/api/handoffs/${encodeURIComponent(id)}/close`, {
      method: "POST", body: {resolution: els.resolutionSelect.value},
    });
    if (handoff) upsertHandoff(handoff);
    if (isOpen(id)) {
      state.open.handoff = {...state.open.handoff, ...(handoff || {}), status: handoff?.status || "resolved"};
    }
    state.drafts.delete(String(id));
    toast(t("closed", {who: customerName(handoff || open.handoff)}));
    refreshQueue();
  } catch (err) {
    if (!signedIn()) return;
    toast(errorText(err), "error", 7000);
    refreshQueue();
    if (isOpen(id)) loadConversation(id);
  } finally {
    state.closing = false;
    if (state.open) renderOpen();
  }
}

// ------------------------------------------------------------------ transfer

// The target a supervisor was warned is at capacity; a second submit overrides it.
let overrideArmedFor = null;

function openTransfer() {
  overrideArmedFor = null;
  const open = state.open;
  if (!open || !canWork(open.handoff)) return;
  drawTransferTargets();
  els.transferNote.value = "";
  els.transferError.textContent = "";
  els.transferDialog.showModal();
  els.transferNote.focus();
  // Statuses come live; loads change with every claim and close: read them now.
  scheduleTeamRefresh();
}

/** The queues and the colleagues who can take the conversation now, keeping the choice. */
function drawTransferTargets() {
  const open = state.open;
  if (!open) return;
  const chosen = els.transferTarget.value;
  const queues = codes("skill").map((code) => h("option", {value: `skill:${code}`},
    t("to_queue", {queue: label("skill", code)})));
  const agents = state.agents
    .filter((agent) => agent.active && agent.status !== "offline" && !sameId(agent.id, open.handoff?.assigned_agent_id))
    .map((agent) => h("option", {value: `agent:${agent.id}`, "data-status": agent.status},
      `${agent.display_name} · ${label("agent_status", agent.status)} · ${agent.load}/${agent.capacity}`));
  els.transferTarget.replaceChildren(...queues, ...agents);
  if ([...els.transferTarget.options].some((option) => option.value === chosen)) els.transferTarget.value = chosen;
}

async function submitTransfer(event) {
  event.preventDefault();
  const open = state.open;
  const note = els.transferNote.value.trim();
  if (!open || !note) {
    els.transferError.textContent = t("transfer_note_needed");
    return;
  }
  const [kind, value] = els.transferTarget.value.split(":");
  const body = kind === "agent" ? {to_agent_id: Number(value), note} : {to_skill: value, note};
  // A supervisor who was told the colleague is full and submits again means it.
  if (kind === "agent" && overrideArmedFor === els.transferTarget.value) body.override_capacity = true;
  try {
    const handoff = await session.call(`/api/handoffs/${encodeURIComponent(open.id)}/transfer`, {method: "POST", body});
    els.transferDialog.close();
    upsertHandoff(handoff);
    toast(t("transferred", {who: customerName(handoff)}));
    loadConversation(open.id);
    loadTeamAndCanned();
  } catch (err) {
    if (!signedIn()) return;
    if (err.code === "at_capacity" && kind === "agent") {
      overrideArmedFor = isSupervisor() ? els.transferTarget.value : null;
      els.transferError.textContent = `${errorText(err)} ${t(isSupervisor()
        ? "transfer_override_hint" : "transfer_choose_other")}`;
      scheduleTeamRefresh();
      return;
    }
    els.transferError.textContent = errorText(err);
  }
}

export function wireComposer() {
  els.closeButton.addEventListener("click", closeHandoff);
  els.transferButton.addEventListener("click", openTransfer);
  els.transferForm.addEventListener("submit", submitTransfer);
  els.transferCancel.addEventListener("click", () => els.transferDialog.close());
  // Closed by Escape, Cancel or a transfer: the keyboard goes back where it was.
  els.transferDialog.addEventListener("close", () => els.transferButton.focus());
  trapFocus(els.transferDialog);
  els.cannedPicker.addEventListener("change", useCanned);
  els.attachButton.addEventListener("click", () => els.attachInput.click());
  els.attachInput.addEventListener("change", attachChosenFile);
  els.noteToggle.addEventListener("change", () => {
    updateComposer();
    els.replyInput.focus();
  });
  submitOnEnter(els.replyForm, els.replyInput, sendReply);
  els.replyInput.addEventListener("input", () => {
    setReplyError("");
    updateComposer();
  });
}

/** The console's own id for a reply (ReplyBody.client_id). */
function replyClientId() {
  if (window.crypto?.randomUUID) return window.crypto.randomUUID();
  return `r${Date.now().toString(36)}${Math.random().toString(36).slice(2, 12)}`;
}
