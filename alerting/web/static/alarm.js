// The alarm for a new alert: a tone (WebAudio, no sound file), a blinking title
// and banner, and a desktop notification when the operator has allowed them.
import { t } from "./i18n.js";

const SOUND_KEY = "pinewatch.sound";
const BLINK_MS = 800;

let audio = null;
let blinkTimer = null;
let restTitle = "";
const listeners = new Set();

export const alarm = {
  soundOn: () => localStorage.getItem(SOUND_KEY) !== "false",
  setSound(on) {
    localStorage.setItem(SOUND_KEY, String(Boolean(on)));
    if (on) unlockAudio();
    changed();
  },
  /** "on", "off" (never asked), "blocked" (denied) or "unsupported". */
  notifications() {
    if (!("Notification" in window)) return "unsupported";
    return { granted: "on", denied: "blocked" }[Notification.permission] || "off";
  },
  async askNotifications() {
    if (alarm.notifications() === "off") await Notification.requestPermission();
    changed();
  },
  /** False while the browser holds sound back until the page is clicked or a key pressed. */
  audible: () => !alarm.soundOn() || (audio !== null && audio.state === "running"),
  onChange(listener) {
    listeners.add(listener);
  },
  blinking: () => blinkTimer !== null,
  /** Sound, blink and notify; `text` says what happened, `onOpen` shows it. */
  ring(text, { tag = "pinewatch", onOpen = () => {}, notify = true } = {}) {
    beep();
    startBlink(text);
    if (notify && alarm.notifications() === "on") {
      const notification = new Notification(t("app_name"), { body: text, tag, requireInteraction: true, icon: "/static/icon.svg" });
      notification.onclick = () => {
        window.focus();
        onOpen();
        notification.close();
      };
    }
  },
  /** Stop blinking (the operator has seen it). */
  quiet() {
    if (blinkTimer === null) return;
    clearInterval(blinkTimer);
    blinkTimer = null;
    document.title = restTitle;
    changed();
  },
  /** The title while no alarm blinks (the page keeps its count in it). */
  setTitle(title) {
    restTitle = title;
    if (blinkTimer === null) document.title = title;
  },
  beep,
  prepare() {
    if (alarm.soundOn()) unlockAudio();
  },
};

function changed() {
  listeners.forEach((listener) => listener());
}

function unlockAudio() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return null;
  if (audio === null) {
    audio = new Context();
    audio.addEventListener("statechange", changed);
  }
  if (audio.state === "suspended") audio.resume().catch(() => {});
  return audio;
}

// Browsers start sound only after a click or key press: the first one unlocks it.
for (const type of ["pointerdown", "keydown"]) {
  window.addEventListener(type, () => alarm.soundOn() && unlockAudio(), { capture: true });
}

/** Three falling two-tone beeps, about a second. */
export function beep() {
  if (!alarm.soundOn()) return false;
  const context = unlockAudio();
  if (!context) return false;
  const start = context.currentTime + 0.02;
  for (let i = 0; i < 3; i += 1) {
    for (const [offset, frequency] of [[0, 1046], [0.16, 784]]) {
      const at = start + i * 0.36 + offset;
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      oscillator.type = "square";
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.25, at + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.14);
      oscillator.connect(gain).connect(context.destination);
      oscillator.start(at);
      oscillator.stop(at + 0.15);
    }
  }
  return true;
}

function startBlink(text) {
  if (blinkTimer === null) restTitle = document.title.startsWith("🔥") ? restTitle : document.title;
  clearInterval(blinkTimer);
  let on = true;
  const flash = `🔥 ${text}`;
  document.title = flash;
  blinkTimer = setInterval(() => {
    on = !on;
    document.title = on ? flash : restTitle;
  }, BLINK_MS);
  changed();
}
