// The queue panel: open handoffs grouped as mine, waiting and others', the offline
// worklist tab, claiming, new and changed handoffs as they arrive, and the unread
// counts (also in the page title).

import {statusBadge, routingBadges} from "./console-badges.js";
import {loadConversation, renderOpen, select} from "./console-conversation.js";
import {
  OPEN_STATUSES, isMine, isMineOffline, isOpen, isTakeable, sameId, session, signedIn, state,
} from "./console-state.js";
import {toast} from "./console-toasts.js";
import {bi, h, replace} from "./dom.js";
import {channelLabel, fullTime, languageLabel, minutesSince, reasonLabel, since} from "./format.js";

const ALREADY_TAKEN = "이미 다른 상담원이 맡은 상담입니다 / already taken by another agent";
const BASE_TITLE = document.title;

const $ = (id) => document.getElementById(id);
const els = {
  queue: $("queue"), queueCount: $("queue-count"), queueError: $("queue-error"), queueRefresh: $("queue-refresh"),
  tabQueue: $("tab-queue"), tabOffline: $("tab-offline"), offlineCount: $("offline-count"),
};

let refreshTimer = null;
let tickTimer = null;

// ------------------------------------------------------------------ loading and arrivals

export function startQueue() {
  tickTimer = setInterval(tickTimes, 30000);
  refreshQueue();
}

export function stopQueue() {
  clearTimeout(refreshTimer);
  clearInterval(tickTimer);
  refreshTimer = null;
  tickTimer = null;
  els.queue.replaceChildren();
}

export async function refreshQueue() {
  if (!signedIn()) return;
  const seq = ++state.queueSeq;
  try {
    const [data, offline] = await Promise.all([
      session.call("/api/handoffs"), session.call("/api/handoffs?status=offline"),
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
    if (!signedIn() || seq !== state.queueSeq) return;
    els.queueError.textContent = `대기열을 불러오지 못했습니다 / Could not load the queue: ${err.message}`;
  }
}

/** Refresh shortly: one load for a burst of live frames. */
export function scheduleQueueRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshQueue, 250);
}

/** Put a new or changed handoff in its list (or out of it, once it is closed). */
export function upsertHandoff(handoff) {
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

export function handoffCreated(handoff) {
  upsertHandoff(handoff);
  if (handoff.status === "queued") toast(`새 상담 요청 / New handoff #${handoff.id}`);
}

export function handoffFlagged(handoff) {
  upsertHandoff(handoff);
  toast(`답장이 늦어지고 있습니다 / Customer waiting for a reply: #${handoff.id}`, "error", 8000);
}

export function handoffUpdated(handoff) {
  const before = state.handoffs.find((x) => sameId(x.id, handoff.id));
  // A claim of my own is announced by claim() itself.
  if (isMine(handoff) && !isMine(before) && !state.claiming.has(String(handoff.id))) {
    toast(`새 상담이 배정되었습니다 / Assigned to you: #${handoff.id}`);
  }
  upsertHandoff(handoff);
}

/** A customer message in a conversation that is not the open one. */
export function countUnread(handoffId) {
  const key = String(handoffId);
  state.unread.set(key, (state.unread.get(key) || 0) + 1);
  updateTitle();
  drawQueue();
}

export function updateTitle() {
  let total = 0;
  for (const count of state.unread.values()) total += count;
  document.title = total ? `(${total}) ${BASE_TITLE}` : BASE_TITLE;
}

// ------------------------------------------------------------------ claim

function claimRefusal(err) {
  if (err.code === "at_capacity") {
    const load = `${err.body?.load ?? "?"}/${err.body?.capacity ?? "?"}`;
    return `상담 한도에 도달했습니다 (${load}) / You are at your capacity (${load})`;
  }
  return err.status === 409 ? ALREADY_TAKEN : err.message;
}

export async function claim(id) {
  const key = String(id);
  if (state.claiming.has(key)) return;
  state.claiming.add(key);
  drawQueue();
  renderOpen();
  try {
    const handoff = await session.call(`/api/handoffs/${encodeURIComponent(id)}/claim`, {method: "POST"});
    upsertHandoff(handoff);
    toast(`상담을 맡았습니다 / You claimed #${id}`);
    select(handoff?.id ?? id);
  } catch (err) {
    if (!signedIn()) return;
    toast(claimRefusal(err), "error", 7000);
    refreshQueue();
    if (isOpen(id)) loadConversation(id);
  } finally {
    state.claiming.delete(key);
    drawQueue();
    renderOpen();
  }
}

// ------------------------------------------------------------------ drawing

/** Re-render the queue, keeping keyboard focus on the same item's button. */
export function drawQueue() {
  if (!signedIn()) return;
  const focused = els.queue.contains(document.activeElement) ? document.activeElement : null;
  const focusKey = focused && {
    id: focused.closest("[data-handoff-id]")?.dataset.handoffId,
    action: focused.dataset.action,
  };
  const offlineTab = state.tab === "offline";
  els.tabQueue.setAttribute("aria-selected", String(!offlineTab));
  els.tabOffline.setAttribute("aria-selected", String(offlineTab));
  els.offlineCount.textContent = String(state.offline.filter((x) => !x.assigned_agent_id).length);
  renderQueue(offlineTab ? state.offline : state.handoffs);
  els.queueCount.textContent = String(state.handoffs.filter((x) => x.status === "queued").length);
  els.queueCount.title = "대기 중 / Waiting";
  if (focusKey?.id) {
    const item = els.queue.querySelector(`[data-handoff-id="${CSS.escape(focusKey.id)}"]`);
    (item?.querySelector(`[data-action="${focusKey.action}"]`) || item?.querySelector("button"))?.focus();
  }
}

/** The handoffs in three groups: mine, waiting, others'. */
function renderQueue(handoffs) {
  const mine = [];
  const queued = [];
  const others = [];
  for (const handoff of handoffs) {
    if (isTakeable(handoff)) queued.push(handoff);
    else if (isMine(handoff) || isMineOffline(handoff)) mine.push(handoff);
    else others.push(handoff);
  }
  queued.sort((a, b) => (a.queue_position ?? Infinity) - (b.queue_position ?? Infinity) ||
    String(a.created_at).localeCompare(String(b.created_at)));

  if (!handoffs.length) {
    replace(els.queue, h("div", {class: "queue-empty"},
      h("p", {}, "대기 중인 상담이 없습니다"), h("p", {lang: "en"}, "No open handoffs right now.")));
    return;
  }
  replace(els.queue,
    queueGroup("mine", bi("내 상담", "Mine"), mine),
    queueGroup("queued", bi("대기 중", "Waiting"), queued),
    queueGroup("others", bi("다른 상담원", "Other agents"), others));
}

function queueGroup(key, title, handoffs) {
  if (!handoffs.length && key === "others") return null;
  return h("section", {class: "queue-group", dataset: {group: key}},
    h("h3", {class: "queue-group-title"}, title, h("span", {class: "queue-group-count"}, handoffs.length)),
    handoffs.length
      ? h("ul", {class: "queue-list"}, handoffs.map(queueItem))
      : h("p", {class: "queue-group-empty"}, key === "mine"
        ? "맡은 상담이 없습니다 / None assigned to you"
        : "대기 중인 상담이 없습니다 / Nobody is waiting"));
}

function queueItem(handoff) {
  const [reasonKo, reasonEn] = reasonLabel(handoff.reason);
  const unreadCount = state.unread.get(String(handoff.id)) || 0;
  const selected = sameId(handoff.id, state.open?.id ?? null);
  return h("li", {
    class: "qi",
    "data-testid": "queue-item",
    "data-handoff-id": handoff.id,
    "data-status": handoff.status,
    "data-unread": unreadCount || null,
    "data-flagged": handoff.flagged_at ? "true" : null,
    "aria-current": selected ? "true" : null,
  },
  h("button", {type: "button", class: "qi-main", "data-action": "select", onclick: () => select(handoff.id)},
    h("span", {class: "qi-top"},
      h("span", {class: "qi-reason", title: handoff.reason || ""}, reasonKo,
        reasonEn !== reasonKo ? h("span", {class: "qi-reason-en", lang: "en"}, reasonEn) : null),
      h("span", {
        class: "qi-wait",
        "data-since": handoff.created_at,
        "data-level": waitLevel(handoff),
        title: `요청 시각 / Requested ${fullTime(handoff.created_at)}`,
      }, since(handoff.created_at))),
    h("span", {class: "qi-meta"},
      statusBadge(handoff.status),
      ...routingBadges(handoff),
      h("span", {class: "badge", title: "언어 / Language"}, languageLabel(handoff.language)),
      handoff.queue_position ? h("span", {class: "badge", title: "대기 순번 / Queue position"}, `#${handoff.queue_position}`) : null,
      unreadCount ? h("span", {class: "badge badge-danger qi-unread", "data-testid": "unread",
        title: "읽지 않은 메시지 / Unread messages"}, `● ${unreadCount}`) : null),
    h("span", {class: "qi-id"}, `#${handoff.id} · ${channelLabel(handoff.channel)} · ${handoff.conversation ?? ""}`),
    handoff.status === "assigned" && !isMine(handoff)
      ? h("span", {class: "qi-owner"}, `상담원 / Agent #${handoff.assigned_agent_id ?? "?"}`) : null),
  isTakeable(handoff)
    ? h("button", {
      type: "button",
      class: "btn btn-small btn-primary qi-claim",
      "data-testid": "claim-button",
      "data-action": "claim",
      disabled: state.claiming.has(String(handoff.id)),
      onclick: () => claim(handoff.id),
    }, "맡기 ", h("span", {lang: "en"}, "Claim"))
    : null);
}

function waitLevel(handoff) {
  if (handoff.status !== "queued") return "";
  const minutes = minutesSince(handoff.created_at);
  return minutes >= 15 ? "long" : minutes >= 5 ? "medium" : "";
}

/** Refresh every waiting time in the queue (they carry data-since). */
function tickTimes() {
  for (const el of els.queue.querySelectorAll("[data-since]")) {
    el.textContent = since(el.dataset.since);
    if (el.dataset.level !== undefined) {
      el.dataset.level = minutesSince(el.dataset.since) >= 15 ? "long"
        : minutesSince(el.dataset.since) >= 5 ? "medium" : "";
    }
  }
}

function showTab(tab) {
  state.tab = tab;
  drawQueue();
}

export function wireQueue() {
  els.queueRefresh.addEventListener("click", refreshQueue);
  els.tabQueue.addEventListener("click", () => showTab("queue"));
  els.tabOffline.addEventListener("click", () => showTab("offline"));
}
