// The staff pages' one vocabulary: a Korean and an English word for every code the
// service sends (reasons, triggers, skills, priorities, statuses, channels, modes,
// emotions, slots, error codes…) and for the console's own words, all in
// labels.json. Pages speak the signed-in agent's language (`setLanguage`); before
// anyone signs in they say both. tests/handoff/test_label_vocabulary.py checks the
// file against handoff/openapi.yaml and the bot's domain.

const LANGUAGES = ["ko", "en"];
const DEFAULT_LANGUAGE = "ko";

async function loadVocabulary() {
  try {
    const response = await fetch("/static/labels.json", {cache: "no-cache"});
    return response.ok ? await response.json() : {};
  } catch {
    return {}; // codes are shown as they are rather than nothing at all
  }
}

const vocabulary = await loadVocabulary();
let current = DEFAULT_LANGUAGE;

/** Speak `code` ("ko" or "en") from now on; anything else is Korean. */
export function setLanguage(code) {
  current = LANGUAGES.includes(code) ? code : DEFAULT_LANGUAGE;
  document.documentElement.lang = current;
}

export const language = () => current;

function fill(text, params) {
  return text.replace(/\{(\w+)\}/g, (match, name) => (params[name] ?? match));
}

/**
 * The word for `code` of `section` (label("reason", "billing_dispute")), in the
 * page's language or `lang`, with its {placeholders} from `params`. A code the
 * vocabulary lacks is shown as it is, readably.
 */
export function label(section, code, params = {}, lang = current) {
  if (code === null || code === undefined || code === "") return "–";
  const entry = vocabulary[section]?.[code];
  const text = entry?.[lang] ?? entry?.[DEFAULT_LANGUAGE];
  return text === undefined ? String(code).replace(/[_-]+/g, " ") : fill(text, params);
}

/** Every code of `section` the vocabulary has words for, in its order. */
export const codes = (section) => Object.keys(vocabulary[section] || {});

/** Whether the vocabulary has a word for `code` of `section`. */
export const known = (section, code) => Boolean(vocabulary[section]?.[code]);

/** The console's own words: t("claim"). */
export const t = (key, params) => label("ui", key, params);

/** Korean and English together, for what is shown before anyone signs in. */
export function both(section, code, params) {
  return `${label(section, code, params, "ko")} / ${label(section, code, params, "en")}`;
}

/** "3분" / "3 min", from seconds. */
export function waitText(seconds, lang = current) {
  const total = Math.max(1, Math.ceil(Number(seconds) || 0));
  return total < 60
    ? label("ui", "seconds", {n: total}, lang)
    : label("ui", "minutes", {n: Math.ceil(total / 60)}, lang);
}

function errorParams(err, lang) {
  const body = err?.body || {};
  return {
    load: body.load ?? "?",
    capacity: body.capacity ?? "?",
    wait: waitText(body.retry_after_seconds ?? 60, lang),
  };
}

/**
 * What went wrong, by the service's error code, in the page's language (or both,
 * before anyone signs in). An error the vocabulary has no word for keeps the
 * service's own message.
 */
export function errorText(err, {bilingual = false} = {}) {
  const code = err?.code;
  if (!known("error", code)) return err?.message || String(err);
  if (bilingual) {
    return LANGUAGES.map((lang) => label("error", code, errorParams(err, lang), lang)).join(" / ");
  }
  return label("error", code, errorParams(err, current));
}

/**
 * Put the words in: an element's `data-label` names the word for its text, and
 * `data-label-title`, `data-label-placeholder`, `data-label-aria-label` those for
 * its attributes, from the console's own words.
 */
export function applyLabels(root = document) {
  for (const el of root.querySelectorAll("[data-label]")) el.textContent = t(el.dataset.label);
  for (const [attribute, key] of [
    ["title", "labelTitle"], ["placeholder", "labelPlaceholder"], ["aria-label", "labelAriaLabel"],
  ]) {
    for (const el of root.querySelectorAll(`[data-label-${attribute}]`)) el.setAttribute(attribute, t(el.dataset[key]));
  }
}
