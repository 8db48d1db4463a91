// Agent console: wires its parts together — the queue (console-queue.js), the open
// conversation (console-conversation.js), its context (console-context.js), the
// composer (console-composer.js) and the agent's status (console-status.js) — with the
// sign-in (session.js) and the live feed (live.js). Talks to the service per docs/api.md.

import {clearComposer, loadTeamAndCanned, wireComposer} from "./console-composer.js";
import {wireContext} from "./console-context.js";
import {
  addMessages, closeConversation, handoffChanged, idFromHash, loadConversation, renderOpen, select,
  wireConversation,
} from "./console-conversation.js";
import {
  countUnread, handoffCreated, handoffFlagged, handoffUpdated, refreshQueue, scheduleQueueRefresh,
  startQueue, stopQueue, updateTitle, wireQueue,
} from "./console-queue.js";
import {isOpen, me, resetState, session, signedIn, state} from "./console-state.js";
import {loadProfile, scheduleProfileRefresh, wireStatus} from "./console-status.js";
import {clearToasts} from "./console-toasts.js";
import {openLive} from "./live.js";

const $ = (id) => document.getElementById(id);
const els = {liveStatus: $("live-status"), agentName: $("agent-name")};

let live = null;
let pollTimer = null;

function startConsole() {
  const agent = me();
  els.agentName.textContent = agent.display_name || agent.username || "";
  els.agentName.title = `${agent.username ?? ""}${agent.role ? ` · ${agent.role}` : ""}`;
  live = openLive({
    token: session.auth.token,
    onEvent: onLiveEvent,
    onState: onLiveState,
    onUnauthorized: session.expire,
  });
  startQueue();
  loadProfile();
  loadTeamAndCanned();
  const id = idFromHash();
  if (id) select(id);
  else renderOpen();
}

function stopConsole() {
  live?.close();
  live = null;
  clearInterval(pollTimer);
  pollTimer = null;
  stopQueue();
  resetState();
  clearComposer();
  clearToasts();
  closeConversation();
  updateTitle();
}

// ------------------------------------------------------------------ live feed

const LIVE_TEXT = {
  connecting: "연결 중 / Connecting",
  connected: "실시간 / Live",
  reconnecting: "다시 연결 중 / Reconnecting",
};

function onLiveState(liveState, {reconnected} = {}) {
  els.liveStatus.dataset.state = liveState;
  els.liveStatus.textContent = LIVE_TEXT[liveState] || liveState;
  els.liveStatus.title = liveState === "connected"
    ? "실시간 업데이트 중 / Receiving live updates"
    : "실시간 연결이 끊겨 주기적으로 새로고침합니다 / Live feed down, refreshing periodically";
  if (liveState === "connected") {
    clearInterval(pollTimer);
    pollTimer = null;
    // Changes made before the feed was ready are not pushed: catch up on them.
    refreshQueue();
    if (reconnected && state.open) loadConversation(state.open.id);
  } else if (!pollTimer && signedIn()) {
    pollTimer = setInterval(refreshQueue, 20000);
  }
}

function onLiveEvent(frame) {
  if (!signedIn()) return;
  switch (frame.type) {
    case "handoff.created":
      if (frame.handoff) handoffCreated(frame.handoff);
      scheduleQueueRefresh();
      break;
    case "handoff.flagged":
      if (frame.handoff) handoffFlagged(frame.handoff);
      break;
    case "handoff.updated":
      if (frame.handoff) {
        handoffUpdated(frame.handoff);
        handoffChanged(frame.handoff);
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
  if (isOpen(handoffId)) addMessages([message]);
  else if (message.role !== "agent") countUnread(handoffId); // someone's reply elsewhere is not news to me
}

wireQueue();
wireConversation();
wireContext();
wireComposer();
wireStatus();
session.start({onSignIn: startConsole, onSignOut: stopConsole});
