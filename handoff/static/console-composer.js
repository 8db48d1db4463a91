// Working on the open conversation: the reply box (or internal note), canned responses,
// drafts kept per conversation, transfer to a queue or a colleague, and close with a
// resolution.

import {addMessages, loadConversation, renderOpen} from "./console-conversation.js";
import {refreshQueue, upsertHandoff} from "./console-queue.js";
import {canClose, canWork, isOpen, isSupervisor, me, sameId, session, signedIn, state} from "./console-state.js";
import {toast} from "./console-toasts.js";
import {autoGrow, h, submitOnEnter} from "./dom.js";
import {SKILL_CODES, deliveryFailureLabel, fillPlaceholders, skillLabel} from "./format.js";

const MAX_LENGTH = 2000;
const CLOSE_CONFIRM = "이 상담을 종료할까요? 고객은 다시 봇과 대화하게 됩니다.\n" +
  "Close this conversation? The customer goes back to the bot.";

const $ = (id) => document.getElementById(id);
const els = {
  replyForm: $("reply-form"), replyInput: $("reply-input"), replySend: $("reply-send"),
  replyError: $("reply-error"), replyCounter: $("reply-counter"), noteToggle: $("note-toggle"),
  cannedPicker: $("canned-picker"), closeButton: $("close-button"), resolutionSelect: $("resolution-select"),
  transferButton: $("transfer-button"), transferDialog: $("transfer-dialog"), transferForm: $("transfer-form"),
  transferTarget: $("transfer-target"), transferNote: $("transfer-note"), transferError: $("transfer-error"),
  transferCancel: $("transfer-cancel"),
};

/** The colleagues to transfer to and the canned responses, for the signed-in agent. */
export async function loadTeamAndCanned() {
  try {
    const [team, canned] = await Promise.all([session.call("/api/agents"), session.call("/api/canned-responses")]);
    state.agents = team?.agents || [];
    state.canned = canned?.canned_responses || [];
    renderOpen();
  } catch (err) {
    if (signedIn()) toast(err.message, "error");
  }
}

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
    els.closeButton.title = closable ? "" : "배정된 상담원만 종료할 수 있습니다 / Only the assigned agent can close";
  }
  updateComposer();
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

function setReplyError(message) {
  els.replyError.textContent = message || "";
}

/** Keep what was typed for the conversation left; bring back the next one's draft. */
export function swapDraft(previousId, nextId) {
  if (previousId !== undefined) state.drafts.set(String(previousId), els.replyInput.value);
  els.replyInput.value = state.drafts.get(String(nextId)) || "";
  setReplyError("");
}

export function clearComposer() {
  els.replyInput.value = "";
}

// ------------------------------------------------------------------ canned responses

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

// ------------------------------------------------------------------ reply and note

async function sendNote(id, text) {
  const note = await session.call(`/api/handoffs/${encodeURIComponent(id)}/notes`, {method: "POST", body: {text}});
  if (isOpen(id) && note?.id !== undefined) addMessages([note]);
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
  try {
    if (els.noteToggle.checked) {
      await sendNote(id, text);
      return;
    }
    const message = await session.call(`/api/handoffs/${encodeURIComponent(id)}/messages`, {method: "POST", body: {text}});
    if (isOpen(id) && message?.id !== undefined) addMessages([message]);
  } catch (err) {
    if (!signedIn()) return;
    if (err.status === 502) {
      // Stored with delivery "failed": it appears in the thread, with a Retry
      // button unless sending again cannot help (then with what to do instead).
      if (isOpen(id)) {
        if (err.code === "delivery_failed" && err.body?.permanent) {
          const [ko, en] = deliveryFailureLabel(err.body.reason);
          setReplyError(`전달되지 않았습니다: ${ko} / Not delivered: ${en}`);
        } else {
          setReplyError(`${err.message} — 다시 보내기를 누르세요 / use Retry`);
        }
        loadConversation(id);
      }
    } else {
      if (isOpen(id)) {
        if (!els.replyInput.value) els.replyInput.value = text;
        setReplyError(err.message);
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
  if (!window.confirm(CLOSE_CONFIRM)) return;
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
    toast(`상담을 종료했습니다 / Conversation #${id} closed`);
    refreshQueue();
  } catch (err) {
    if (!signedIn()) return;
    toast(err.message, "error", 7000);
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
  // A supervisor who was told the colleague is full and submits again means it.
  if (kind === "agent" && overrideArmedFor === els.transferTarget.value) body.override_capacity = true;
  try {
    const handoff = await session.call(`/api/handoffs/${encodeURIComponent(open.id)}/transfer`, {method: "POST", body});
    els.transferDialog.close();
    upsertHandoff(handoff);
    toast(`이관했습니다 / Transferred #${open.id}`);
    loadConversation(open.id);
    loadTeamAndCanned();
  } catch (err) {
    if (!signedIn()) return;
    if (err.code === "at_capacity") {
      const load = `${err.body?.load ?? "?"}/${err.body?.capacity ?? "?"}`;
      if (isSupervisor()) {
        overrideArmedFor = els.transferTarget.value;
        els.transferError.textContent =
          `상담 한도에 도달한 상담원입니다 (${load}). 그래도 배정하려면 다시 이관을 누르세요 / ` +
          `This agent is at capacity (${load}). Press Transfer again to assign anyway.`;
      } else {
        els.transferError.textContent =
          `상담 한도에 도달한 상담원입니다 (${load}). 다른 상담원이나 대기열을 고르세요 / ` +
          `This agent is at capacity (${load}). Choose someone else or a queue.`;
      }
      return;
    }
    els.transferError.textContent = err.message;
  }
}

export function wireComposer() {
  els.closeButton.addEventListener("click", closeHandoff);
  els.transferButton.addEventListener("click", openTransfer);
  els.transferForm.addEventListener("submit", submitTransfer);
  els.transferCancel.addEventListener("click", () => els.transferDialog.close());
  els.cannedPicker.addEventListener("change", useCanned);
  els.noteToggle.addEventListener("change", updateComposer);
  submitOnEnter(els.replyForm, els.replyInput, sendReply);
  els.replyInput.addEventListener("input", () => {
    setReplyError("");
    updateComposer();
  });
}
