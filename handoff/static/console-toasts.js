// The console's short notices in the corner; at most four at a time.

import {h} from "./dom.js";

const toasts = document.getElementById("toasts");

export function toast(text, kind = "info", ms = 5000) {
  const node = h("div", {
    class: "toast", "data-kind": kind, "data-testid": "toast", role: kind === "error" ? "alert" : "status",
  }, text);
  toasts.append(node);
  while (toasts.childElementCount > 4) toasts.firstElementChild.remove();
  setTimeout(() => node.remove(), ms);
}

export function clearToasts() {
  toasts.replaceChildren();
}
