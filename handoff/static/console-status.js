// The agent's own status (online / away / offline), load against capacity, and the
// language the console speaks to them, in the top bar.

import {session, signedIn, state} from "./console-state.js";
import {toast} from "./console-toasts.js";
import {errorText, label, t} from "./labels.js";

const ICONS = {online: "●", away: "◐", offline: "○"};
const els = {
  status: document.getElementById("agent-status"),
  capacity: document.getElementById("agent-capacity"),
  language: document.getElementById("agent-language"),
};
let refreshTimer = null;
let onLanguage = () => {};

export async function loadProfile() {
  try {
    const profile = await session.call("/api/agents/me");
    state.profile = profile;
    drawProfile();
    // Chosen in another tab or by a supervisor since this sign-in.
    if (profile?.language && profile.language !== session.agent?.language) onLanguage(profile.language);
  } catch (err) {
    if (signedIn()) toast(errorText(err), "error");
  }
}

/** Load again shortly: one refresh for a burst of live frames. */
export function scheduleProfileRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(loadProfile, 300);
}

export function drawProfile() {
  for (const option of els.status.options) {
    option.textContent = `${ICONS[option.value] || ""} ${label("agent_status", option.value)}`;
  }
  els.language.value = session.agent?.language || "ko";
  const profile = state.profile;
  if (!profile) return;
  els.status.value = profile.status;
  els.status.dataset.status = profile.status;
  els.capacity.textContent = `${profile.load} / ${profile.capacity}`;
  els.capacity.dataset.full = profile.load >= profile.capacity ? "true" : "false";
  els.capacity.title = t("capacity_title", {
    load: profile.load,
    capacity: profile.capacity,
    skills: (profile.skills || []).map((skill) => label("skill", skill)).join(", "),
  });
}

async function changeStatus() {
  const status = els.status.value;
  try {
    state.profile = await session.call("/api/agents/me/status", {method: "PUT", body: {status}});
    drawProfile();
  } catch (err) {
    if (!signedIn()) return;
    toast(errorText(err), "error");
    drawProfile();
  }
}

async function changeLanguage() {
  const language = els.language.value;
  try {
    const profile = await session.call("/api/agents/me", {method: "PATCH", body: {language}});
    state.profile = profile;
    onLanguage(profile.language);
  } catch (err) {
    if (!signedIn()) return;
    toast(errorText(err), "error");
    drawProfile();
  }
}

/** `languageChanged(code)` redraws the console in the agent's new language. */
export function wireStatus(languageChanged) {
  onLanguage = languageChanged;
  els.status.addEventListener("change", changeStatus);
  els.language.addEventListener("change", changeLanguage);
}
