// Supervisors keep the canned responses from the console: the list in both
// languages, a form to write a new one or change one, and deleting.

import {renderOpen} from "./console-conversation.js";
import {isSupervisor, session, signedIn, state} from "./console-state.js";
import {toast} from "./console-toasts.js";
import {h, replace} from "./dom.js";
import {errorText, label, t} from "./labels.js";

const $ = (id) => document.getElementById(id);
const els = {
  manage: $("canned-manage"), dialog: $("canned-dialog"), list: $("canned-list"), form: $("canned-form"),
  formTitle: $("canned-form-title"), language: $("canned-language"), title: $("canned-title-input"),
  text: $("canned-text"), error: $("canned-error"), fresh: $("canned-new"), close: $("canned-close"),
};

// What the console fills in before sending (handoff/api/validation.py, CANNED_PLACEHOLDERS).
const PLACEHOLDERS = new Set(["name", "agent_name"]);

let editing = null; // the canned response being changed; null while writing a new one

/** Placeholders the console could not fill, as written: ["{address}"]. */
function unknownPlaceholders(text) {
  const plain = text.replace(/\{\{|\}\}/g, "");
  return [...plain.matchAll(/\{(\w*)\}/g)].filter((m) => !PLACEHOLDERS.has(m[1])).map((m) => m[0]);
}

/** Only supervisors keep the canned responses. */
export function drawCannedManager() {
  els.manage.hidden = !signedIn() || !isSupervisor();
  if (els.dialog.open) drawList();
}

async function reload() {
  const data = await session.call("/api/canned-responses");
  state.canned = data?.canned_responses || [];
  drawList();
  renderOpen();
}

function drawList() {
  const sorted = [...state.canned].sort((a, b) =>
    a.language.localeCompare(b.language) || a.title.localeCompare(b.title));
  replace(els.list, sorted.length
    ? h("ul", {class: "canned-items"}, sorted.map((item) => h("li", {
      class: "canned-item", "data-testid": "canned-item", "data-canned-id": item.id,
      "aria-current": editing && editing.id === item.id ? "true" : null,
    },
    h("span", {class: "badge"}, label("language", item.language)),
    h("span", {class: "canned-item-title"}, item.title),
    h("span", {class: "canned-item-text"}, item.text),
    h("span", {class: "canned-item-actions"},
      h("button", {type: "button", class: "btn btn-small", "data-testid": "canned-edit",
        onclick: () => edit(item)}, t("edit")),
      h("button", {type: "button", class: "btn btn-small btn-danger", "data-testid": "canned-delete",
        onclick: () => remove(item)}, t("delete"))))))
    : h("p", {class: "ctx-empty"}, t("canned_none")));
}

function edit(item) {
  editing = item;
  els.formTitle.textContent = item ? t("canned_editing", {title: item.title}) : t("canned_new");
  els.language.value = item?.language || "ko";
  els.title.value = item?.title || "";
  els.text.value = item?.text || "";
  els.error.textContent = "";
  drawList();
  els.title.focus();
}

async function save(event) {
  event.preventDefault();
  const body = {language: els.language.value, title: els.title.value.trim(), text: els.text.value.trim()};
  if (!body.title || !body.text) {
    els.error.textContent = t("canned_fill_in");
    return;
  }
  const unknown = unknownPlaceholders(body.text);
  if (unknown.length) {
    els.error.textContent = t("canned_unknown_placeholder", {found: unknown.join(", ")});
    return;
  }
  try {
    if (editing) {
      await session.call(`/api/canned-responses/${encodeURIComponent(editing.id)}`, {method: "PATCH", body});
    } else {
      await session.call("/api/canned-responses", {method: "POST", body});
    }
    toast(t("canned_saved", {title: body.title}));
    edit(null);
    await reload();
  } catch (err) {
    if (signedIn()) els.error.textContent = errorText(err);
  }
}

async function remove(item) {
  if (!window.confirm(t("canned_delete_confirm", {title: item.title}))) return;
  try {
    await session.call(`/api/canned-responses/${encodeURIComponent(item.id)}`, {method: "DELETE"});
    if (editing?.id === item.id) edit(null);
    await reload();
  } catch (err) {
    if (signedIn()) els.error.textContent = errorText(err);
  }
}

async function open() {
  edit(null);
  els.dialog.showModal();
  els.title.focus();
  try {
    await reload();
  } catch (err) {
    if (signedIn()) els.error.textContent = errorText(err);
  }
}

export function wireCanned() {
  els.manage.addEventListener("click", open);
  els.form.addEventListener("submit", save);
  els.fresh.addEventListener("click", () => edit(null));
  els.close.addEventListener("click", () => els.dialog.close());
}
