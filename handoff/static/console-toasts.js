// The console's short notices in the corner; at most four at a time. A notice may
// carry one action (a button), such as jumping to what it announces.

import {h} from "./dom.js";

const toasts = document.getElementById("toasts");

/** Show `text`; `action` is {label, run, testid}. */
export function toast(text, kind = "info", ms = 5000, action = null) {
  const node = h("div", {
    class: "toast", "data-kind": kind, "data-testid": "toast", role: kind === "error" ? "alert" : "status",
  }, h("span", {class: "toast-text"}, text),
  action ? h("button", {
    type: "button",
    class: "toast-action",
    "data-testid": action.testid || "toast-action",
    onclick: () => {
      node.remove();
      action.run();
    },
  }, action.label) : null);
  toasts.append(node);
  while (toasts.childElementCount > 4) toasts.firstElementChild.remove();
  setTimeout(() => node.remove(), ms);
}

export function clearToasts() {
  toasts.replaceChildren();
}
