// Tiny DOM helpers shared by the chat and the console.
// Text is always inserted as text nodes: nothing here ever touches innerHTML,
// so customer-provided strings cannot inject markup.

/**
 * Create an element.
 *   h("button", {class: "btn", dataset: {testid: "x"}, onclick: fn}, "Label")
 * Attributes: `class`, `dataset` (object), `style` (CSS text), `on<event>`
 * (function), boolean attributes (true/false), anything else via setAttribute.
 * Children: strings, numbers, nodes, arrays of those; null/undefined/false are
 * skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    // Through the CSSOM: the content security policy (style-src 'self') blocks
    // a style attribute, but not styles a module script sets on an element.
    else if (key === "style") node.style.cssText = String(value);
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

/** Append children (strings become text nodes). */
export function append(node, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replace all children of `node`. */
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

/** A bilingual label: Korean first, English after, each tagged with its lang. */
export function bi(ko, en, cls = "bi") {
  return h("span", {class: cls},
    h("span", {lang: "ko"}, ko),
    h("span", {class: "bi-sep", "aria-hidden": "true"}, " / "),
    h("span", {lang: "en"}, en));
}

/** Plain-text form of a bilingual label (for placeholders, titles, alerts). */
export function biText(ko, en) {
  return `${ko} / ${en}`;
}

/** True when the Enter key should submit (not Shift+Enter, not mid-IME composition). */
function isSubmitEnter(event) {
  return event.key === "Enter" && !event.shiftKey && !event.isComposing &&
    event.keyCode !== 229;
}

/** Call `submit` from the form's button or from Enter in its text box (Shift+Enter is a new line). */
export function submitOnEnter(form, textbox, submit) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  textbox.addEventListener("keydown", (event) => {
    if (isSubmitEnter(event)) {
      event.preventDefault();
      submit();
    }
  });
}

/** Whether a scroll container is (nearly) scrolled to the bottom. */
export function nearBottom(el, slack = 80) {
  return el.scrollHeight - el.scrollTop - el.clientHeight < slack;
}

/** Grow a textarea with its content, up to its CSS max-height. */
export function autoGrow(textarea) {
  if (!textarea.getClientRects().length) return; // not rendered: nothing to measure
  textarea.style.height = "auto";
  const borders = textarea.offsetHeight - textarea.clientHeight;
  const wanted = textarea.scrollHeight + borders;
  textarea.style.height = `${wanted}px`;
  const max = parseFloat(getComputedStyle(textarea).maxHeight);
  textarea.style.overflowY = Number.isFinite(max) && wanted > max ? "auto" : "hidden";
}

/** Keep Tab and Shift+Tab inside `container` (a modal dialog), wrapping round. */
export function trapFocus(container) {
  container.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const controls = [...container.querySelectorAll(
      "a[href], button, input, select, textarea, [tabindex]:not([tabindex='-1'])")]
      .filter((el) => !el.disabled && el.getClientRects().length);
    if (!controls.length) return;
    const first = controls[0];
    const last = controls[controls.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });
}
