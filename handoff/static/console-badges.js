// What the console shows of a handoff in several places: its status and routing
// badges (skill, priority, a customer waiting too long for a reply), and the names
// of its customer, channel and agent.

import {colleague, sameId, me} from "./console-state.js";
import {h} from "./dom.js";
import {fullTime} from "./format.js";
import {label, t} from "./labels.js";

export function statusBadge(status) {
  const cls = {queued: "badge-warn", assigned: "badge-info", resolved: "badge-ok"}[status] || "";
  return h("span", {class: `badge ${cls}`, "data-status": status}, label("status", status));
}

export function routingBadges(handoff) {
  return [
    handoff.skill ? h("span", {class: "badge badge-skill", "data-testid": "skill-badge",
      "data-skill": handoff.skill, title: t("skill")}, label("skill", handoff.skill)) : null,
    handoff.priority && handoff.priority !== "normal"
      ? h("span", {class: "badge badge-priority", "data-testid": "priority-badge",
        "data-priority": handoff.priority, title: t("priority")}, label("priority", handoff.priority))
      : null,
    handoff.flagged_at
      ? h("span", {class: "badge badge-danger", "data-testid": "flagged-marker",
        title: t("flagged_since", {time: fullTime(handoff.flagged_at)})}, `⚑ ${t("flagged")}`)
      : null,
  ];
}

/** The customer as staff see them: the verified name, a masked typed one, or who they are not. */
export function customerName(handoff) {
  if (handoff?.customer_name) return handoff.customer_name;
  return t(handoff?.customer_verified ? "verified_customer" : "unverified_customer");
}

export function channelName(handoff) {
  return label("channel", handoff?.channel_kind || "other");
}

/** A colleague's display name: from the service's answer, else the team list. */
export function agentName(agentId, name) {
  if (sameId(agentId, me()?.id)) return t("you_named", {name: me().display_name || me().username});
  return name || colleague(agentId)?.display_name || t("agent");
}
