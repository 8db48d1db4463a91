// The agent's own status (online, away, offline) and load against capacity, in the top bar.

import {session, signedIn, state} from "./console-state.js";
import {toast} from "./console-toasts.js";

const els = {status: document.getElementById("agent-status"), capacity: document.getElementById("agent-capacity")};
let refreshTimer = null;

export async function loadProfile() {
  try {
    state.profile = await session.call("/api/agents/me");
    drawProfile();
  } catch (err) {
    if (signedIn()) toast(err.message, "error");
  }
}

/** Load again shortly: one refresh for a burst of live frames. */
export function scheduleProfileRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(loadProfile, 300);
}

function drawProfile() {
  const profile = state.profile;
  if (!profile) return;
  els.status.value = profile.status;
  els.status.dataset.status = profile.status;
  els.capacity.textContent = `${profile.load} / ${profile.capacity}`;
  els.capacity.title = `진행 중 ${profile.load} · 최대 ${profile.capacity} / ` +
    `${profile.load} of ${profile.capacity} chats · ${(profile.skills || []).join(", ")}`;
}

async function changeStatus() {
  const status = els.status.value;
  try {
    state.profile = await session.call("/api/agents/me/status", {method: "PUT", body: {status}});
    drawProfile();
  } catch (err) {
    if (!signedIn()) return;
    toast(err.message, "error");
    drawProfile();
  }
}

export function wireStatus() {
  els.status.addEventListener("change", changeStatus);
}
