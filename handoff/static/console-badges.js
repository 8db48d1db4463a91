// Badges the console puts on a handoff: its status, and how it was routed (skill,
// priority, a customer waiting too long for a reply).

import {h} from "./dom.js";
import {fullTime, priorityLabel, skillLabel, statusLabel} from "./format.js";

export function statusBadge(status) {
  const [ko, en] = statusLabel(status);
  const cls = {queued: "badge-warn", assigned: "badge-info", resolved: "badge-ok"}[status] || "";
  return h("span", {class: `badge ${cls}`, title: en, "data-status": status}, ko, " ", h("span", {lang: "en"}, en));
}

export function routingBadges(handoff) {
  const [skillKo, skillEn] = skillLabel(handoff.skill);
  const [priorityKo, priorityEn] = priorityLabel(handoff.priority);
  return [
    handoff.skill ? h("span", {class: "badge badge-skill", "data-testid": "skill-badge",
      "data-skill": handoff.skill, title: `${skillKo} / ${skillEn}`}, skillKo) : null,
    handoff.priority && handoff.priority !== "normal"
      ? h("span", {class: "badge badge-priority", "data-testid": "priority-badge",
        "data-priority": handoff.priority, title: `${priorityKo} / ${priorityEn}`}, priorityKo)
      : null,
    handoff.flagged_at
      ? h("span", {class: "badge badge-danger", "data-testid": "flagged-marker",
        title: `답장 지연 / Waiting for a reply since ${fullTime(handoff.flagged_at)}`}, "⚑ 응답 지연")
      : null,
  ];
}
