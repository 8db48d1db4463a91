// Agent console: wires its parts together — the queue (console-queue.js), the open
// conversation (console-conversation.js), its context (console-context.js), the
// composer (console-composer.js), the agent's status (console-status.js) and the
// canned responses supervisors keep (console-canned.js) — with the sign-in
// (session.js), the live feed (live.js) and the agent's language (labels.js).
// Talks to the service per docs/api.md.

import {drawCannedManager, wireCanned} from "./console-canned.js";
import {
  agentChanged, clearComposer, loadTeamAndCanned, scheduleTeamRefresh, transferOpen, wireComposer,
} from "./console-composer.js";
import {wireContext} from "./console-context.js";
import {forgetFiles} from "./console-files.js";
import {
  addMessages, closeConversation, handoffChanged, idFromHash, loadConversation, renderOpen, select,
  wireConversation,
} from "./console-conversation.js";
import {
  countUnread, drawQueue, handoffCreated, handoffFlagged, handoffUpdated, refreshQueue, scheduleQueueRefresh,
  startQueue, stopQueue, updateTitle, wireQueue,
} from "./console-queue.js";
import {isOpen, me, resetState, sameId, session, signedIn, state} from "./console-state.js";
import {drawProfile, loadProfile, scheduleProfileRefresh, wireStatus} from "./console-status.js";
import {clearToasts} from "./console-toasts.js";
import {applyLabels, label, setLanguage, t} from "./labels.js";
import {openLive} from "./live.js";

const $ = (id) => document.getElementById(id);
const els = {liveStatus: $("live-status"), agentName: $("agent-name")};

const LIVE_WORDS = {connecting: "live_connecting", connected: "live_connected", reconnecting: "live_reconnecting"};

let live = null;
let pollTimer = null;
let liveState = "connecting";

function startConsole() {
  speak(me().language);
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
  forgetFiles();
  clearToasts();
  closeConversation();
  updateTitle();
  drawCannedManager();
  // The sign-in card speaks both languages; so does the page for whoever is next.
  setLanguage("ko");
}

// ------------------------------------------------------------------ language

/** Draw the whole console in the agent's language. */
function speak(language) {
  setLanguage(language);
  applyLabels(document.getElementById("app-view"));
  for (const dialog of document.querySelectorAll("dialog")) applyLabels(dialog);
  const agent = me();
  els.agentName.textContent = agent.display_name || agent.username || "";
  els.agentName.title = `${agent.username ?? ""}${agent.role ? ` · ${label("staff_role", agent.role)}` : ""}`;
  drawLiveStatus();
  drawProfile();
  drawCannedManager();
  drawQueue();
  renderOpen();
}

function languageChanged(language) {
  session.updateAgent({language});
  speak(language);
}

// ------------------------------------------------------------------ live feed

function drawLiveStatus() {
  els.liveStatus.dataset.state = liveState;
  els.liveStatus.textContent = t(LIVE_WORDS[liveState] || "live_connecting");
  els.liveStatus.title = t(liveState === "connected" ? "live_connected_title" : "live_down_title");
}

function onLiveState(newState, {reconnected} = {}) {
  liveState = newState;
  drawLiveStatus();
  if (newState === "connected") {
    clearInterval(pollTimer);
    pollTimer = null;
    // Changes made before the feed was ready are not pushed: catch up on them.
    refreshQueue();
    loadTeamAndCanned();
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
      // Someone's load changed: the transfer dialog shows loads.
      if (transferOpen()) scheduleTeamRefresh();
      break;
    case "agent.updated":
      if (frame.agent) {
        agentChanged(frame.agent);
        if (sameId(frame.agent.id, me()?.id)) scheduleProfileRefresh();
      }
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
wireCanned();
wireStatus(languageChanged);
session.start({onSignIn: startConsole, onSignOut: stopConsole});
