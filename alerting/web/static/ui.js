// DOM helpers both pages share: element builder, token dialog, banner, toast, evidence picture, theme.
import { token } from "./api.js";
import { timeAgo } from "./format.js";
import { onLanguageChange, t } from "./i18n.js";

/** el("div", {class: "x", onclick: f}, child, "text") — text always goes in as text, never as HTML. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "style") Object.assign(node.style, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

let pendingToken = null;

/** Show the sign-in dialog until a token is entered; `rejected` says the last one was refused. */
export function askForToken(rejected) {
  if (pendingToken) return pendingToken;
  const dialog = document.getElementById("token-dialog");
  const form = dialog.querySelector("form");
  const input = dialog.querySelector("input");
  dialog.querySelector(".token-error").hidden = !rejected;
  input.value = "";
  dialog.oncancel = (event) => event.preventDefault(); // Esc must not leave a page that cannot load
  pendingToken = new Promise((resolve) => {
    const submit = (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      token.set(value);
      form.removeEventListener("submit", submit);
      dialog.close();
      pendingToken = null;
      resolve(value);
    };
    form.addEventListener("submit", submit);
  });
  dialog.showModal();
  input.focus();
  return pendingToken;
}

export function showBanner(text, onRetry) {
  const banner = document.getElementById("banner");
  banner.replaceChildren(el("span", {}, text), el("button", { type: "button", onclick: onRetry }, t("retry")));
  banner.hidden = false;
}

export function hideBanner() {
  document.getElementById("banner").hidden = true;
}

let toastTimer = null;
export function toast(text, kind = "info") {
  const node = document.getElementById("toast");
  node.textContent = text;
  node.className = `toast ${kind}`;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (node.hidden = true), 4000);
}

onLanguageChange(() => {
  const connection = document.getElementById("connection");
  if (connection) showConnection(connection.dataset.state);
});

/** The connection indicator: "connecting", "live", "polling" or "offline". */
export function showConnection(state) {
  const node = document.getElementById("connection");
  node.dataset.state = state;
  node.textContent = t(`conn_${state}`);
}

/**
 * Retention deleted the alert's pictures (evidence_deleted_at): a note saying so, to show instead
 * of them, or null when they are kept. Callers then request none of its picture URLs.
 */
export function picturesRemoved(alert) {
  if (!alert?.evidence_deleted_at) return null;
  // Swept once last seen more than the configured days ago: the gap is those days (the sweep is hourly).
  const days = Math.max(0, Math.floor((Date.parse(alert.evidence_deleted_at) - Date.parse(alert.last_seen)) / 86_400_000));
  const text = t(days === 1 ? "evidence_removed_one" : "evidence_removed", { n: days });
  return el("div", { class: "evidence removed", role: "note", title: text }, el("p", {}, text));
}

/** The evidence JPEG (stored as captured) with the normalised box outlined on top. */
export function evidencePicture(evidenceUrl, box, alt) {
  const image = el("img", { src: evidenceUrl, alt, decoding: "async" }); // the session cookie authorises it
  const picture = el("div", { class: "evidence" }, image);
  image.addEventListener("error", () => picture.classList.add("broken"));
  if (Array.isArray(box) && box.length === 4) {
    const [x1, y1, x2, y2] = box;
    picture.append(
      el("div", {
        class: "box",
        "aria-hidden": "true",
        style: {
          left: `${x1 * 100}%`,
          top: `${y1 * 100}%`,
          width: `${(x2 - x1) * 100}%`,
          height: `${(y2 - y1) * 100}%`,
        },
      }),
    );
  }
  return picture;
}

// ---- the night theme (remembered in this browser) ----------------------------

const THEME_KEY = "pinewatch.theme";

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  const button = document.getElementById("theme-toggle");
  if (button) {
    const label = t(theme === "dark" ? "theme_light" : "theme_dark");
    button.setAttribute("aria-pressed", String(theme === "dark"));
    if (button.classList.contains("icon")) {
      button.textContent = { dark: "☀" }[theme] || "☾"; // a phone's bar has no room for words
      button.setAttribute("aria-label", label);
      button.title = label;
    } else {
      button.textContent = label;
    }
  }
}

/** Wire the #theme-toggle button; the choice stays in localStorage. */
export function wireTheme() {
  const current = () => localStorage.getItem(THEME_KEY) || "day"; // "day" or "dark"
  applyTheme(current());
  document.getElementById("theme-toggle")?.addEventListener("click", () => {
    localStorage.setItem(THEME_KEY, { dark: "day", day: "dark" }[current()] || "dark");
    applyTheme(current());
  });
  onLanguageChange(() => applyTheme(current()));
}

/** Ages ("3 min ago") keep counting between renders: every <time data-ago> is refreshed from the clock. */
export function refreshAges(root = document) {
  for (const node of root.querySelectorAll("time[data-ago]")) {
    const text = timeAgo(node.getAttribute("datetime"));
    if (node.textContent !== text) node.textContent = text;
  }
}
