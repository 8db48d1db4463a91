// What the console's parts share: the sign-in, the handoffs on screen, the open
// conversation, and who may work on a handoff.

import {createSession} from "./session.js";

export const session = createSession();

export const OPEN_STATUSES = new Set(["queued", "assigned"]);

export const state = {
  handoffs: [], // open handoffs, as last listed
  offline: [], // the offline worklist, as last listed
  tab: "queue", // "queue" or "offline"
  unread: new Map(), // handoff id (string) -> count of customer messages not yet seen
  fresh: new Set(), // ids (strings) of handoffs that arrived while the console was open, not yet looked at
  jumpedTo: new Set(), // fresh ids the agent has jumped to: marked still, no longer counted in the jump button
  newlyAssigned: new Map(), // id (string) -> handoff given to me by someone else, not yet opened
  claiming: new Set(),
  open: null, // {id, handoff, context, transfers, messages: Map, loading, error}
  retried: new Set(), // failed message ids already resent
  retrying: new Set(),
  drafts: new Map(),
  sending: false,
  // The reply last sent that got no answer: {handoffId, text, clientId}.
  unansweredReply: null,
  closing: false,
  queueSeq: 0,
  openSeq: 0,
  profile: null, // my status, capacity and load
  agents: [],
  canned: [],
};

/** Forget what the signed-out agent had on screen. */
export function resetState() {
  Object.assign(state, {handoffs: [], open: null, sending: false, unansweredReply: null, closing: false});
  // Answers still on their way belong to the old sign-in: their sequence no longer matches.
  state.queueSeq += 1;
  state.openSeq += 1;
  for (const collection of [
    state.unread, state.fresh, state.jumpedTo, state.newlyAssigned, state.claiming, state.retried, state.retrying, state.drafts,
  ]) {
    collection.clear();
  }
}

export const me = () => session.agent;
export const signedIn = () => Boolean(session.auth);

export const sameId = (a, b) => a !== null && a !== undefined && String(a) === String(b);

/** Is this handoff the conversation on screen? */
export const isOpen = (id) => Boolean(state.open) && sameId(state.open.id, id);

/** Is this handoff assigned to the signed-in agent? */
export function isMine(handoff) {
  return handoff?.status === "assigned" && sameId(handoff.assigned_agent_id, me()?.id);
}

/** An offline callback or ticket the signed-in agent has taken from the worklist. */
export function isMineOffline(handoff) {
  return handoff?.status === "offline" && sameId(handoff.assigned_agent_id, me()?.id);
}

/** Queued, or an offline request nobody has taken yet. */
export function isTakeable(handoff) {
  return handoff?.status === "queued" || (handoff?.status === "offline" && !handoff.assigned_agent_id);
}

export const isSupervisor = () => me()?.role === "supervisor";

/** A colleague by id, from the team list, if known. */
export const colleague = (id) => state.agents.find((agent) => sameId(agent.id, id)) || null;

/** May I reply to, note or transfer this handoff? */
export function canWork(handoff) {
  return isMine(handoff) || (isSupervisor() && handoff?.status === "assigned");
}

export function canClose(handoff) {
  return canWork(handoff) || isMineOffline(handoff) ||
    Boolean(isSupervisor() && handoff?.status === "offline" && handoff.assigned_agent_id);
}
