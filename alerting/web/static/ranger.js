// Ranger page (phones): the newest active alerts, where to look, and a map link.
import { AuthError, ForbiddenError, NetworkError, adoptTokenFromUrl, api, endSession, liveFeed, startSession, token } from "./api.js";
import { bearingRange, bearingSentence, coordinates, distance, firePoint, incidentCameras, labelText, localTime, mapLinks, timeAgo, timeOfDay } from "./format.js";
import { dangerBadge } from "./danger.js";
import { language, onLanguageChange, t, translatePage, wireLanguageButtons } from "./i18n.js";
import { cameraBlind, cameraState, drawMap } from "./map.js";
import { askForToken, el, evidencePicture, hideBanner, picturesRemoved, refreshAges, showBanner, showConnection, toast, wireTheme } from "./ui.js";

// Alerts a ranger still has to care about; dismissed ones were false alarms.
const ACTIVE_STATUSES = ["confirmed", "acknowledged", "new"];
const WINDOW_MS = 24 * 3600 * 1000; // older alerts are history, not news
const PER_STATUS = 20;
const MAX_CARDS = 30;

const state = { alerts: new Map(), cameras: [], me: null, updatedAt: null };
let feed = null;
const cards = new Map(); // alert id -> { key, node }
const $ = (id) => document.getElementById(id);

function isActive(alert) {
  return ACTIVE_STATUSES.includes(alert.status) && Date.now() - new Date(alert.last_seen).getTime() < WINDOW_MS;
}

async function loadAlerts() {
  const since = new Date(Date.now() - WINDOW_MS).toISOString();
  const pages = await Promise.all(
    ACTIVE_STATUSES.map((status) => api(`/api/alerts?${new URLSearchParams({ status, since, limit: PER_STATUS })}`)),
  );
  state.alerts = new Map(pages.flatMap((page) => page.items).map((alert) => [alert.id, alert]));
  state.updatedAt = new Date().toISOString();
  render();
}

async function resync() {
  try {
    if (!state.me) state.me = await startSession(); // the session cookie authorises the pictures and the feed
    await Promise.all([loadAlerts(), api("/api/cameras").then((page) => (state.cameras = page.items))]);
    render();
    hideBanner();
  } catch (error) {
    handleError(error);
  }
}

function applyAlert(alert) {
  const isNew = !state.alerts.has(alert.id);
  if (isActive(alert)) state.alerts.set(alert.id, alert);
  else state.alerts.delete(alert.id);
  state.updatedAt = new Date().toISOString();
  render();
  // Browsers allow vibrating only after the user has touched the page.
  if (isNew && isActive(alert) && navigator.vibrate && navigator.userActivation?.hasBeenActive) navigator.vibrate([300, 150, 300]);
}

function handleError(error) {
  if (error instanceof AuthError) signIn(true);
  else if (error instanceof NetworkError) {
    showConnection("offline");
    showBanner(t("banner_network"), () => feed && feed.restart());
  } else if (error instanceof ForbiddenError) toast(t("forbidden", { role: state.me ? t(`role_${state.me.role}`) : "" }), "error");
  else toast(t("error_request", { detail: error.message }), "error");
}

async function signIn(rejected) {
  if (feed) feed.stop();
  state.me = null;
  await askForToken(rejected);
  if (feed) feed.restart();
  else feed = startFeed();
}

function startFeed() {
  return liveFeed({ resync, onAlert: applyAlert, onCamera: applyCamera, onState: showConnection });
}

function applyCamera(camera) {
  state.cameras = [...state.cameras.filter((c) => c.id !== camera.id), camera].sort((a, b) => a.id.localeCompare(b.id));
  render();
}

function card(alert) {
  const point = firePoint(alert); // the incident's one point when several cameras see the fire (issue 11)
  const links = point && mapLinks(point);
  const cameraName = alert.camera_name || alert.camera_id;
  return el(
    "article",
    { class: `card status-${alert.status} label-${alert.label}`, dataset: { id: alert.id } },
    el(
      "header",
      { class: "card-head" },
      el("span", { class: "card-label" }, labelText(alert.label)),
      el("span", { class: `badge status-${alert.status}` }, t(`ranger_status_${alert.status}`)),
      dangerBadge(alert.danger_level), // the day's fire-danger level (issue 12)
      el("time", { class: "ago", datetime: alert.last_seen, title: localTime(alert.last_seen), dataset: { ago: "" } }, timeAgo(alert.last_seen)),
    ),
    el("p", { class: "bearing" }, bearingSentence(alert)),
    bearingRange(alert) ? el("p", { class: "bearing-range" }, bearingRange(alert)) : null,
    picturesRemoved(alert) || // retention deleted them: say so, request nothing
      el(
        "a",
        { class: "picture", href: alert.evidence_url, target: "_blank", rel: "noopener", title: t("open_image") },
        evidencePicture(alert.evidence_url, alert.box, t("evidence_alt", { camera: cameraName })),
      ),
    incidentCameras(alert, state.cameras) ? el("p", { class: "incident" }, incidentCameras(alert, state.cameras)) : null,
    point
      ? el(
          "div",
          { class: "location" },
          el("div", { class: "where" }, t("location"), el("br"), el("strong", {}, coordinates(point)), ` ${t("uncertainty", { radius: distance(point.uncertainty_m) })}`),
          el(
            "div",
            { class: "map-links" },
            el("a", { class: "button map-app", href: links.geo }, t("open_map")),
            el("a", { class: "button osm", href: links.osm, target: "_blank", rel: "noopener noreferrer" }, t("open_osm")),
          ),
        )
      : el("p", { class: "location none" }, t("location_none")),
    el(
      "p",
      { class: "times" },
      `${t("first_seen")}: ${timeOfDay(alert.first_seen)} · ${t("last_seen")}: ${timeOfDay(alert.last_seen)} · ${t(alert.frame_count === 1 ? "frame_count_one" : "frame_count", { n: alert.frame_count })}`,
    ),
  );
}

/** Every active fire's one point, once per incident (its cameras' alerts share it). */
function activePoints(alerts) {
  const points = new Map();
  for (const alert of alerts) {
    const point = firePoint(alert);
    const key = alert.incident ? `incident-${alert.incident.id}` : `alert-${alert.id}`;
    if (point && !points.has(key)) points.set(key, point);
  }
  return [...points.values()];
}

function render() {
  const alerts = [...state.alerts.values()]
    .filter(isActive)
    .sort((a, b) => Date.parse(b.last_seen) - Date.parse(a.last_seen) || b.id - a.id)
    .slice(0, MAX_CARDS);
  // Cards are rebuilt only when their alert changed, so pictures do not reload; the age is refreshed on all.
  const nodes = alerts.map((alert) => {
    const key = `${alert.updated_at}|${alert.status}|${alert.last_seen}|${language()}|${state.cameras.length}`;
    let cached = cards.get(alert.id);
    if (!cached || cached.key !== key) {
      cached = { key, node: card(alert) };
      cards.set(alert.id, cached);
    }
    cached.node.querySelector(".ago").textContent = timeAgo(alert.last_seen);
    return cached.node;
  });
  for (const id of [...cards.keys()]) if (!state.alerts.has(id)) cards.delete(id);
  $("cards").replaceChildren(...nodes);
  const blind = state.cameras.filter(cameraBlind);
  $("blind").hidden = !blind.length;
  $("blind").replaceChildren(
    el("strong", {}, t("blind_cameras")),
    " ",
    blind.map((camera) => `${camera.name} (${t(`cam_${cameraState(camera)}`)})`).join(", "),
  );
  // Cameras on night settings (issue 12): rangers know smoke there is seen in infrared, less surely.
  const night = state.cameras.filter((camera) => !cameraBlind(camera) && camera.frame_mode && camera.frame_mode !== "day");
  $("night").hidden = !night.length;
  $("night").replaceChildren(
    el("strong", {}, t("night_cameras")),
    " ",
    night.map((camera) => `${camera.name} (${t(`mode_${camera.frame_mode}`)})`).join(", "),
  );
  const shown = alerts.filter((alert) => alert.bearing_deg != null);
  $("ranger-map").hidden = !state.cameras.length;
  if (state.cameras.length) {
    drawMap($("ranger-map"), { cameras: state.cameras, alerts: shown, locations: activePoints(alerts) });
  }
  $("no-active").hidden = alerts.length > 0;
  $("updated").textContent = state.updatedAt ? t("updated_at", { time: timeOfDay(state.updatedAt) }) : "";
  $("me").textContent = state.me ? t("signed_in_as", { name: state.me.name, role: t(`role_${state.me.role}`) }) : "";
  document.title = alerts.length ? `(${alerts.length}) ${t("ranger_title")}` : t("ranger_title");
}

function start() {
  translatePage();
  wireLanguageButtons();
  onLanguageChange(render);
  adoptTokenFromUrl();
  wireTheme();
  $("sign-out").addEventListener("click", async () => {
    await endSession();
    signIn(false);
  });
  setInterval(() => refreshAges(), 1000); // ages keep counting, with or without the server
  setInterval(render, 30_000);
  if (token.get()) feed = startFeed();
  else signIn(false);
}

start();
