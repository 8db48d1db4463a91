// Supervisor page: the live queue and team, today's numbers, trends per hour or
// day, breakdowns and CSV downloads. Signs in through session.js like the
// console, but only supervisors get past it; the numbers come from
// /api/metrics, /api/metrics/live and /api/dead-letters (handoff/openapi.yaml).

import {ApiError} from "./api.js";
import {bi, biText, h, replace} from "./dom.js";
import {errorText, label, setLanguage} from "./labels.js";
import {deliveryFailureLabel} from "./format.js";
import {openLive} from "./live.js";
import {createSession} from "./session.js";
import {columnChart, lineChart} from "./supervisor-charts.js";

// The report names channels as the service's `Channel`; the words are `ChannelKind`'s.
const CHANNEL_KINDS = {web: "web_chat", kakao: "kakaotalk"};

const POLL_MS = 15000;
const DEAD_LETTERS_SHOWN = 10;
// Live frames come in bursts (a claim, then its messages): refresh once after.
const FRAME_DEBOUNCE_MS = 1500;
const SUPERVISORS_ONLY = biText("감독자만 볼 수 있습니다", "Only supervisors can see this page");

const $ = (id) => document.getElementById(id);
const els = {
  liveStatus: $("live-status"), agentName: $("agent-name"),
  pageError: $("page-error"), liveCards: $("live-cards"),
  liveUpdated: $("live-updated"), agentsBody: $("agents-body"), todayCards: $("today-cards"),
  todayNote: $("today-note"), periodForm: $("period-form"), bucket: $("period-bucket"),
  from: $("period-from"), to: $("period-to"), reasons: $("reasons"), skills: $("skills"),
  agentNumbers: $("agent-numbers-body"), comments: $("comments-body"),
  channelNumbers: $("channel-numbers-body"),
  deadLetters: $("dead-letters-body"),
};

const state = {live: null, poll: null, debounce: null, period: null};
const session = createSession({
  expiredMessage: biText("세션이 만료되었습니다", "Your session has expired"),
  refusal: (agent) => (agent.role === "supervisor" ? "" : SUPERVISORS_ONLY),
});

// ------------------------------------------------------------------ formatting

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  // Under a second in milliseconds, so a chart's small ticks stay apart.
  if (seconds > 0 && seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds < 10 && !Number.isInteger(seconds)) return `${seconds.toFixed(1)}s`;
  const total = Math.round(seconds);
  if (total < 60) return `${total}s`;
  const minutes = Math.floor(total / 60);
  if (minutes < 60) return `${minutes}m ${String(total % 60).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, "0")}m`;
}

function rate(value) {
  return value === null || value === undefined ? "–" : `${Math.round(value * 1000) / 10}%`;
}

function score(value) {
  return value === null || value === undefined ? "–" : value.toFixed(2);
}

// ------------------------------------------------------------------ live feed and polling

function stop() {
  setLanguage("ko");
  state.live?.close();
  state.live = null;
  clearInterval(state.poll);
  clearTimeout(state.debounce);
}

function start(auth) {
  // Codes (reasons, skills, statuses) in the supervisor's own language.
  setLanguage(auth.agent.language);
  els.agentName.textContent = auth.agent.display_name;
  state.live = openLive({
    token: auth.token,
    onEvent: scheduleRefresh,
    onState: (liveState, info) => {
      els.liveStatus.dataset.state = liveState;
      els.liveStatus.textContent = {
        connected: "실시간 / Live", connecting: "연결 중 / Connecting",
        reconnecting: "재연결 중 / Reconnecting",
      }[liveState] || liveState;
      if (info.reconnected) refreshNow();
    },
    onUnauthorized: session.expire,
  });
  state.poll = setInterval(refreshNow, POLL_MS);
  refreshNow();
}

// ------------------------------------------------------------------ loading

/** The answer, or null once the error is shown (a 401 has signed out already). */
async function call(path) {
  try {
    const data = await session.call(path);
    els.pageError.textContent = "";
    return data;
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) session.signOut(SUPERVISORS_ONLY);
    else if (!(err instanceof ApiError && err.status === 401)) els.pageError.textContent = errorText(err);
    return null;
  }
}

function scheduleRefresh() {
  clearTimeout(state.debounce);
  state.debounce = setTimeout(refreshNow, FRAME_DEBOUNCE_MS);
}

async function refreshNow() {
  if (!session.auth) return;
  const trend = loadTrend();
  const [live, today, deadLetters] = await Promise.all([
    call("/api/metrics/live"),
    call("/api/metrics?bucket=hour"),
    call(`/api/dead-letters?limit=${DEAD_LETTERS_SHOWN}`),
  ]);
  if (live) renderLive(live);
  if (deadLetters) renderDeadLetters(deadLetters);
  if (today) {
    renderToday(today);
    if (!state.period) {
      state.period = {bucket: "hour", from: today.from, to: today.to};
      els.bucket.value = "hour";
      els.from.value = today.from;
      els.to.value = today.to;
      await loadTrend();
    }
  }
  await trend;
}

async function loadTrend() {
  if (!state.period) return;
  const {bucket, from, to} = state.period;
  const report = await call(`/api/metrics?${new URLSearchParams({bucket, from, to})}`);
  if (report) renderTrend(report);
}

function applyPeriod(event) {
  event.preventDefault();
  state.period = {bucket: els.bucket.value, from: els.from.value, to: els.to.value};
  loadTrend();
}

async function downloadCsv(table) {
  if (!state.period) return;
  const query = new URLSearchParams({...state.period, format: "csv", table});
  let response;
  try {
    response = await fetch(`/api/metrics?${query}`, {
      headers: {Authorization: `Bearer ${session.auth.token}`, Accept: "text/csv"},
      cache: "no-store",
    });
  } catch {
    els.pageError.textContent = biText("내려받지 못했습니다", "The download failed");
    return;
  }
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    els.pageError.textContent = errorText(
      new ApiError(response.status, body?.error || "http_error", body?.message || `HTTP ${response.status}`, body));
    return;
  }
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] || `tandem-${table}.csv`;
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", {href: url, download: name, hidden: true});
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// ------------------------------------------------------------------ rendering

function card(testid, ko, en, value, raw, note = "") {
  return h("div", {class: "card", dataset: {testid, value: raw ?? ""}},
    h("div", {class: "card-label"}, bi(ko, en)),
    h("div", {class: "card-value", dataset: {testid: `${testid}-value`}}, value),
    note ? h("div", {class: "card-note"}, note) : null);
}

function renderLive(live) {
  const {queue, agents} = live;
  const online = agents.filter((a) => a.status === "online").length;
  replace(els.liveCards,
    card("live-queued", "대기 중", "Queued", String(queue.queued), queue.queued),
    card("live-longest-wait", "최장 대기", "Longest wait",
      duration(queue.longest_wait_seconds), queue.longest_wait_seconds),
    card("live-assigned", "상담 중", "In conversation", String(queue.assigned), queue.assigned),
    card("live-online", "접속 상담원", "Agents online", `${online} / ${agents.length}`, online),
    card("live-dead-letters", "보류된 이벤트", "Dead letters",
      String(live.dead_letters), live.dead_letters),
  );
  replace(els.agentsBody, agents.map((agent) => {
    return h("tr", {dataset: {testid: "agent-row", username: agent.username, status: agent.status}},
      h("td", {}, agent.display_name, agent.role === "supervisor"
        ? h("span", {class: "badge badge-info", title: label("staff_role", agent.role)}, "SV") : null),
      h("td", {}, h("span", {class: `presence presence-${agent.status}`},
        label("agent_status", agent.status))),
      h("td", {class: "num"}, String(agent.open_handoffs)),
      h("td", {class: "num"}, String(agent.capacity)));
  }));
  els.liveUpdated.textContent = new Date(live.now).toLocaleTimeString("ko-KR", {hour12: false});
}

function renderDeadLetters(page) {
  replace(els.deadLetters, page.dead_letters.length ? page.dead_letters.map((letter) =>
    h("tr", {dataset: {testid: "dead-letter-row"}, title: letter.event},
      h("td", {}, new Date(letter.received_at).toLocaleString("ko-KR", {hour12: false})),
      h("td", {}, letter.sender_id ?? "–"),
      h("td", {}, letter.reason)))
    : h("tr", {}, h("td", {colspan: 3, class: "empty"}, bi("없음", "None"))));
}

function renderToday(report) {
  const t = report.totals;
  els.todayNote.textContent = `${report.to} · ${report.time_zone}`;
  replace(els.todayCards,
    card("kpi-conversations", "대화", "Conversations", String(t.conversations), t.conversations),
    card("kpi-containment", "봇 단독 처리", "Containment", rate(t.containment_rate),
      t.containment_rate, `${t.contained} / ${t.conversations}`),
    card("kpi-handoffs", "상담 연결", "Handoffs", String(t.handoffs), t.handoffs),
    card("kpi-wait", "평균 대기", "Average wait", duration(t.wait_avg_seconds),
      t.wait_avg_seconds, `p90 ${duration(t.wait_p90_seconds)}`),
    card("kpi-handle", "평균 처리", "Average handle", duration(t.handle_avg_seconds),
      t.handle_avg_seconds),
    card("kpi-service-level", "서비스 레벨", "Service level", rate(t.service_level),
      t.service_level, `≤ ${report.service_level_seconds}s`),
    card("kpi-abandonment", "이탈률", "Abandonment", rate(t.abandonment_rate),
      t.abandonment_rate, `${t.abandoned}`),
    card("kpi-csat-agent", "상담원 만족도", "CSAT, agents", score(t.csat_agent_average),
      t.csat_agent_average, `n = ${t.csat_agent_count}`),
    card("kpi-csat-bot", "봇 만족도", "CSAT, bot", score(t.csat_bot_average),
      t.csat_bot_average, `n = ${t.csat_bot_count}`),
  );
}

function bucketLabel(start, bucket) {
  // The service's local time is in the ISO string itself: no browser time zone.
  return bucket === "hour" ? start.slice(11, 13) : start.slice(5, 10);
}

function renderTrend(report) {
  const points = (key) => report.buckets.map((b) => ({
    label: bucketLabel(b.start, report.bucket),
    title: report.bucket === "hour" ? b.start.slice(0, 16).replace("T", " ") : b.start.slice(0, 10),
    value: b[key],
  }));
  columnChart($("chart-handoffs"), points("handoffs"), {integer: true, format: String});
  lineChart($("chart-containment"), points("containment_rate"),
    {max: 1, format: (v) => `${Math.round(v * 100)}%`});
  columnChart($("chart-wait"), points("wait_p90_seconds"), {format: duration});
  lineChart($("chart-csat"), report.buckets.map((b, i) => ({
    ...points("csat_agent_average")[i], value: combinedCsat(b),
  })), {max: 5, ticks: 5, format: (v) => v.toFixed(1)});
  renderBreakdown(els.reasons, report.reasons.map((r) => ({
    key: r.reason, label: label("reason", r.reason), count: r.handoffs,
  })));
  renderBreakdown(els.skills, report.skills.map((s) => ({
    key: s.skill, label: label("skill", s.skill), count: s.handoffs,
  })));
  replace(els.agentNumbers, report.agents.length ? report.agents.map((a) =>
    h("tr", {dataset: {testid: "agent-numbers-row", username: a.username}},
      h("td", {}, a.display_name),
      h("td", {class: "num"}, String(a.handoffs_resolved)),
      h("td", {class: "num"}, String(a.handoffs_held)),
      h("td", {class: "num", dataset: {testid: "agent-held", value: a.held_seconds}},
        duration(a.held_seconds)),
      h("td", {class: "num"}, duration(a.handle_avg_seconds)),
      h("td", {class: "num"}, a.csat_count ? `${score(a.csat_average)} (${a.csat_count})` : "–")))
    : h("tr", {}, h("td", {colspan: 6, class: "empty"}, bi("자료 없음", "No data"))));
  renderChannels(report);
  renderComments(report);
}

/** Each channel with a conversation or a failed delivery in the period. */
function renderChannels(report) {
  const rows = (report.channels || []).filter((c) => c.conversations || c.handoffs || c.delivery_failures);
  replace(els.channelNumbers, rows.length ? rows.map((c) => {
    const ratings = c.csat_bot_count + c.csat_agent_count;
    const reasons = Object.entries(c.delivery_failures_by_reason || {})
      .filter(([, count]) => count)
      .map(([reason, count]) => `${deliveryFailureLabel(reason).join(" / ")}: ${count}`)
      .join("\n");
    return h("tr", {dataset: {testid: "channel-row", channel: c.channel, failures: c.delivery_failures}},
      h("td", {}, label("channel", CHANNEL_KINDS[c.channel] || c.channel)),
      h("td", {class: "num"}, String(c.conversations)),
      h("td", {class: "num"}, c.containment_rate === null ? "–" : `${Math.round(c.containment_rate * 100)}%`),
      h("td", {class: "num"}, String(c.handoffs)),
      h("td", {class: "num"}, ratings ? `${score(combinedCsat(c))} (${ratings})` : "–"),
      h("td", {class: "num", title: reasons || null}, String(c.delivery_failures)));
  }) : h("tr", {}, h("td", {colspan: 6, class: "empty"}, bi("자료 없음", "No data"))));
}

function renderComments(report) {
  // Shown in the service's time zone, like the buckets, whatever the browser's.
  const when = new Intl.DateTimeFormat("ko-KR", {
    timeZone: report.time_zone, month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hour12: false,
  });
  replace(els.comments, report.comments.length ? report.comments.map((c) =>
    h("tr", {dataset: {testid: "comment-row", score: c.score}},
      h("td", {}, when.format(new Date(c.rated_at))),
      h("td", {class: "num"}, String(c.score)),
      h("td", {}, c.agent_display_name ?? (c.handoff_id === null ? bi("챗봇", "Bot") : "–")),
      h("td", {}, c.reason ? label("reason", c.reason) : "–"),
      h("td", {class: "comment-text"}, c.comment)))
    : h("tr", {}, h("td", {colspan: 5, class: "empty"}, bi("의견 없음", "No comments"))));
}

// Bot and agent ratings together, weighted by how many there are of each.
function combinedCsat(bucket) {
  const count = bucket.csat_bot_count + bucket.csat_agent_count;
  if (!count) return null;
  return ((bucket.csat_bot_average ?? 0) * bucket.csat_bot_count +
    (bucket.csat_agent_average ?? 0) * bucket.csat_agent_count) / count;
}

function renderBreakdown(container, rows) {
  if (!rows.length) {
    replace(container, h("p", {class: "empty"}, bi("자료 없음", "No data")));
    return;
  }
  const top = Math.max(...rows.map((r) => r.count));
  replace(container, rows.map((row) =>
    h("div", {class: "hbar", dataset: {testid: "breakdown-row", key: row.key, count: row.count}},
      h("span", {class: "hbar-label"}, row.label),
      h("span", {class: "hbar-track"},
        h("span", {class: "hbar-fill", style: `width: ${(row.count / top) * 100}%`})),
      h("span", {class: "hbar-count"}, String(row.count)))));
}

// ------------------------------------------------------------------ wiring

els.periodForm.addEventListener("submit", applyPeriod);
for (const button of document.querySelectorAll("[data-table]")) {
  button.addEventListener("click", () => downloadCsv(button.dataset.table));
}

session.start({onSignIn: start, onSignOut: stop});
