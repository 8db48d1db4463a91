// The queue panel: open handoffs grouped as mine, waiting and others', the offline
// worklist tab, claiming, new and changed handoffs as they arrive (highlighted, with
// a jump to them), what was assigned to me (the banner), and the unread counts
// (also in the page title).

import {agentName, channelName, customerName, routingBadges, statusBadge} from "./console-badges.js";
import {loadConversation, renderOpen, select} from "./console-conversation.js";
import {
  OPEN_STATUSES, isMine, isMineOffline, isOpen, isTakeable, sameId, session, signedIn, state,
} from "./console-state.js";
import {toast} from "./console-toasts.js";
import {h, replace} from "./dom.js";
import {fullTime, minutesSince, since} from "./format.js";
import {errorText, label, t} from "./labels.js";

const BASE_TITLE = document.title;
// A new handoff's notice, with its jump, stays a little longer than the others.
const ARRIVAL_TOAST_MS = 10000;

const $ = (id) => document.getElementById(id);
const els = {
  queue: $("queue"), queueCount: $("queue-count"), queueError: $("queue-error"), queueRefresh: $("queue-refresh"),
  tabQueue: $("tab-queue"), tabOffline: $("tab-offline"), offlineCount: $("offline-count"),
  banner: $("assigned-banner"), jump: $("queue-jump"),
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
  drawBanner();
  drawJump();
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
    forgetGone();
    updateTitle();
    drawQueue();
    const fresh = state.open && state.handoffs.find((x) => sameId(x.id, state.open.id));
    if (fresh && state.open.handoff) {
      state.open.handoff = {...state.open.handoff, ...fresh};
      renderOpen();
    }
  } catch (err) {
    if (!signedIn() || seq !== state.queueSeq) return;
    els.queueError.textContent = `${t("queue_load_failed")}: ${errorText(err)}`;
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
  forgetGone();
  drawQueue();
}

/** A handoff's one-line description: customer · reason. */
function describe(handoff) {
  return `${customerName(handoff)} · ${label("reason", handoff.reason)}`;
}

export function handoffCreated(handoff) {
  upsertHandoff(handoff);
  if (handoff.status !== "queued") return;
  state.fresh.add(String(handoff.id));
  drawQueue();
  toast(t("new_handoff", {who: describe(handoff)}), "info", ARRIVAL_TOAST_MS, {
    label: t("jump_to"), testid: "toast-jump", run: () => jumpTo(handoff.id),
  });
}

export function handoffFlagged(handoff) {
  upsertHandoff(handoff);
  toast(t("waiting_for_reply", {who: customerName(handoff)}), "error", 8000, {
    label: t("open"), run: () => select(handoff.id),
  });
}

export function handoffUpdated(handoff) {
  const before = state.handoffs.find((x) => sameId(x.id, handoff.id));
  // A claim of my own is announced by claim() itself; anything else that makes a
  // conversation mine (auto-assignment when I go online, a colleague's transfer)
  // goes in the banner until I open it.
  if (isMine(handoff) && !isMine(before) && !state.claiming.has(String(handoff.id))) {
    state.newlyAssigned.set(String(handoff.id), {...before, ...handoff});
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

/** Opening a handoff is looking at it: no longer new, no longer in the banner. */
export function seen(id) {
  const key = String(id);
  state.fresh.delete(key);
  state.jumpedTo.delete(key);
  state.newlyAssigned.delete(key);
}

/** Forget the arrivals and assignments that are no longer there to be seen. */
function forgetGone() {
  const present = new Set([...state.handoffs, ...state.offline].map((x) => String(x.id)));
  const stillQueued = new Set(state.handoffs.filter(isTakeable).map((x) => String(x.id)));
  for (const key of state.fresh) if (!stillQueued.has(key)) state.fresh.delete(key);
  for (const key of state.jumpedTo) if (!state.fresh.has(key)) state.jumpedTo.delete(key);
  for (const [key, handoff] of state.newlyAssigned) {
    const now = state.handoffs.find((x) => sameId(x.id, key));
    if (!present.has(key) || !isMine(now)) state.newlyAssigned.delete(key);
    else state.newlyAssigned.set(key, {...handoff, ...now});
  }
}

// ------------------------------------------------------------------ jumping to a handoff

/** Scroll the queue to a handoff's card and put the keyboard on it. The card stays
 * marked new until it is opened; the jump button no longer counts it. */
export function jumpTo(id) {
  if (state.tab !== "queue") showTab("queue");
  const item = els.queue.querySelector(`[data-handoff-id="${CSS.escape(String(id))}"]`);
  if (!item) return;
  if (state.fresh.has(String(id))) state.jumpedTo.add(String(id));
  item.scrollIntoView({block: "center"});
  item.querySelector('[data-action="select"]')?.focus({preventScroll: true});
  drawJump();
}

function drawJump() {
  const fresh = signedIn()
    ? state.handoffs.filter((x) => state.fresh.has(String(x.id)) && !state.jumpedTo.has(String(x.id)))
    : [];
  els.jump.hidden = !fresh.length;
  els.jump.textContent = fresh.length ? `↑ ${t("new_handoffs", {count: fresh.length})}` : "";
  els.jump.onclick = fresh.length ? () => jumpTo(fresh[0].id) : null;
}

// ------------------------------------------------------------------ what was assigned to me

function drawBanner() {
  const assigned = signedIn() ? [...state.newlyAssigned.values()] : [];
  els.banner.hidden = !assigned.length;
  if (!assigned.length) {
    els.banner.replaceChildren();
    return;
  }
  replace(els.banner,
    h("div", {class: "assigned-banner-head"},
      h("strong", {}, t("assigned_to_you", {count: assigned.length})),
      h("button", {
        type: "button", class: "btn btn-small btn-ghost", "data-testid": "assigned-dismiss",
        "aria-label": t("dismiss"), title: t("dismiss"),
        onclick: () => {
          state.newlyAssigned.clear();
          drawQueue();
        },
      }, "✕")),
    h("ul", {class: "assigned-list"}, assigned.map((handoff) => h("li", {},
      h("button", {
        type: "button", class: "link-btn", "data-testid": "assigned-item", "data-handoff-id": handoff.id,
        onclick: () => select(handoff.id),
      }, describe(handoff))))));
}

// ------------------------------------------------------------------ claim

export async function claim(id) {
  const key = String(id);
  if (state.claiming.has(key)) return;
  state.claiming.add(key);
  drawQueue();
  renderOpen();
  try {
    const handoff = await session.call(`/api/handoffs/${encodeURIComponent(id)}/claim`, {method: "POST"});
    upsertHandoff(handoff);
    toast(t("claimed", {who: customerName(handoff)}));
    select(handoff?.id ?? id);
  } catch (err) {
    if (!signedIn()) return;
    toast(errorText(err), "error", 7000);
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
  if (focusKey?.id) {
    const item = els.queue.querySelector(`[data-handoff-id="${CSS.escape(focusKey.id)}"]`);
    (item?.querySelector(`[data-action="${focusKey.action}"]`) || item?.querySelector("button"))?.focus();
  }
  drawBanner();
  drawJump();
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
    replace(els.queue, h("div", {class: "queue-empty"}, h("p", {}, t("queue_empty"))));
    return;
  }
  replace(els.queue,
    queueGroup("mine", t("group_mine"), mine),
    queueGroup("queued", t("group_waiting"), queued),
    queueGroup("others", t("group_others"), others));
}

function queueGroup(key, title, handoffs) {
  if (!handoffs.length && key === "others") return null;
  return h("section", {class: "queue-group", dataset: {group: key}},
    h("h3", {class: "queue-group-title"}, title, h("span", {class: "queue-group-count"}, handoffs.length)),
    handoffs.length
      ? h("ul", {class: "queue-list"}, handoffs.map(queueItem))
      : h("p", {class: "queue-group-empty"}, t(key === "mine" ? "none_assigned" : "nobody_waiting")));
}

function highlightOf(handoff) {
  const key = String(handoff.id);
  if (state.newlyAssigned.has(key)) return "assigned";
  return state.fresh.has(key) ? "new" : null;
}

function queueItem(handoff) {
  const unreadCount = state.unread.get(String(handoff.id)) || 0;
  const selected = sameId(handoff.id, state.open?.id ?? null);
  const highlight = highlightOf(handoff);
  return h("li", {
    class: "qi",
    "data-testid": "queue-item",
    "data-handoff-id": handoff.id,
    "data-status": handoff.status,
    "data-unread": unreadCount || null,
    "data-flagged": handoff.flagged_at ? "true" : null,
    "data-highlight": highlight,
    "aria-current": selected ? "true" : null,
  },
  h("button", {type: "button", class: "qi-main", "data-action": "select", onclick: () => select(handoff.id)},
    h("span", {class: "qi-top"},
      h("span", {class: "qi-customer", "data-testid": "queue-customer",
        "data-verified": handoff.customer_verified ? "true" : "false"}, customerName(handoff)),
      h("span", {
        class: "qi-wait",
        "data-since": handoff.created_at,
        "data-level": waitLevel(handoff),
        title: t("requested_at", {time: fullTime(handoff.created_at)}),
      }, since(handoff.created_at))),
    h("span", {class: "qi-reason", "data-testid": "queue-reason", title: handoff.reason || ""},
      highlight ? h("span", {class: "qi-tag", "data-testid": "highlight-tag"},
        t(highlight === "new" ? "tag_new" : "tag_assigned")) : null,
      label("reason", handoff.reason)),
    h("span", {class: "qi-meta"},
      statusBadge(handoff.status),
      ...routingBadges(handoff),
      h("span", {class: "badge", "data-testid": "channel-badge", "data-channel": handoff.channel_kind,
        title: t("channel")}, channelName(handoff)),
      h("span", {class: "badge", title: t("language")}, label("language", handoff.language)),
      handoff.queue_position
        ? h("span", {class: "badge", title: t("queue_position")}, t("position", {n: handoff.queue_position}))
        : null,
      unreadCount ? h("span", {class: "badge badge-danger qi-unread", "data-testid": "unread",
        title: t("unread")}, `● ${unreadCount}`) : null),
    handoff.status === "assigned" && !isMine(handoff)
      ? h("span", {class: "qi-owner", "data-testid": "queue-owner"},
        `${t("agent")}: ${agentName(handoff.assigned_agent_id, handoff.assigned_agent_name)}`)
      : null),
  isTakeable(handoff)
    ? h("button", {
      type: "button",
      class: "btn btn-small btn-primary qi-claim",
      "data-testid": "claim-button",
      "data-action": "claim",
      disabled: state.claiming.has(String(handoff.id)),
      onclick: () => claim(handoff.id),
    }, t("claim"))
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
