// Every visible string comes from strings.json (one table, Vietnamese and English).
// The language is the user's choice (kept in localStorage), else the browser's.

const STORAGE_KEY = "pinewatch.lang";
const FALLBACK = "en";

const STRINGS = await fetch(new URL("./strings.json", import.meta.url)).then((response) => {
  if (!response.ok) throw new Error(`strings.json: HTTP ${response.status}`);
  return response.json();
});

export const LANGUAGES = Object.keys(STRINGS);
const listeners = new Set();
let current = initialLanguage();

function initialLanguage() {
  const chosen = localStorage.getItem(STORAGE_KEY);
  if (LANGUAGES.includes(chosen)) return chosen;
  for (const tag of navigator.languages || [navigator.language || ""]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return FALLBACK;
}

export function language() {
  return current;
}

/** BCP 47 locale for Intl date and number formats. */
export function locale() {
  return current === "vi" ? "vi-VN" : "en-GB";
}

export function setLanguage(lang) {
  if (!LANGUAGES.includes(lang) || lang === current) return;
  current = lang;
  localStorage.setItem(STORAGE_KEY, lang);
  translatePage();
  listeners.forEach((listener) => listener(lang));
}

export function onLanguageChange(listener) {
  listeners.add(listener);
}

/** The string `key` in the current language with {placeholders} filled in. */
export function t(key, params = {}) {
  const template = STRINGS[current][key] ?? STRINGS[FALLBACK][key];
  if (template === undefined) {
    console.warn(`missing string ${key}`);
    return key;
  }
  return template.replace(/\{(\w+)\}/g, (match, name) => (name in params ? String(params[name]) : match));
}

/** Fill elements marked data-i18n (text) and data-i18n-<attribute> (placeholder, title, aria-label). */
export function translatePage(root = document) {
  document.documentElement.lang = current;
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
  for (const attribute of ["placeholder", "title", "aria-label"]) {
    const data = `data-i18n-${attribute}`;
    for (const element of root.querySelectorAll(`[${data}]`)) {
      element.setAttribute(attribute, t(element.getAttribute(data)));
    }
  }
  for (const button of root.querySelectorAll("[data-lang]")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === current));
  }
}

/** Buttons with data-lang="vi" / "en" switch the language. */
export function wireLanguageButtons(root = document) {
  for (const button of root.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", () => setLanguage(button.dataset.lang));
  }
}
