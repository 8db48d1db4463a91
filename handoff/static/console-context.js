// The context panel: what the bot knew when it handed off (reason and routing, the
// customer's verified identity, summary, emotion, what the bot looked up, earlier
// transfers, intent, entities, slots), and its drawer on narrow screens.

import {agentName, channelName, customerName, statusBadge} from "./console-badges.js";
import {state} from "./console-state.js";
import {h, replace} from "./dom.js";
import {clock, fullTime, percent, valueText} from "./format.js";
import {label, language, t} from "./labels.js";

const $ = (id) => document.getElementById(id);
const els = {
  appView: $("app-view"), context: $("context-body"), contextToggle: $("context-toggle"),
  contextClose: $("context-close"),
};

/** Show the open conversation's context, or the placeholder when there is none yet. */
export function drawContext() {
  const open = state.open;
  if (open?.context) renderContext(open.handoff || {id: open.id}, open.context, open.transfers || []);
  else renderContextPlaceholder();
}

function row(label, ...value) {
  return h("div", {class: "kv"}, h("dt", {}, label), h("dd", {}, ...value));
}

/** Handoff facts, summary, identity, emotion, lookups, transfers, intent, entities, slots. */
function renderContext(handoff, context, transfers) {
  const ctx = context && typeof context === "object" ? context : {};
  const reason = handoff.reason ?? ctx.reason;
  const intent = ctx.intent && typeof ctx.intent === "object" ? ctx.intent
    : ctx.intent ? {name: ctx.intent} : null;
  const entities = Array.isArray(ctx.entities) ? ctx.entities : [];
  const slots = ctx.slots && typeof ctx.slots === "object" ? Object.entries(ctx.slots) : [];
  const filled = slots.filter(([, v]) => v !== null && v !== undefined && v !== "" &&
    !(Array.isArray(v) && !v.length));

  replace(els.context,
    h("section", {class: "ctx-section", "data-section": "handoff"},
      h("h3", {}, t("handoff")),
      h("dl", {},
        row(t("reason"), h("span", {class: "ctx-reason", "data-testid": "context-reason"}, label("reason", reason)),
          reason ? h("code", {}, reason) : null),
        handoff.trigger ? row(t("trigger"), label("trigger", handoff.trigger)) : null,
        row(t("status"), handoff.status ? statusBadge(handoff.status) : "–"),
        row(t("customer"), customerName(handoff)),
        row(t("channel"), channelName(handoff)),
        row(t("language"), label("language", handoff.language ?? ctx.language)),
        row(t("conversation_id"), h("code", {}, valueText(handoff.conversation))),
        row(t("requested"), fullTime(handoff.created_at) || "–"),
        handoff.assigned_at ? row(t("assigned"), fullTime(handoff.assigned_at)) : null,
        handoff.assigned_agent_id ? row(t("agent"),
          agentName(handoff.assigned_agent_id, handoff.assigned_agent_name)) : null,
        handoff.resolved_at ? row(t("resolved"), fullTime(handoff.resolved_at)) : null,
        handoff.queue_position ? row(t("queue_position"), t("position", {n: handoff.queue_position})) : null,
        handoff.skill ? row(t("skill"), label("skill", handoff.skill)) : null,
        handoff.priority ? row(t("priority"), label("priority", handoff.priority)) : null,
        handoff.mode && handoff.mode !== "queue" ? row(t("mode"), label("mode", handoff.mode)) : null,
        handoff.resolution ? row(t("resolution"), label("resolution", handoff.resolution)) : null,
        ctx.callback ? row(t("callback"), valueText(ctx.callback.phone_number),
          ctx.callback.preferred_time ? ` · ${valueText(ctx.callback.preferred_time)}` : "") : null,
        ctx.ticket ? row(t("ticket"), valueText(ctx.ticket.description)) : null)),

    summarySection(ctx.summary),
    identitySection(ctx.verified_identity),
    emotionSection(ctx.emotion),
    lookupsSection(ctx.lookups),
    transfersSection(transfers),

    h("section", {class: "ctx-section", "data-section": "intent"},
      h("h3", {}, t("intent")),
      intent
        ? h("div", {class: "intent"},
          h("code", {class: "intent-name"}, valueText(intent.name)),
          intent.confidence !== undefined && intent.confidence !== null
            ? h("span", {class: "intent-confidence"},
              h("span", {class: "meter", "aria-hidden": "true"},
                h("span", {class: "meter-fill", style: `width:${Math.max(0, Math.min(100, Number(intent.confidence) * 100)) || 0}%`})),
              percent(intent.confidence))
            : null)
        : h("p", {class: "ctx-empty"}, t("none"))),

    h("section", {class: "ctx-section", "data-section": "entities"},
      h("h3", {}, t("entities"), h("span", {class: "ctx-count"}, entities.length)),
      entities.length
        ? h("dl", {}, entities.map((e) => row(
          h("code", {}, valueText(e?.entity ?? "?")),
          valueText(e?.value),
          e?.role ? h("span", {class: "ctx-sub"}, ` (${valueText(e.role)})`) : null)))
        : h("p", {class: "ctx-empty"}, t("none"))),

    h("section", {class: "ctx-section", "data-section": "slots", "data-testid": "context-slots"},
      h("h3", {}, t("slots"), h("span", {class: "ctx-count"}, filled.length)),
      filled.length
        ? h("dl", {}, filled.map(([key, value]) => row(
          h("span", {title: key, "data-slot": key}, label("slot", key)), valueText(value))))
        : h("p", {class: "ctx-empty"}, t("no_filled_slots")),
      slots.length > filled.length
        ? h("p", {class: "ctx-sub"}, t("empty_slots", {count: slots.length - filled.length}))
        : null));
}

function summarySection(summary) {
  if (!summary || typeof summary !== "object") return null;
  const text = summary[language()] || summary.ko || summary.en;
  if (!text) return null;
  return h("section", {class: "ctx-section", "data-section": "summary", "data-testid": "context-summary"},
    h("h3", {}, t("summary")), h("p", {class: "ctx-summary", lang: summary[language()] ? language() : null},
      valueText(text)));
}

function identitySection(identity) {
  return h("section", {class: "ctx-section", "data-section": "identity", "data-testid": "context-identity"},
    h("h3", {}, t("verified_identity")),
    identity && typeof identity === "object"
      ? h("dl", {},
        row(t("customer_number"), h("code", {}, valueText(identity.customer_id))),
        identity.name ? row(t("name"), valueText(identity.name)) : null,
        identity.phone_number ? row(t("phone"), valueText(identity.phone_number)) : null,
        identity.verified_at ? row(t("verified_at"), fullTime(identity.verified_at)) : null)
      : h("p", {class: "ctx-empty"}, t("not_verified")));
}

const EMOTIONS = ["anger", "frustration", "distress"];

function emotionSection(emotion) {
  if (!emotion || typeof emotion !== "object" || !emotion.scores) return null;
  const history = Array.isArray(emotion.history) ? emotion.history.slice(-24) : [];
  return h("section", {class: "ctx-section", "data-section": "emotion", "data-testid": "context-emotion"},
    h("h3", {}, t("emotion")),
    h("dl", {}, EMOTIONS.map((key) => {
      const score = Number(emotion.scores[key] ?? 0);
      return row(label("emotion", key), h("span", {class: "intent-confidence"},
        h("span", {class: "meter", "aria-hidden": "true"},
          h("span", {class: `meter-fill emotion-${key}`, style: `width:${Math.max(0, Math.min(100, score * 100)) || 0}%`})),
        percent(score)));
    })),
    history.length
      ? h("div", {class: "emotion-timeline", "data-testid": "emotion-timeline", title: t("emotion_over_time")},
        history.map((point) => h("span", {class: "emotion-step", title: fullTime(point.timestamp)},
          EMOTIONS.map((key) => h("span", {
            class: `emotion-bar emotion-${key}`,
            style: `height:${Math.max(2, Math.min(100, Number(point[key] ?? 0) * 100)) || 2}%`,
          })))))
      : null);
}

function lookupsSection(lookups) {
  if (!Array.isArray(lookups) || !lookups.length) return null;
  return h("section", {class: "ctx-section", "data-section": "lookups", "data-testid": "context-lookups"},
    h("h3", {}, t("lookups"), h("span", {class: "ctx-count"}, lookups.length)),
    h("dl", {}, lookups.map((lookup) => row(label("lookup", lookup.kind), valueText(lookup.summary)))));
}

function transfersSection(transfers) {
  if (!transfers.length) return null;
  return h("section", {class: "ctx-section", "data-section": "transfers"},
    h("h3", {}, t("transfers")),
    h("dl", {}, transfers.map((transfer) => row(
      transfer.to_skill
        ? t("to_queue", {queue: label("skill", transfer.to_skill)})
        : agentName(transfer.to_agent_id, transfer.to_agent_name),
      valueText(transfer.note),
      h("span", {class: "ctx-sub"}, ` · ${transfer.from_agent_id
        ? agentName(transfer.from_agent_id, transfer.from_agent_name) : ""} ${clock(transfer.created_at)}`)))));
}

/** Empty state of the context panel. */
function renderContextPlaceholder() {
  replace(els.context, h("div", {class: "placeholder"},
    h("p", {class: "placeholder-title"}, t("details")),
    h("p", {}, t("details_placeholder"))));
}

function showContextDrawer(show) {
  els.appView.dataset.context = show ? "open" : "";
  els.contextToggle.setAttribute("aria-expanded", String(show));
}

export function wireContext() {
  els.contextToggle.addEventListener("click", () => showContextDrawer(els.appView.dataset.context !== "open"));
  els.contextClose.addEventListener("click", () => {
    showContextDrawer(false);
    els.contextToggle.focus();
  });
}
