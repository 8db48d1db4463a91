// DOM builders for the agent console: queue items, conversation thread, context panel.
// Pure rendering — no fetching, no state. Every customer- or bot-provided string is
// inserted as text (dom.js never uses innerHTML).

import {bi, h, replace} from "./dom.js";
import {
  channelLabel, clock, fullTime, languageLabel, minutesSince, percent, priorityLabel,
  reasonLabel, resolutionLabel, since, skillLabel, statusLabel, triggerLabel, valueText,
} from "./format.js";

export const sameId = (a, b) => a !== null && a !== undefined && String(a) === String(b);

/** Is this handoff assigned to the agent `me`? */
export function isMine(handoff, me) {
  return handoff?.status === "assigned" && sameId(handoff.assigned_agent_id, me?.id);
}

/** An offline callback or ticket the agent `me` has taken from the worklist. */
export function isMineOffline(handoff, me) {
  return handoff?.status === "offline" && sameId(handoff.assigned_agent_id, me?.id);
}

function routingBadges(handoff) {
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

function waitLevel(handoff) {
  if (handoff.status !== "queued") return "";
  const minutes = minutesSince(handoff.created_at);
  return minutes >= 15 ? "long" : minutes >= 5 ? "medium" : "";
}

/** Refresh every "waiting time" label under `root` (they carry data-since). */
export function tickTimes(root) {
  for (const el of root.querySelectorAll("[data-since]")) {
    el.textContent = since(el.dataset.since);
    if (el.dataset.level !== undefined) {
      el.dataset.level = minutesSince(el.dataset.since) >= 15 ? "long"
        : minutesSince(el.dataset.since) >= 5 ? "medium" : "";
    }
  }
}

function statusBadge(status) {
  const [ko, en] = statusLabel(status);
  const cls = {queued: "badge-warn", assigned: "badge-info", resolved: "badge-ok"}[status] || "";
  return h("span", {class: `badge ${cls}`, title: en, "data-status": status}, ko, " ", h("span", {lang: "en"}, en));
}

// ------------------------------------------------------------------ queue

/**
 * Fill `container` with the open handoffs in three groups: mine, queued, others'.
 * opts: {handoffs, me, selectedId, unread: Map, claiming: Set, onSelect(id), onClaim(id)}
 */
export function renderQueue(container, opts) {
  const {handoffs, me} = opts;
  const mine = [];
  const queued = [];
  const others = [];
  for (const handoff of handoffs) {
    if (handoff.status === "queued" || (handoff.status === "offline" && !handoff.assigned_agent_id)) {
      queued.push(handoff);
    } else if (isMine(handoff, me) || isMineOffline(handoff, me)) mine.push(handoff);
    else others.push(handoff);
  }
  queued.sort((a, b) => (a.queue_position ?? Infinity) - (b.queue_position ?? Infinity) ||
    String(a.created_at).localeCompare(String(b.created_at)));

  if (!handoffs.length) {
    replace(container, h("div", {class: "queue-empty"},
      h("p", {}, "대기 중인 상담이 없습니다"), h("p", {lang: "en"}, "No open handoffs right now.")));
    return;
  }
  replace(container,
    queueGroup("mine", bi("내 상담", "Mine"), mine, opts),
    queueGroup("queued", bi("대기 중", "Waiting"), queued, opts),
    queueGroup("others", bi("다른 상담원", "Other agents"), others, opts));
}

function queueGroup(key, title, handoffs, opts) {
  if (!handoffs.length && key === "others") return null;
  return h("section", {class: "queue-group", dataset: {group: key}},
    h("h3", {class: "queue-group-title"}, title, h("span", {class: "queue-group-count"}, handoffs.length)),
    handoffs.length
      ? h("ul", {class: "queue-list"}, handoffs.map((handoff) => queueItem(handoff, opts)))
      : h("p", {class: "queue-group-empty"}, key === "mine"
        ? "맡은 상담이 없습니다 / None assigned to you"
        : "대기 중인 상담이 없습니다 / Nobody is waiting"));
}

function queueItem(handoff, {me, selectedId, unread, claiming, onSelect, onClaim}) {
  const [reasonKo, reasonEn] = reasonLabel(handoff.reason);
  const unreadCount = unread.get(String(handoff.id)) || 0;
  const selected = sameId(handoff.id, selectedId);
  return h("li", {
    class: "qi",
    "data-testid": "queue-item",
    "data-handoff-id": handoff.id,
    "data-status": handoff.status,
    "data-unread": unreadCount || null,
    "data-flagged": handoff.flagged_at ? "true" : null,
    "aria-current": selected ? "true" : null,
  },
  h("button", {type: "button", class: "qi-main", "data-action": "select", onclick: () => onSelect(handoff.id)},
    h("span", {class: "qi-top"},
      h("span", {class: "qi-reason", title: handoff.reason || ""}, reasonKo,
        reasonEn !== reasonKo ? h("span", {class: "qi-reason-en", lang: "en"}, reasonEn) : null),
      h("span", {
        class: "qi-wait",
        "data-since": handoff.created_at,
        "data-level": waitLevel(handoff),
        title: `요청 시각 / Requested ${fullTime(handoff.created_at)}`,
      }, since(handoff.created_at))),
    h("span", {class: "qi-meta"},
      statusBadge(handoff.status),
      ...routingBadges(handoff),
      h("span", {class: "badge", title: "언어 / Language"}, languageLabel(handoff.language)),
      handoff.queue_position ? h("span", {class: "badge", title: "대기 순번 / Queue position"}, `#${handoff.queue_position}`) : null,
      unreadCount ? h("span", {class: "badge badge-danger qi-unread", "data-testid": "unread",
        title: "읽지 않은 메시지 / Unread messages"}, `● ${unreadCount}`) : null),
    h("span", {class: "qi-id"}, `#${handoff.id} · ${channelLabel(handoff.channel)} · ${handoff.sender_id ?? ""}`),
    handoff.status === "assigned" && !isMine(handoff, me)
      ? h("span", {class: "qi-owner"}, `상담원 / Agent #${handoff.assigned_agent_id ?? "?"}`) : null),
  handoff.status === "queued" || (handoff.status === "offline" && !handoff.assigned_agent_id)
    ? h("button", {
      type: "button",
      class: "btn btn-small btn-primary qi-claim",
      "data-testid": "claim-button",
      "data-action": "claim",
      disabled: claiming.has(String(handoff.id)),
      onclick: () => onClaim(handoff.id),
    }, "맡기 ", h("span", {lang: "en"}, "Claim"))
    : null);
}

// ------------------------------------------------------------------ conversation

/** Header title: customer id plus status / language / channel badges. */
export function renderTitle(el, handoff) {
  replace(el,
    h("h2", {class: "conv-name"}, `${handoff.sender_id ?? "…"}`, h("span", {class: "conv-id"}, ` #${handoff.id}`)),
    h("div", {class: "conv-badges"},
      handoff.status ? statusBadge(handoff.status) : null,
      handoff.language ? h("span", {class: "badge"}, languageLabel(handoff.language)) : null,
      handoff.channel ? h("span", {class: "badge"}, channelLabel(handoff.channel)) : null));
}

/** The bot conversation before the handoff (context.transcript), visually muted. */
export function renderTranscript(el, transcript) {
  const items = Array.isArray(transcript) ? transcript : [];
  replace(el,
    h("div", {class: "divider transcript-title"}, bi("상담 전 대화 (봇)", "Before handoff (bot)")),
    items.length
      ? items.map((entry) => transcriptEntry(entry))
      : h("p", {class: "thread-note"}, "봇 대화 기록이 없습니다 / No bot transcript"));
}

function transcriptEntry(entry) {
  const role = entry?.role === "user" ? "user" : "bot";
  const intent = role === "user" && entry.intent
    ? h("span", {class: "badge badge-accent", title: "의도 / Intent"},
      `${valueText(entry.intent?.name ?? entry.intent)}${entry.confidence !== undefined ? ` ${percent(entry.confidence)}` : ""}`)
    : null;
  return h("div", {class: "msg msg-transcript", "data-testid": "transcript-message", "data-role": role},
    h("div", {class: "msg-head"},
      h("span", {class: "msg-author"}, role === "user" ? bi("고객", "Customer") : bi("봇", "Bot")),
      intent,
      h("time", {title: fullTime(entry?.timestamp)}, clock(entry?.timestamp))),
    h("div", {class: "msg-text"}, valueText(entry?.text ?? "")));
}

/** The handoff divider: "handoff requested at … · reason". */
export function renderDivider(el, handoff) {
  const [ko, en] = reasonLabel(handoff.reason);
  replace(el, h("span", {},
    `상담원 연결 / Handoff ${clock(handoff.created_at)}`,
    handoff.reason ? ` · ${ko}${en !== ko ? ` / ${en}` : ""}` : ""));
}

/**
 * The messages since the handoff. opts: {me, retried: Set, retrying: Set, canRetry, onRetry(message)}.
 */
export function renderMessages(el, messages, opts) {
  replace(el, messages.length
    ? messages.map((message) => messageItem(message, opts))
    : h("p", {class: "thread-note"}, "상담 시작 후 메시지가 아직 없습니다 / No messages since the handoff yet"));
}

function author(message, me) {
  if (message.role === "note") {
    return `내부 메모 / Internal note · ${sameId(message.agent_id, me?.id) ? "나 / you" : `#${message.agent_id ?? "?"}`}`;
  }
  if (message.role === "user") return bi("고객", "Customer");
  if (message.role === "bot") return bi("봇", "Bot");
  if (sameId(message.agent_id, me?.id)) {
    return `상담원 · ${me.display_name || me.username} (나 / you)`;
  }
  return `상담원 / Agent #${message.agent_id ?? "?"}`;
}

function messageItem(message, {me, retried, retrying, canRetry, onRetry}) {
  const role = ["user", "bot", "agent", "note"].includes(message.role) ? message.role : "bot";
  const key = String(message.id);
  let foot = null;
  if (role === "agent" && message.delivery) {
    if (message.delivery === "failed") {
      foot = h("div", {class: "msg-foot", "data-delivery": "failed"},
        h("span", {}, "⚠ 전달 실패 / Not delivered"),
        retried.has(key)
          ? h("span", {class: "msg-resent"}, "다시 보냄 / Resent")
          : h("button", {
            type: "button",
            class: "btn btn-small retry-button",
            "data-testid": "retry-button",
            disabled: !canRetry || retrying.has(key),
            onclick: () => onRetry(message),
          }, "다시 보내기 ", h("span", {lang: "en"}, "Retry")));
    } else if (message.delivery === "pending") {
      foot = h("div", {class: "msg-foot", "data-delivery": "pending"}, "전송 중 / Sending…");
    } else if (message.delivery === "delivered") {
      foot = h("div", {class: "msg-foot", "data-delivery": "delivered"}, "✓ 전달됨 / Delivered");
    }
  }
  return h("article", {
    class: role === "note" ? "msg msg-note" : "msg",
    "data-testid": role === "note" ? "note" : "message",
    "data-role": role,
    "data-message-id": message.id,
    "data-delivery": message.delivery || null,
  },
  h("div", {class: "msg-head"},
    h("span", {class: "msg-author"}, author(message, me)),
    h("time", {title: fullTime(message.created_at)}, clock(message.created_at))),
  h("div", {class: "msg-text"}, valueText(message.text ?? "")),
  foot);
}

// ------------------------------------------------------------------ context panel

function row(label, ...value) {
  return h("div", {class: "kv"}, h("dt", {}, label), h("dd", {}, ...value));
}

/** Right-hand panel: handoff facts, intent, entities, slots from `context`. */
export function renderContext(el, handoff, context, transfers = []) {
  const ctx = context && typeof context === "object" ? context : {};
  const reason = handoff.reason ?? ctx.reason;
  const [reasonKo, reasonEn] = reasonLabel(reason);
  const intent = ctx.intent && typeof ctx.intent === "object" ? ctx.intent
    : ctx.intent ? {name: ctx.intent} : null;
  const entities = Array.isArray(ctx.entities) ? ctx.entities : [];
  const slots = ctx.slots && typeof ctx.slots === "object" ? Object.entries(ctx.slots) : [];
  const filled = slots.filter(([, v]) => v !== null && v !== undefined && v !== "" &&
    !(Array.isArray(v) && !v.length));

  replace(el,
    h("section", {class: "ctx-section", "data-section": "handoff"},
      h("h3", {}, bi("상담 정보", "Handoff")),
      h("dl", {},
        row(bi("사유", "Reason"), h("span", {class: "ctx-reason"}, reasonKo,
          reasonEn !== reasonKo ? ` / ${reasonEn}` : ""), reason ? h("code", {}, reason) : null),
        row(bi("상태", "Status"), handoff.status ? statusBadge(handoff.status) : "–"),
        row(bi("채널", "Channel"), channelLabel(handoff.channel ?? ctx.channel)),
        row(bi("언어", "Language"), languageLabel(handoff.language ?? ctx.language)),
        row(bi("고객 ID", "Sender"), h("code", {}, valueText(handoff.sender_id ?? ctx.sender_id))),
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
export function renderContextPlaceholder(el) {
  replace(el, h("div", {class: "placeholder"},
    h("p", {class: "placeholder-title"}, "고객 정보"),
    h("p", {lang: "en"}, "The bot's context for the selected conversation appears here.")));
}
