// The context panel: what the bot knew when it handed off (reason and routing, the
// customer's verified identity, summary, emotion, what the bot looked up, earlier
// transfers, intent, entities, slots), and its drawer on narrow screens.

import {statusBadge} from "./console-badges.js";
import {state} from "./console-state.js";
import {bi, h, replace} from "./dom.js";
import {
  channelLabel, clock, fullTime, languageLabel, percent, priorityLabel, reasonLabel, resolutionLabel,
  skillLabel, triggerLabel, valueText,
} from "./format.js";

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
  const [reasonKo, reasonEn] = reasonLabel(reason);
  const intent = ctx.intent && typeof ctx.intent === "object" ? ctx.intent
    : ctx.intent ? {name: ctx.intent} : null;
  const entities = Array.isArray(ctx.entities) ? ctx.entities : [];
  const slots = ctx.slots && typeof ctx.slots === "object" ? Object.entries(ctx.slots) : [];
  const filled = slots.filter(([, v]) => v !== null && v !== undefined && v !== "" &&
    !(Array.isArray(v) && !v.length));

  replace(els.context,
    h("section", {class: "ctx-section", "data-section": "handoff"},
      h("h3", {}, bi("상담 정보", "Handoff")),
      h("dl", {},
        row(bi("사유", "Reason"), h("span", {class: "ctx-reason"}, reasonKo,
          reasonEn !== reasonKo ? ` / ${reasonEn}` : ""), reason ? h("code", {}, reason) : null),
        row(bi("상태", "Status"), handoff.status ? statusBadge(handoff.status) : "–"),
        row(bi("채널", "Channel"), channelLabel(handoff.channel ?? ctx.channel)),
        row(bi("언어", "Language"), languageLabel(handoff.language ?? ctx.language)),
        row(bi("대화 ID", "Conversation"), h("code", {}, valueText(handoff.conversation))),
        row(bi("요청", "Requested"), fullTime(handoff.created_at) || "–"),
        handoff.assigned_at ? row(bi("배정", "Assigned"), fullTime(handoff.assigned_at)) : null,
        handoff.resolved_at ? row(bi("종료", "Resolved"), fullTime(handoff.resolved_at)) : null,
        handoff.queue_position ? row(bi("대기 순번", "Position"), `#${handoff.queue_position}`) : null,
        handoff.skill ? row(bi("분야", "Skill"), skillLabel(handoff.skill).join(" / ")) : null,
        handoff.priority ? row(bi("우선순위", "Priority"), priorityLabel(handoff.priority).join(" / ")) : null,
        handoff.trigger ? row(bi("계기", "Trigger"), triggerLabel(handoff.trigger).join(" / ")) : null,
        handoff.resolution ? row(bi("결과", "Resolution"), resolutionLabel(handoff.resolution).join(" / ")) : null,
        ctx.callback ? row(bi("콜백", "Callback"), valueText(ctx.callback.phone_number),
          ctx.callback.preferred_time ? ` · ${valueText(ctx.callback.preferred_time)}` : "") : null,
        ctx.ticket ? row(bi("티켓", "Ticket"), valueText(ctx.ticket.description)) : null)),

    summarySection(ctx.summary),
    identitySection(ctx.verified_identity),
    emotionSection(ctx.emotion),
    lookupsSection(ctx.lookups),
    transfersSection(transfers),

    h("section", {class: "ctx-section", "data-section": "intent"},
      h("h3", {}, bi("의도", "Intent")),
      intent
        ? h("div", {class: "intent"},
          h("code", {class: "intent-name"}, valueText(intent.name)),
          intent.confidence !== undefined && intent.confidence !== null
            ? h("span", {class: "intent-confidence"},
              h("span", {class: "meter", "aria-hidden": "true"},
                h("span", {class: "meter-fill", style: `width:${Math.max(0, Math.min(100, Number(intent.confidence) * 100)) || 0}%`})),
              percent(intent.confidence))
            : null)
        : h("p", {class: "ctx-empty"}, "없음 / None")),

    h("section", {class: "ctx-section", "data-section": "entities"},
      h("h3", {}, bi("엔티티", "Entities"), h("span", {class: "ctx-count"}, entities.length)),
      entities.length
        ? h("dl", {}, entities.map((e) => row(
          h("code", {}, valueText(e?.entity ?? "?")),
          valueText(e?.value),
          e?.role ? h("span", {class: "ctx-sub"}, ` (${valueText(e.role)})`) : null)))
        : h("p", {class: "ctx-empty"}, "없음 / None")),

    h("section", {class: "ctx-section", "data-section": "slots"},
      h("h3", {}, bi("슬롯", "Slots"), h("span", {class: "ctx-count"}, filled.length)),
      filled.length
        ? h("dl", {}, filled.map(([key, value]) => row(h("code", {}, key), valueText(value))))
        : h("p", {class: "ctx-empty"}, "채워진 슬롯 없음 / No filled slots"),
      slots.length > filled.length
        ? h("p", {class: "ctx-sub"}, `빈 슬롯 ${slots.length - filled.length}개 / ${slots.length - filled.length} empty`)
        : null));
}

function agentLanguage() {
  return (navigator.language || "ko").toLowerCase().startsWith("en") ? "en" : "ko";
}

function summarySection(summary) {
  if (!summary || typeof summary !== "object") return null;
  const language = agentLanguage();
  const text = summary[language] || summary.ko || summary.en;
  if (!text) return null;
  return h("section", {class: "ctx-section", "data-section": "summary", "data-testid": "context-summary"},
    h("h3", {}, bi("요약", "Summary")), h("p", {class: "ctx-summary", lang: language}, valueText(text)));
}

function identitySection(identity) {
  return h("section", {class: "ctx-section", "data-section": "identity", "data-testid": "context-identity"},
    h("h3", {}, bi("본인 확인", "Verified identity")),
    identity && typeof identity === "object"
      ? h("dl", {},
        row(bi("고객 번호", "Customer"), h("code", {}, valueText(identity.customer_id))),
        identity.name ? row(bi("이름", "Name"), valueText(identity.name)) : null,
        identity.phone_number ? row(bi("전화", "Phone"), valueText(identity.phone_number)) : null,
        identity.verified_at ? row(bi("확인 시각", "Verified"), fullTime(identity.verified_at)) : null)
      : h("p", {class: "ctx-empty"}, "확인되지 않음 / Not verified"));
}

const EMOTIONS = [["anger", "분노", "Anger"], ["frustration", "답답함", "Frustration"], ["distress", "불안", "Distress"]];

function emotionSection(emotion) {
  if (!emotion || typeof emotion !== "object" || !emotion.scores) return null;
  const history = Array.isArray(emotion.history) ? emotion.history.slice(-24) : [];
  return h("section", {class: "ctx-section", "data-section": "emotion", "data-testid": "context-emotion"},
    h("h3", {}, bi("감정", "Emotion")),
    h("dl", {}, EMOTIONS.map(([key, ko, en]) => {
      const score = Number(emotion.scores[key] ?? 0);
      return row(bi(ko, en), h("span", {class: "intent-confidence"},
        h("span", {class: "meter", "aria-hidden": "true"},
          h("span", {class: `meter-fill emotion-${key}`, style: `width:${Math.max(0, Math.min(100, score * 100)) || 0}%`})),
        percent(score)));
    })),
    history.length
      ? h("div", {class: "emotion-timeline", "data-testid": "emotion-timeline",
        title: "시간에 따른 감정 / Emotion over time"},
      history.map((point) => h("span", {class: "emotion-step", title: fullTime(point.timestamp)},
        EMOTIONS.map(([key]) => h("span", {
          class: `emotion-bar emotion-${key}`,
          style: `height:${Math.max(2, Math.min(100, Number(point[key] ?? 0) * 100)) || 2}%`,
        })))))
      : null);
}

function lookupsSection(lookups) {
  if (!Array.isArray(lookups) || !lookups.length) return null;
  return h("section", {class: "ctx-section", "data-section": "lookups", "data-testid": "context-lookups"},
    h("h3", {}, bi("봇이 조회한 정보", "Looked up by the bot"), h("span", {class: "ctx-count"}, lookups.length)),
    h("dl", {}, lookups.map((lookup) => row(h("code", {}, valueText(lookup.kind)), valueText(lookup.summary)))));
}

function transfersSection(transfers) {
  if (!transfers.length) return null;
  return h("section", {class: "ctx-section", "data-section": "transfers"},
    h("h3", {}, bi("이관 기록", "Transfers")),
    h("dl", {}, transfers.map((transfer) => row(
      transfer.to_skill ? skillLabel(transfer.to_skill)[0] : `상담원 / Agent #${transfer.to_agent_id}`,
      valueText(transfer.note), h("span", {class: "ctx-sub"}, ` · ${clock(transfer.created_at)}`)))));
}

/** Empty state of the context panel. */
function renderContextPlaceholder() {
  replace(els.context, h("div", {class: "placeholder"},
    h("p", {class: "placeholder-title"}, "고객 정보"),
    h("p", {lang: "en"}, "The bot's context for the selected conversation appears here.")));
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
