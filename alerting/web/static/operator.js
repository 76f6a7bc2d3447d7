// Operator console: review flagged frames, confirm or dismiss them, watch camera health.
// With ?wall=1 it is the wall screen: the newest new alert full screen until acknowledged.
import { AuthError, ForbiddenError, HttpError, NetworkError, adoptTokenFromUrl, api, download, endSession, liveFeed, startSession, token } from "./api.js";
import { alarm } from "./alarm.js";
import { bearingRange, bearingSentence, coordinates, distance, firePoint, incidentCameras, labelText, localTime, mapLinks, scoreText, timeAgo, timeOfDay } from "./format.js";
import { onLanguageChange, t, translatePage, wireLanguageButtons } from "./i18n.js";
import { cameraState, drawMap } from "./map.js";
import { dangerBadge, dangerText, loadDanger, renderDanger, wireDanger } from "./danger.js"; // fire-danger levels (issue 12)
import { askForToken, el, evidencePicture, hideBanner, picturesRemoved, refreshAges, showBanner, showConnection, toast, wireTheme } from "./ui.js";

// Mirrors the store's transitions (alerting/store/repository.py TRANSITIONS).
const NEXT_STATUSES = {
  new: ["acknowledged", "confirmed", "dismissed", "other_smoke"],
  acknowledged: ["confirmed", "dismissed", "other_smoke"],
  confirmed: ["out"],
  dismissed: [],
  other_smoke: [],
  out: [],
};
// Confirm, dismiss, other smoke and out cannot be undone, so their keys must be pressed twice.
const VERDICTS = [
  { status: "acknowledged", key: "a", label: "btn_ack", twoStep: false },
  { status: "confirmed", key: "c", label: "btn_confirm", twoStep: true },
  { status: "dismissed", key: "d", label: "btn_dismiss", twoStep: true },
  { status: "other_smoke", key: "s", label: "btn_other_smoke", twoStep: true },
  { status: "out", key: "o", label: "btn_out", twoStep: true },
];
// Why a dismissal was wrong, for the next model; keys 1..7 pick one.
const REASONS = ["cloud", "fog_haze", "dust", "burning", "sun_glare", "lens", "other"];
const FILTERS = { open: ["new", "acknowledged", "confirmed"], active: ["confirmed"] };
const SORTS = {
  first_asc: (a, b) => Date.parse(a.first_seen) - Date.parse(b.first_seen) || a.id - b.id,
  first_desc: (a, b) => Date.parse(b.first_seen) - Date.parse(a.first_seen) || b.id - a.id,
  score: (a, b) => b.score - a.score || a.id - b.id,
  camera: (a, b) => a.camera_name.localeCompare(b.camera_name) || Date.parse(a.first_seen) - Date.parse(b.first_seen),
};
const SORT_KEY = "pinewatch.sort";
const PENDING_KEY = "pinewatch.pending";
const ARM_MS = 3000;
const LIST_LIMIT = 200;
const FRAME_PAGE = 20;
const PLAY_MS = 500;
const RECEIVING_S = 120; // a confirmed fire with a frame this recent is still being watched
const FLUSH_MS = 3000;
const WALL_REPEAT_MS = 15_000;
const CAMERA_SEVERITY = { error: 0, offline: 1, stale: 2, frozen: 2, unknown: 3, online: 4 };
const WRITER_ROLES = ["operator", "admin"];
const WALL = new URL(window.location.href).searchParams.get("wall") === "1";

const state = {
  alerts: new Map(), // the alerts matching the filter, by id
  order: [], // ids in display order: rows never move once shown (only a new sort or filter re-sorts)
  resort: true,
  total: 0,
  selectedId: null,
  detail: null, // the selected alert with its verdicts (frames: `player`)
  cameras: [],
  masks: [],
  me: null,
  filter: { status: "open", camera: "" }, // the wall screen always shows the open ones
  sort: SORTS[localStorage.getItem(SORT_KEY)] ? localStorage.getItem(SORT_KEY) : "first_asc",
  armed: null, // { status, timer } while a two-step key waits for its second press
  busy: false,
  pending: new Map(JSON.parse(localStorage.getItem(PENDING_KEY) || "[]")), // alert id -> verdict body not yet saved
  alarmed: new Set(), // new alerts that already rang
  incident: null, // the selected alert's incident with each camera's alert (issue 11), when it has several cameras
  loaded: false,
};
// The sequence player of the selected alert: frames fetched page by page.
const player = { alertId: null, order: "newest", items: [], total: 0, index: 0, timer: null, outline: true, closeUp: false, compare: false, key: "" };
const rows = new Map(); // alert id -> its <li>, reused so thumbnails do not reload
let feed = null;
let detailParts = null; // the selected alert's persistent elements (the note survives refreshes)
let wallTimer = null;

const $ = (id) => document.getElementById(id);

// ---- loading -------------------------------------------------------------

function filterStatuses() {
  if (FILTERS[state.filter.status]) return FILTERS[state.filter.status];
  return state.filter.status ? [state.filter.status] : [null];
}

function matchesFilter(alert) {
  const statuses = filterStatuses();
  return (statuses[0] === null || statuses.includes(alert.status)) && (!state.filter.camera || alert.camera_id === state.filter.camera);
}

async function loadAlerts() {
  const pages = await Promise.all(
    filterStatuses().map((status) => {
      const query = new URLSearchParams({ limit: LIST_LIMIT });
      if (status) query.set("status", status);
      if (state.filter.camera) query.set("camera_id", state.filter.camera);
      return api(`/api/alerts?${query}`);
    }),
  );
  const previous = state.alerts;
  state.alerts = new Map(pages.flatMap((page) => page.items).map((alert) => [alert.id, alert]));
  state.total = pages.reduce((sum, page) => sum + page.total, 0);
  placeRows();
  renderList();
  for (const alert of state.alerts.values()) noticeNew(alert, !state.loaded);
  if (!state.loaded) ringWaiting();
  state.loaded = true;
  const selected = state.alerts.get(state.selectedId);
  if (selected && changed(previous.get(state.selectedId), selected)) loadDetail(selected.id);
  if (state.selectedId === null && !WALL && state.order.length) select(state.order[0], true); // never "select an alert" while alerts wait
  renderWall();
}

async function loadCameras() {
  state.cameras = (await api("/api/cameras")).items;
  renderCameras();
  renderDanger(); // camera names in the level panel
  // Masks name their camera, and the names may arrive after the masks: re-render them only
  // when a name changed, so rows (and a half-pressed Remove) stay put otherwise.
  const names = state.cameras.map((camera) => `${camera.id}\t${camera.name}`).join("\n");
  if (names !== maskNamesKey && state.masks.length) renderMasks();
}

async function loadMasks() {
  if (!canWrite()) return; // GET /api/masks is for operators
  state.masks = (await api("/api/masks")).items;
  renderMasks();
}

async function signInBrowser() {
  state.me = await startSession(); // checks the token and sets the session cookie for pictures and the feed
  renderMe();
}

async function loadDetail(id) {
  try {
    const detail = await api(`/api/alerts/${id}?frame_limit=0`);
    if (state.selectedId !== id) return;
    const before = state.detail;
    state.detail = detail;
    loadIncident(detail);
    if (player.alertId !== id) resetPlayer(id);
    if (!player.items.length || (changed(before, detail) && player.index === 0 && player.timer === null && player.order === "newest")) {
      await loadFrames(true);
    } else {
      renderDetail();
    }
  } catch (error) {
    handleError(error);
  }
}

async function loadFrames(reset) {
  const id = player.alertId;
  const offset = reset ? 0 : player.items.length;
  const page = await api(`/api/alerts/${id}/frames?${new URLSearchParams({ offset, limit: FRAME_PAGE, order: player.order })}`);
  if (player.alertId !== id) return;
  player.items = reset ? page.items : [...player.items, ...page.items.filter((f) => !player.items.some((g) => g.id === f.id))];
  player.total = page.total;
  player.index = Math.min(player.index, Math.max(0, player.items.length - 1));
  renderDetail();
}

async function resync() {
  try {
    if (!state.me) await signInBrowser();
    await Promise.all([loadAlerts(), loadCameras(), loadMasks(), loadDanger()]);
    hideBanner();
    flushPending();
  } catch (error) {
    handleError(error);
  }
}

function changed(before, after) {
  return !before || before.updated_at !== after.updated_at || before.status !== after.status || before.last_seen !== after.last_seen;
}

// ---- stable order ----------------------------------------------------------

/** Keep the rows already shown where they are; put new ones where the sort says, among them. */
function placeRows() {
  const compare = SORTS[state.sort];
  if (state.resort) {
    state.order = [...state.alerts.values()].sort(compare).map((alert) => alert.id);
    state.resort = false;
    return;
  }
  const order = state.order.filter((id) => state.alerts.has(id));
  const shown = new Set(order);
  const arrivals = [...state.alerts.values()].filter((alert) => !shown.has(alert.id)).sort(compare);
  for (const alert of arrivals) {
    const at = order.findIndex((id) => compare(alert, state.alerts.get(id)) < 0);
    order.splice(at < 0 ? order.length : at, 0, alert.id);
  }
  state.order = order;
}

function ordered() {
  return state.order.map((id) => state.alerts.get(id)).filter(Boolean);
}

// ---- live updates --------------------------------------------------------

function applyAlert(alert) {
  const known = state.alerts.get(alert.id);
  if (matchesFilter(alert)) {
    if (!known) state.total += 1;
    state.alerts.set(alert.id, alert);
  } else if (known) {
    state.alerts.delete(alert.id);
    state.total -= 1;
  }
  placeRows();
  renderList();
  noticeNew(alert, false);
  if (alert.id === state.selectedId && changed(state.detail, alert)) loadDetail(alert.id);
  else if (alert.incident && alert.incident.id === state.detail?.incident?.id) loadIncident(state.detail); // another camera's view of the same fire
  if (state.selectedId === null && !WALL && state.order.length) select(state.order[0], true);
  renderWall();
}

function applyCamera(camera) {
  const index = state.cameras.findIndex((c) => c.id === camera.id);
  const masksChanged = index < 0 || JSON.stringify(state.cameras[index].masks) !== JSON.stringify(camera.masks);
  if (index >= 0) state.cameras[index] = camera;
  else state.cameras.push(camera);
  renderCameras();
  if (masksChanged) loadMasks().catch(handleError);
}

// ---- the alarm ---------------------------------------------------------------

/** A "new" alert this page has not rung for yet rings now (at start, all waiting ones ring once together). */
function noticeNew(alert, quietly) {
  if (alert.status !== "new" || state.alarmed.has(alert.id)) return;
  state.alarmed.add(alert.id);
  if (!quietly) ring(t("alarm_new", { label: labelText(alert.label), camera: alert.camera_name }), alert.id);
}

function ringWaiting() {
  const waiting = [...state.alerts.values()].filter((alert) => alert.status === "new");
  if (waiting.length) ring(t("alarm_waiting", { n: waiting.length }), waiting[0].id);
}

function ring(text, id) {
  const open = () => (WALL ? renderWall() : select(id));
  alarm.ring(text, { tag: `pinewatch-${id}`, onOpen: open });
  const banner = $("alarm-banner");
  banner.replaceChildren(
    el("strong", {}, text),
    el("button", { type: "button", class: "alarm-show", onclick: () => { alarm.quiet(); open(); } }, t("alarm_show")),
    el("button", { type: "button", class: "alarm-silence", onclick: () => alarm.quiet() }, t("alarm_silence")),
  );
  banner.hidden = WALL; // the wall screen is the banner
}

function renderAlarmControls() {
  $("alarm-banner").hidden = !alarm.blinking() || WALL;
  $("alarm-banner").classList.toggle("blink", alarm.blinking());
  const notify = alarm.notifications();
  const notifyButton = $("notify-toggle");
  notifyButton.hidden = notify === "unsupported";
  notifyButton.textContent = t(`notify_${notify === "unsupported" ? "off" : notify}`);
  notifyButton.disabled = notify !== "off";
  $("sound-toggle").textContent = t(alarm.soundOn() ? "sound_on" : "sound_off");
  $("sound-toggle").setAttribute("aria-pressed", String(alarm.soundOn()));
  $("sound-blocked").hidden = alarm.audible();
}

// ---- errors and signing in -------------------------------------------------

function handleError(error) {
  if (error instanceof AuthError) {
    signIn(true);
  } else if (error instanceof NetworkError) {
    showConnection("offline");
    showBanner(t("banner_network"), () => feed && feed.restart());
  } else if (error instanceof ForbiddenError) {
    toast(t("forbidden", { role: roleName() }), "error");
  } else {
    console.error(error);
    toast(t("error_request", { detail: error.message }), "error");
  }
}

async function signIn(rejected) {
  if (feed) feed.stop();
  state.me = null;
  await askForToken(rejected);
  if (feed) feed.restart();
  else feed = startFeed();
}

function startFeed() {
  return liveFeed({ resync, onAlert: applyAlert, onCamera: applyCamera, onState: showConnection, onReconnect: flushPending });
}

// ---- selection and verdicts ----------------------------------------------

/** `automatic`: the page chose it, not the operator, so the alarm goes on. */
function select(id, automatic = false) {
  if (id === state.selectedId) return;
  disarm();
  if (!automatic) alarm.quiet();
  stopPlaying();
  state.selectedId = id;
  state.detail = null;
  state.incident = null;
  dropDetail();
  const url = new URL(window.location.href);
  if (id === null) url.searchParams.delete("alert");
  else url.searchParams.set("alert", id);
  history.replaceState(null, "", url.pathname + url.search);
  renderList();
  renderDetail();
  if (id !== null) {
    rows.get(id)?.scrollIntoView({ block: "nearest" });
    loadDetail(id);
  }
}

function move(step) {
  const list = ordered();
  if (!list.length) return;
  const index = list.findIndex((alert) => alert.id === state.selectedId);
  const next = index < 0 ? 0 : Math.min(list.length - 1, Math.max(0, index + step));
  select(list[next].id);
}

function canWrite() {
  return state.me !== null && WRITER_ROLES.includes(state.me.role);
}

function allowed(status, alert = state.detail) {
  return canWrite() && alert !== null && !state.pending.has(alert.id) && NEXT_STATUSES[alert.status]?.includes(status);
}

function arm(status) {
  disarm();
  if (status === "dismissed" && detailParts && !detailParts.reason.value) {
    detailParts.hint.textContent = t("reason_needed"); // a dismissal always says why
    return;
  }
  const verdict = VERDICTS.find((v) => v.status === status);
  state.armed = { status, timer: setTimeout(() => { disarm(); renderButtons(); }, ARM_MS) };
  renderButtons();
  if (detailParts) detailParts.hint.textContent = t("press_again", { key: verdict.key.toUpperCase(), action: t(verdict.label) });
}

function disarm() {
  if (state.armed) clearTimeout(state.armed.timer);
  state.armed = null;
  if (detailParts) detailParts.hint.textContent = "";
}

function savePending() {
  localStorage.setItem(PENDING_KEY, JSON.stringify([...state.pending]));
}

async function submitVerdict(status) {
  disarm();
  if (state.busy || !allowed(status)) return;
  const id = state.detail.id;
  const reason = detailParts.reason.value;
  if (status === "dismissed" && !reason) {
    detailParts.hint.textContent = t("reason_needed");
    renderButtons();
    return;
  }
  const body = {
    status,
    note: detailParts.note.value.trim(),
    add_mask: status === "dismissed" && detailParts.mask.checked,
    reason: status === "dismissed" ? reason : null,
  };
  const incident = wholeIncident(state.detail);
  if (incident) body.incident_id = incident.id; // the same verdict for every camera's alert of this fire (issue 11)
  detailParts.note.value = "";
  detailParts.mask.checked = false;
  detailParts.reason.value = "";
  await sendVerdict(id, body);
}

/** Post a verdict; when the server cannot be reached it stays queued (in this browser) and is sent later. */
async function sendVerdict(id, body) {
  state.busy = true;
  renderButtons();
  try {
    const updated = await postVerdict(id, body);
    verdictSaved(id, updated);
  } catch (error) {
    if (error instanceof NetworkError || (error instanceof HttpError && error.status >= 500)) {
      state.pending.set(id, { ...body, queuedBy: state.me?.name ?? "" }); // sent only as the same user
      savePending();
      toast(t("verdict_queued", { id, status: t(`status_${body.status}`) }), "error");
      renderList();
      renderDetail();
    } else {
      handleError(error);
      if (error instanceof HttpError && error.status === 409) {
        resync(); // someone else decided first: show what the alert is now
        if (id === state.selectedId) loadDetail(id);
      }
    }
  } finally {
    state.busy = false;
    renderButtons();
  }
}

function verdictSaved(id, updated) {
  toast(t("verdict_saved", { id, status: t(`status_${updated.status}`) }), "ok");
  const position = ordered().findIndex((alert) => alert.id === id);
  applyAlert(updated);
  if (id !== state.selectedId) return;
  if (matchesFilter(updated)) {
    loadDetail(id);
  } else {
    const list = ordered(); // it left the view: go on with the alert that took its place
    select(list.length ? list[Math.min(Math.max(position, 0), list.length - 1)].id : null);
  }
}

let flushing = false;
async function flushPending() {
  if (flushing || !state.pending.size) return;
  flushing = true;
  try {
    for (const [id, queued] of [...state.pending]) {
      const { queuedBy, ...body } = queued;
      if (!state.me) break;
      if (queuedBy !== state.me.name) {
        state.pending.delete(id); // another user signed in here: never send it in their name
        savePending();
        toast(t("verdict_refused", { id, detail: t("queued_by_other", { name: queuedBy }) }), "error");
        continue;
      }
      try {
        const updated = await postVerdict(id, body);
        state.pending.delete(id);
        savePending();
        verdictSaved(id, updated);
      } catch (error) {
        if (error instanceof NetworkError || (error instanceof HttpError && error.status >= 500)) break; // still away
        state.pending.delete(id); // refused (decided by someone else, or not allowed): say so, drop it
        savePending();
        toast(t("verdict_refused", { id, detail: error.message }), "error");
        if (error instanceof AuthError) signIn(true);
      }
    }
  } finally {
    flushing = false;
    renderList();
    renderDetail();
  }
}

function onKey(event) {
  alarm.quiet();
  if (event.ctrlKey || event.metaKey || event.altKey || document.querySelector("dialog[open]")) return;
  if (event.target.closest("input, textarea, select")) {
    if (event.key === "Escape") event.target.blur();
    return;
  }
  const key = event.key;
  if (WALL) {
    if (key === "a") acknowledgeOnWall();
    return;
  }
  if (key === "j" || key === "ArrowDown") move(1);
  else if (key === "k" || key === "ArrowUp") move(-1);
  else if (key === "n" && detailParts) detailParts.note.focus();
  else if (key === "," || key === "ArrowLeft") step(-1);
  else if (key === "." || key === "ArrowRight") step(1);
  else if (key === "p") togglePlay();
  else if (key === "b" && state.detail?.before_url) setCompare(!player.compare);
  else if (/^[1-7]$/.test(key) && detailParts && allowed("dismissed")) {
    detailParts.reason.value = REASONS[Number(key) - 1];
    if (!state.armed) detailParts.hint.textContent = "";
  } else if (key === "Escape") {
    disarm();
    renderButtons();
  } else {
    const verdict = VERDICTS.find((v) => v.key === key);
    if (!verdict) return;
    if (!verdict.twoStep || state.armed?.status === verdict.status) submitVerdict(verdict.status);
    else if (allowed(verdict.status)) arm(verdict.status);
  }
  event.preventDefault();
}

// ---- the sequence player ---------------------------------------------------

function resetPlayer(alertId) {
  stopPlaying();
  Object.assign(player, { alertId, items: [], total: 0, index: 0, key: "" });
}

/** Move along the sequence (in its order); fetch the next page when the step leaves the loaded ones. */
async function step(delta) {
  if (!player.items.length) return false;
  const target = player.index + delta;
  if (target < 0) return false;
  if (target >= player.items.length) {
    if (player.items.length >= player.total) return false;
    try {
      await loadFrames(false);
    } catch (error) {
      handleError(error);
      return false;
    }
    if (target >= player.items.length) return false;
  }
  player.index = target;
  renderDetail();
  return true;
}

function togglePlay() {
  if (player.timer !== null) {
    stopPlaying();
  } else if (player.items.length) {
    if (player.index >= player.total - 1) player.index = 0; // at the end: play again from the start
    player.timer = setInterval(async () => {
      if (!(await step(1))) {
        stopPlaying();
        renderDetail();
      }
    }, PLAY_MS);
  }
  renderDetail();
}

/** Side by side with the camera's last frame before the smoke (when the alert has one). */
function setCompare(on) {
  player.compare = on;
  player.key = "";
  if (detailParts) detailParts.compare.checked = on;
  renderDetail();
}

function stopPlaying() {
  clearInterval(player.timer);
  player.timer = null;
}

function setPlayerOrder(order) {
  stopPlaying();
  player.order = order;
  player.items = [];
  player.index = 0;
  loadFrames(true).catch(handleError);
}

/** The frame's number counted from the oldest. */
function frameNumber(index) {
  return player.order === "newest" ? player.total - index : index + 1;
}

// ---- rendering -----------------------------------------------------------

function frameCount(n) {
  return t(n === 1 ? "frame_count_one" : "frame_count", { n });
}

function statusBadge(status) {
  return el("span", { class: `badge status-${status}` }, t(`status_${status}`));
}

function receiving(alert) {
  return alert.status === "confirmed" && Date.now() - Date.parse(alert.last_seen) < RECEIVING_S * 1000;
}

function ago(iso, extra = {}) {
  return el("time", { datetime: iso, title: localTime(iso), dataset: { ago: "" }, ...extra }, timeAgo(iso));
}

/** The alert's small picture, or a note that retention removed it (its URL is not requested then). */
function thumbnail(alert, alt) {
  const removed = picturesRemoved(alert);
  if (removed) return el("div", { class: "thumb removed", role: "img", "aria-label": removed.title, title: removed.title }, "✕");
  return el("img", { class: "thumb", src: alert.evidence_url, alt, loading: "lazy" });
}

function renderList() {
  const list = ordered();
  for (const id of [...rows.keys()]) if (!state.alerts.has(id)) rows.delete(id);
  const nodes = list.map((alert) => {
    let row = rows.get(alert.id);
    if (!row) {
      row = el("li", { role: "option", id: `alert-${alert.id}`, onclick: () => select(alert.id) });
      rows.set(alert.id, row);
    }
    const evidenceKey = alert.evidence_deleted_at ? "removed" : alert.evidence_url;
    if (row.dataset.evidence !== evidenceKey) {
      row.dataset.evidence = evidenceKey;
      row.replaceChildren(thumbnail(alert, ""), el("div", { class: "row-text" }));
    }
    row.className = `alert-row status-${alert.status} label-${alert.label}`;
    row.dataset.id = alert.id;
    row.setAttribute("aria-selected", String(alert.id === state.selectedId));
    row.querySelector(".row-text").replaceChildren(
      ...[
      el("div", { class: "row-title" }, el("strong", {}, labelText(alert.label)), ` · ${alert.camera_name}`, statusBadge(alert.status), dangerBadge(alert.danger_level)),
      el("div", { class: "row-meta" }, t("first_seen_short"), " ", ago(alert.first_seen), ` · ${t("score_max_short", { score: scoreText(alert.score) })} · ${frameCount(alert.frame_count)}`),
      receiving(alert) ? el("div", { class: "row-receiving" }, t("receiving_frames")) : null,
      alert.incident?.camera_ids.length > 1
        ? el("div", { class: "row-incident", dataset: { incident: alert.incident.id } }, t("incident_badge", { id: alert.incident.id, n: alert.incident.camera_ids.length }))
        : null,
      state.pending.has(alert.id) ? el("div", { class: "row-pending" }, t("not_saved_short")) : null,
      ].filter(Boolean),
    );
    return row;
  });
  $("alert-list").replaceChildren(...nodes);
  $("no-alerts").hidden = nodes.length > 0;
  $("alert-count").textContent = t("alerts_count", { shown: nodes.length, total: state.total });
  const waiting = list.filter((alert) => alert.status === "new").length;
  alarm.setTitle(waiting ? `(${waiting}) ${t("app_name")}` : t("app_name"));
  if (!waiting && state.filter.status === "open") alarm.quiet(); // nothing new is left to announce
}

/** "last frame 12 s ago" from the heartbeat when there is one, else the last message about the camera. */
function lastFrame(camera) {
  const at = camera.last_frame_at || camera.last_seen;
  if (!at) return el("span", { class: "camera-seen" }, t("never_seen"));
  return el("span", { class: "camera-seen" }, t(camera.last_frame_at ? "last_frame" : "last_message"), " ", ago(at));
}

/** Day, night (IR) or low light: which thresholds the camera runs now (issue 12); nothing before its first frame. */
function frameMode(camera) {
  const mode = camera.frame_mode;
  if (!mode) return "";
  return el("span", { class: `camera-mode mode-${mode}`, title: t(`mode_hint_${mode}`) }, t(`mode_${mode}`));
}

let cameraOptionsKey = "";

function renderCameras(force = false) {
  if (detailParts && state.detail) renderMap(state.detail); // health colours on the map
  const cameras = [...state.cameras].sort(
    (a, b) => (CAMERA_SEVERITY[cameraState(a)] ?? 3) - (CAMERA_SEVERITY[cameraState(b)] ?? 3) || a.name.localeCompare(b.name),
  );
  $("camera-list").replaceChildren(
    ...(cameras.length
      ? cameras.map((camera) =>
          el(
            "li",
            { class: `camera status-${cameraState(camera)}`, title: camera.status_detail || camera.id, dataset: { id: camera.id } },
            el("span", { class: "dot", "aria-hidden": "true" }),
            el("span", { class: "camera-name" }, camera.name),
            el("span", { class: "camera-status" }, t(`cam_${cameraState(camera)}`)),
            frameMode(camera),
            lastFrame(camera),
          ),
        )
      : [el("li", { class: "empty" }, t("no_cameras"))]),
  );
  // Rebuilt only when the cameras change, so an open drop-down is not closed under the user.
  const key = state.cameras.map((camera) => `${camera.id}\t${camera.name}`).join("\n");
  if (key === cameraOptionsKey && !force) return;
  cameraOptionsKey = key;
  const select = $("filter-camera");
  const chosen = select.value;
  select.replaceChildren(
    el("option", { value: "" }, t("all_cameras")),
    ...state.cameras.map((camera) => el("option", { value: camera.id }, camera.name)),
  );
  select.value = chosen;
}

let armedMask = null;
let maskNamesKey = null; // camera names the mask list was last drawn with

/** Operator masks can be removed (two clicks); config masks only in the config file. */
function renderMasks() {
  maskNamesKey = state.cameras.map((camera) => `${camera.id}\t${camera.name}`).join("\n");
  const names = new Map(state.cameras.map((camera) => [camera.id, camera.name]));
  $("masks").hidden = !canWrite();
  $("mask-list").replaceChildren(
    ...(state.masks.length
      ? state.masks.map((mask) =>
          el(
            "li",
            { class: `mask source-${mask.source}`, dataset: { id: mask.id } },
            el("span", { class: "mask-camera" }, names.get(mask.camera_id) || mask.camera_id),
            el(
              "span",
              { class: "mask-origin" },
              mask.source === "config" ? t("mask_config") : t("mask_operator", { by: mask.created_by, id: mask.alert_id ?? "?" }),
            ),
            mask.deletable
              ? el(
                  "button",
                  { type: "button", class: `mask-remove${armedMask === mask.id ? " armed" : ""}`, onclick: () => removeMask(mask.id) },
                  t(armedMask === mask.id ? "mask_remove_again" : "mask_remove"),
                )
              : null,
          ),
        )
      : [el("li", { class: "empty" }, t("no_masks"))]),
  );
}

async function removeMask(id) {
  if (armedMask !== id) {
    armedMask = id;
    renderMasks();
    return;
  }
  armedMask = null;
  try {
    await api(`/api/masks/${id}`, { method: "DELETE" });
    toast(t("mask_removed"), "ok");
    await loadMasks();
  } catch (error) {
    handleError(error);
    renderMasks();
  }
}

function renderMe() {
  $("me").textContent = state.me ? t("signed_in_as", { name: state.me.name, role: roleName() }) : "";
  $("export-csv").hidden = !canWrite();
  $("masks").hidden = !canWrite();
  renderDanger(); // the admin's level form
  renderButtons();
}

function roleName() {
  return state.me ? t(`role_${state.me.role}`) : "";
}

function buildDetail() {
  const note = el("textarea", { id: "verdict-note", rows: "2", maxlength: "2000" });
  const mask = el("input", { type: "checkbox", id: "verdict-mask" });
  const reason = el(
    "select",
    { id: "dismiss-reason" },
    el("option", { value: "" }, t("reason_choose")),
    ...REASONS.map((value, index) => el("option", { value }, `${index + 1} · ${t(`reason_${value}`)}`)),
  );
  const buttons = VERDICTS.map((verdict) =>
    el(
      "button",
      {
        type: "button",
        class: `verdict verdict-${verdict.status}`,
        dataset: { status: verdict.status },
        onclick: () => submitVerdict(verdict.status),
      },
      el("span", {}, t(verdict.label)),
      el("kbd", {}, verdict.twoStep ? `${verdict.key} ${verdict.key}` : verdict.key),
    ),
  );
  const control = (cls, label, onclick, text) => el("button", { type: "button", class: cls, title: t(label), "aria-label": t(label), onclick }, text);
  const outline = el("input", { type: "checkbox", id: "toggle-outline", checked: player.outline, onchange: (e) => { player.outline = e.target.checked; player.key = ""; renderDetail(); } });
  const closeUp = el("input", { type: "checkbox", id: "toggle-closeup", checked: player.closeUp, onchange: (e) => { player.closeUp = e.target.checked; player.key = ""; renderDetail(); } });
  const compare = el("input", { type: "checkbox", id: "toggle-compare", checked: player.compare, onchange: (e) => setCompare(e.target.checked) });
  const order = el(
    "select",
    { id: "player-order", onchange: (e) => setPlayerOrder(e.target.value) },
    el("option", { value: "newest" }, t("order_newest")),
    el("option", { value: "oldest" }, t("order_oldest")),
  );
  order.value = player.order;
  const parts = {
    header: el("header", { class: "detail-header" }),
    state: el("p", { class: "detail-state", role: "status" }),
    stage: el("div", { class: "stage" }),
    caption: el("p", { class: "frame-caption" }),
    play: control("player-play", "player_play", togglePlay, "▶"),
    controls: null,
    compare,
    compareLabel: el("label", { class: "check compare-toggle" }, compare, el("span", {}, t("toggle_compare"))),
    filmstrip: el("ol", { class: "filmstrip", "aria-label": t("frames") }),
    more: el("button", { type: "button", class: "frames-more", onclick: () => loadFrames(false).catch(handleError) }),
    facts: el("dl", { class: "facts" }),
    map: el("div", { class: "alert-map", id: "alert-map", role: "img", "aria-label": t("map_label") }),
    history: el("ol", { class: "history" }),
    historyHeading: el("h3", {}, t("history")),
    hint: el("p", { class: "arm-hint", role: "status" }),
    readOnly: el("p", { class: "read-only" }, t("read_only")),
    dismissOptions: null,
    note,
    mask,
    reason,
    buttons,
  };
  parts.controls = el(
    "div",
    { class: "player", role: "group", "aria-label": t("player") },
    control("player-first", "player_first", () => { stopPlaying(); player.index = 0; renderDetail(); }, "⇤"),
    control("player-prev", "player_prev", () => { stopPlaying(); step(-1); }, "←"),
    parts.play,
    control("player-next", "player_next", () => { stopPlaying(); step(1); }, "→"),
    el("label", {}, order),
    el("label", { class: "check" }, outline, el("span", {}, t("toggle_outline"))),
    el("label", { class: "check" }, closeUp, el("span", {}, t("toggle_closeup"))),
    parts.compareLabel,
  );
  parts.dismissOptions = el(
    "div",
    { class: "dismiss-options" },
    el("label", { class: "reason" }, el("span", {}, t("reason_label")), reason),
    el("label", { class: "mask" }, mask, el("span", {}, t("add_mask"))),
  );
  const form = el(
    "form",
    { class: "verdict-form", onsubmit: (event) => event.preventDefault() },
    el("label", { class: "note" }, el("span", {}, t("verdict_note")), note),
    parts.dismissOptions,
    el("div", { class: "verdict-buttons" }, buttons),
    parts.hint,
    parts.readOnly,
  );
  $("detail").replaceChildren(
    parts.header,
    parts.state,
    el(
      "div",
      { class: "detail-body" },
      el("div", { class: "media" }, parts.stage, parts.caption, parts.controls, parts.filmstrip, parts.more),
      el("div", { class: "side" }, parts.facts, parts.map, form, parts.historyHeading, parts.history),
    ),
  );
  return parts;
}

function renderDetail() {
  const detail = state.detail;
  if (state.selectedId === null) {
    $("detail").replaceChildren(el("p", { class: "empty" }, t(state.order.length ? "select_alert" : "no_alerts_waiting")));
    return;
  }
  if (!detailParts) detailParts = buildDetail();
  if (!detail) {
    detailParts.header.replaceChildren(el("h2", {}, t("loading")));
    renderButtons();
    return;
  }
  detailParts.header.replaceChildren(
    el("h2", {}, `${labelText(detail.label)} · ${detail.camera_name}`),
    statusBadge(detail.status),
    el("span", { class: "alert-id" }, t("alert_number", { id: detail.id })),
  );
  renderDetailState(detail);
  renderPlayer(detail);
  renderFacts(detail);
  renderMap(detail);
  detailParts.history.replaceChildren(
    ...(detail.verdicts || []).map((verdict) =>
      el(
        "li",
        {},
        el("strong", {}, t("history_entry", { status: t(`status_${verdict.status}`), by: verdict.by })),
        ` · ${localTime(verdict.at)}`,
        verdict.reason ? ` · ${t(`reason_${verdict.reason}`)}` : null,
        verdict.note ? el("q", {}, verdict.note) : null,
      ),
    ),
  );
  detailParts.historyHeading.hidden = !(detail.verdicts || []).length;
  renderButtons();
}

/** One line on what the alert is now: still burning, queued verdict, or closed (only once no frames come). */
function renderDetailState(detail) {
  const node = detailParts.state;
  const pending = state.pending.get(detail.id);
  const lastVerdict = (detail.verdicts || []).at(-1);
  let text = "";
  let kind = "";
  if (pending) {
    text = t("verdict_not_saved", { status: t(`status_${pending.status}`) });
    kind = "pending";
  } else if (detail.status === "confirmed") {
    text = receiving(detail) ? t("active_receiving", { ago: timeAgo(detail.last_seen) }) : t("active_until_out");
    kind = "active";
  } else if (!NEXT_STATUSES[detail.status]?.length) {
    const framesAfter = lastVerdict && Date.parse(detail.last_seen) > Date.parse(lastVerdict.at);
    text = framesAfter ? t("frames_after_verdict") : t("verdict_final", { status: t(`status_${detail.status}`) });
    kind = `closed${framesAfter ? " receiving" : ""}`;
  }
  node.textContent = text;
  node.hidden = !text;
  node.className = `detail-state ${kind}`;
}

function renderPlayer(detail) {
  const frame = player.items[player.index] || null;
  const picture = frame || { evidence_url: detail.evidence_url, box: detail.box };
  const removed = Boolean(detail.evidence_deleted_at); // retention deleted every picture of it
  const before = player.compare && detail.before_url && !removed ? detail.before_url : null;
  const key = removed ? "removed" : `${picture.evidence_url}|${player.outline}|${player.closeUp}|${before}`;
  if (key !== player.key && removed) {
    player.key = key;
    detailParts.stage.replaceChildren(picturesRemoved(detail));
  } else if (key !== player.key) {
    player.key = key;
    // The same outline and close-up on both pictures: what differs between them is the smoke.
    const zoomed = (url, alt) => {
      const shown = evidencePicture(url, player.outline ? picture.box : null, alt);
      if (player.closeUp && Array.isArray(picture.box)) {
        const [x1, y1, x2, y2] = picture.box;
        const scale = Math.min(4, Math.max(1, 0.7 / Math.max(x2 - x1, y2 - y1, 0.01)));
        shown.style.transformOrigin = `${((x1 + x2) / 2) * 100}% ${((y1 + y2) / 2) * 100}%`;
        shown.style.transform = `scale(${scale})`;
      }
      return el("div", { class: `zoom${player.closeUp ? " close-up" : ""}` }, shown);
    };
    const current = zoomed(picture.evidence_url, t("evidence_alt", { camera: detail.camera_name }));
    detailParts.stage.replaceChildren(
      before
        ? el(
            "div",
            { class: "compare" },
            el("figure", { class: "before" }, zoomed(before, t("before_alt", { camera: detail.camera_name })), el("figcaption", {}, t("before_caption", { time: localTime(detail.before_at) }))),
            el("figure", { class: "current" }, current),
          )
        : current,
    );
  }
  detailParts.compare.disabled = !detail.before_url || removed;
  detailParts.compareLabel.title = removed ? "" : detail.before_url ? "" : t("compare_none");
  detailParts.compareLabel.classList.toggle("unavailable", !detail.before_url || removed);
  detailParts.caption.replaceChildren(
    ...(frame
      ? [
          el("strong", { class: "frame-position" }, t("frame_position", { n: frameNumber(player.index), total: player.total })),
          ` · ${localTime(frame.captured_at)} · `,
          el("span", { class: "frame-score" }, t("frame_score", { score: scoreText(frame.score) })),
        ]
      : [t("loading")]),
  );
  detailParts.play.textContent = player.timer === null ? "▶" : "❚❚";
  detailParts.play.setAttribute("aria-label", t(player.timer === null ? "player_play" : "player_pause"));
  detailParts.play.title = t(player.timer === null ? "player_play" : "player_pause");
  detailParts.controls.querySelector(".player-prev").disabled = player.index <= 0;
  detailParts.controls.querySelector(".player-next").disabled = player.index >= player.total - 1;
  // The strip holds only the pages fetched so far, rebuilt when they change.
  const stripKey = `${removed}|${player.items.map((f) => f.id).join(",")}`;
  if (detailParts.filmstrip.dataset.key !== stripKey) {
    detailParts.filmstrip.dataset.key = stripKey;
    detailParts.filmstrip.replaceChildren(
      ...player.items.map((item, index) =>
        el(
          "li",
          {},
          el(
            "button",
            {
              type: "button",
              class: "frame",
              dataset: { index },
              title: t("frame_title", { n: frameNumber(index), time: localTime(item.captured_at), score: scoreText(item.score) }),
              onclick: () => {
                stopPlaying();
                player.index = index;
                renderDetail();
              },
            },
            removed ? null : el("img", { src: item.evidence_url, alt: "", loading: "lazy" }),
            el("span", {}, timeOfDay(item.captured_at)),
          ),
        ),
      ),
    );
  }
  for (const button of detailParts.filmstrip.querySelectorAll(".frame")) {
    const current = Number(button.dataset.index) === player.index;
    button.setAttribute("aria-current", String(current));
    if (current && player.timer !== null) button.scrollIntoView({ block: "nearest", inline: "nearest" });
  }
  const left = player.total - player.items.length;
  detailParts.more.hidden = left <= 0;
  detailParts.more.textContent = t("frames_more", { n: Math.min(left, FRAME_PAGE), left });
}

/** Every camera's cone, the ray of each camera's view of this fire (its incident), and the incident's one point. */
function renderMap(detail) {
  drawMap(detailParts.map, { cameras: state.cameras, alerts: [detail, ...incidentPartners(detail)], location: firePoint(detail) });
}

function dropDetail() {
  detailParts?.map._pinewatch?.map.remove(); // Leaflet listens on the window: let the old map go
  detailParts = null;
}

function renderFacts(detail) {
  const fact = (key, ...value) => [el("dt", {}, t(key)), el("dd", {}, ...value)];
  const location = firePoint(detail); // the incident's one point when several cameras see the fire
  let where = t("location_none");
  if (location) {
    const links = mapLinks(location);
    where = [
      el("span", { class: "point" }, `${coordinates(location)} (${t("uncertainty", { radius: distance(location.uncertainty_m) })})`),
      detail.incident?.location ? el("small", { class: "point-source" }, ` · ${t("incident_point", { n: location.camera_ids.length })}`) : null,
      " ",
      el("a", { href: links.osm, target: "_blank", rel: "noopener noreferrer" }, t("open_osm")),
      " · ",
      el("a", { href: links.geo }, t("open_map")),
    ];
  }
  detailParts.facts.replaceChildren(
    ...fact("camera", `${detail.camera_name} (${detail.camera_id})`),
    ...fact("bearing", bearingSentence(detail), el("br"), el("small", {}, bearingRange(detail))),
    ...fact("location", where),
    ...fact("first_seen", el("time", { datetime: detail.first_seen, class: "first-seen" }, localTime(detail.first_seen))),
    ...fact("last_seen", el("time", { datetime: detail.last_seen, class: "last-seen" }, localTime(detail.last_seen)), " (", ago(detail.last_seen), ")"),
    ...fact("score_max", el("span", { class: "score-max" }, scoreText(detail.score))),
    ...fact("frames", String(detail.frame_count)),
    ...(detail.danger_level ? fact("danger_fact", el("span", { class: "danger-fact" }, dangerBadge(detail.danger_level), " ", dangerText(detail.danger_level))) : []),
    ...(detail.escalation_tier ? fact("escalation", t("escalated_tier", { tier: detail.escalation_tier })) : []),
  );
  renderIncident(detail);
}

// ---- incidents (issue 11): one fire seen by several cameras --------------------------

const WHOLE_INCIDENT_KEY = "pinewatch.wholeIncident";
state.wholeIncident = localStorage.getItem(WHOLE_INCIDENT_KEY) === "true"; // off unless the operator ticks it

/** The incident a verdict on `detail` goes to as a whole, or null (not ticked, or one alert only). */
function wholeIncident(detail) {
  const incident = state.incident;
  return state.wholeIncident && incident && incident.id === detail?.incident?.id && incident.alerts.length > 1 ? incident : null;
}

/**
 * One alert's verdict, or with body.incident_id the incident's (each of its alerts that can take
 * it); resolves to the alert `id` as it is now. Queued verdicts are sent again the same way.
 */
async function postVerdict(id, body) {
  const { incident_id: incidentId, ...verdict } = body;
  if (!incidentId) return api(`/api/alerts/${id}/verdict`, { method: "POST", body: verdict });
  const result = await api(`/api/incidents/${incidentId}/verdict`, { method: "POST", body: verdict });
  const mine = result.incident.alerts.find((alert) => alert.id === id);
  for (const alert of result.incident.alerts) if (alert.id !== id) applyAlert(alert);
  if (state.incident?.id === result.incident.id) state.incident = result.incident;
  return mine || api(`/api/alerts/${id}`);
}

/** The other cameras' alerts of the detail's incident: from the fetched incident, else from the list. */
function incidentPartners(detail) {
  const id = detail?.incident?.id;
  if (!id) return [];
  const members = state.incident?.id === id ? state.incident.alerts : [...state.alerts.values()].filter((a) => a.incident?.id === id);
  // One ray per camera: each camera's latest alert speaks for it (the detail's own camera is the detail).
  const latest = new Map();
  for (const alert of members) {
    if (alert.camera_id === detail.camera_id) continue;
    const known = latest.get(alert.camera_id);
    if (!known || Date.parse(alert.last_seen) > Date.parse(known.last_seen)) latest.set(alert.camera_id, alert);
  }
  return [...latest.values()];
}

/** Fetch the selected alert's incident (each camera's alert) when more than one camera sees the fire. */
let incidentRequest = 0;
async function loadIncident(detail) {
  const ref = detail?.incident;
  if (!ref || ref.camera_ids.length < 2) {
    state.incident = null;
    if (detailParts) renderIncident(detail);
    return;
  }
  const request = ++incidentRequest;
  try {
    const incident = await api(`/api/incidents/${ref.id}`);
    if (request !== incidentRequest || state.detail?.incident?.id !== incident.id) return; // a later one is on its way
    state.incident = incident;
    if (detailParts && state.detail) {
      renderIncident(state.detail);
      renderMap(state.detail);
    }
  } catch (error) {
    if (error instanceof HttpError && error.status === 404) return; // merged into another: the alert's next update names it
    handleError(error);
  }
}

/** "Incident #4 · seen by 2 cameras" and each camera's view (picture, bearing, status); a click shows that alert. */
function renderIncident(detail) {
  const incident = state.incident?.id === detail.incident?.id ? state.incident : null;
  let panel = detailParts.incident;
  if (!incident) {
    panel?.remove();
    detailParts.incident = null;
    return;
  }
  const views = incident.alerts;
  const key = JSON.stringify([detail.id, incident.updated_at, views.map((a) => [a.id, a.status, a.evidence_url, a.evidence_deleted_at, a.bearing_deg]), incidentCameras(detail, state.cameras), canWrite(), document.documentElement.lang]);
  if (panel && panel.dataset.key === key) return; // unchanged: pictures are not reloaded while the player plays
  const fresh = el(
    "section",
    { class: "incident", dataset: { id: incident.id, key }, "aria-label": t("incident_heading", { id: incident.id }) },
    el("h3", {}, t("incident_heading", { id: incident.id }), " · ", el("span", { class: "incident-cameras" }, incidentCameras(detail, state.cameras))),
    el("p", { class: "incident-views-label" }, t("incident_views")),
    canWrite()
      ? el(
          "label",
          { class: "check incident-whole" },
          el("input", {
            type: "checkbox",
            id: "whole-incident",
            checked: state.wholeIncident,
            onchange: (event) => {
              state.wholeIncident = event.target.checked;
              localStorage.setItem(WHOLE_INCIDENT_KEY, JSON.stringify(state.wholeIncident));
            },
          }),
          el("span", {}, t("incident_verdict_all", { n: views.length })),
        )
      : null,
    el(
      "ul",
      { class: "incident-views" },
      ...views.map((alert) =>
        el(
          "li",
          { class: `incident-view status-${alert.status}${alert.id === detail.id ? " current" : ""}`, dataset: { alertId: alert.id, cameraId: alert.camera_id } },
          thumbnail(alert, t("evidence_alt", { camera: alert.camera_name })),
          el(
            "div",
            { class: "incident-view-text" },
            el("strong", {}, alert.camera_name), " ", statusBadge(alert.status),
            el("br"),
            el("span", { class: "incident-bearing" }, bearingSentence(alert)),
            el("br"),
            alert.id === detail.id
              ? el("small", {}, t("incident_shown"))
              : el("button", { type: "button", class: "link incident-open", onclick: () => select(alert.id) }, t("incident_open_alert", { id: alert.id })),
          ),
        ),
      ),
    ),
  );
  if (panel) panel.replaceWith(fresh);
  else detailParts.facts.after(fresh);
  detailParts.incident = fresh;
}

function renderButtons() {
  if (!detailParts) return;
  for (const button of detailParts.buttons) {
    const status = button.dataset.status;
    button.disabled = state.busy || !allowed(status);
    button.hidden = !NEXT_STATUSES[state.detail?.status]?.includes(status);
    button.classList.toggle("armed", state.armed?.status === status);
  }
  const dismissable = allowed("dismissed");
  detailParts.mask.disabled = !dismissable;
  detailParts.reason.disabled = !dismissable;
  detailParts.dismissOptions.hidden = !NEXT_STATUSES[state.detail?.status]?.includes("dismissed");
  detailParts.readOnly.hidden = state.me === null || canWrite();
}

// ---- the wall screen ---------------------------------------------------------

function wallAlert() {
  return [...state.alerts.values()].filter((alert) => alert.status === "new").sort(SORTS.first_desc)[0] || null;
}

function renderWall() {
  if (!WALL) return;
  const alert = wallAlert();
  const wall = $("wall");
  wall.classList.toggle("alarming", alert !== null);
  clearInterval(wallTimer);
  wallTimer = null;
  const dropWallMap = () => $("wall-map")?._pinewatch?.map.remove();
  if (alert === null) {
    dropWallMap();
    const active = [...state.alerts.values()].filter((a) => a.status === "confirmed").length;
    wall.replaceChildren(
      el("p", { class: "wall-calm" }, t("wall_calm")),
      active ? el("p", { class: "wall-active" }, t("wall_active", { n: active })) : null,
    );
    return;
  }
  const waiting = [...state.alerts.values()].filter((a) => a.status === "new").length;
  if (wall.dataset.id !== String(alert.id) || !wall.querySelector(".wall-alert")) {
    dropWallMap();
    wall.replaceChildren(
      el(
        "article",
        { class: "wall-alert", dataset: { id: alert.id } },
        el("h2", { class: "wall-title" }, t("wall_new")),
        el("p", { class: "wall-bearing" }, bearingSentence(alert)),
        alert.danger_level ? el("p", { class: "wall-danger" }, dangerBadge(alert.danger_level), " ", dangerText(alert.danger_level)) : null,
        el("p", { class: "wall-meta" }, t("first_seen"), " ", ago(alert.first_seen), ` · ${t("score_max_short", { score: scoreText(alert.score) })}`),
        el(
          "div",
          { class: "wall-body" },
          el("div", { class: "wall-picture" }, picturesRemoved(alert) || evidencePicture(alert.evidence_url, alert.box, t("evidence_alt", { camera: alert.camera_name }))),
          el("div", { class: "wall-map", id: "wall-map", role: "img", "aria-label": t("map_label") }),
        ),
        el("p", { class: "wall-location" }),
        el("p", { class: "wall-incident" }),
        el("p", { class: "wall-waiting" }),
        el("button", { type: "button", class: "verdict verdict-acknowledged wall-ack", onclick: acknowledgeOnWall }, el("span", {}, t("btn_ack")), el("kbd", {}, "a")),
      ),
    );
  }
  wall.dataset.id = alert.id;
  // The fire's one point and the cameras that see it, kept current (a second camera may join later).
  const point = firePoint(alert);
  wall.querySelector(".wall-location").textContent = point ? `${coordinates(point)} ${t("uncertainty", { radius: distance(point.uncertainty_m) })}` : "";
  wall.querySelector(".wall-incident").textContent = incidentCameras(alert, state.cameras);
  // The other cameras' views of the same fire (its incident) and the incident's one point.
  const partners = [...state.alerts.values()].filter((a) => a.id !== alert.id && a.camera_id !== alert.camera_id && alert.incident && a.incident?.id === alert.incident.id);
  drawMap($("wall-map"), { cameras: state.cameras, alerts: [alert, ...partners], location: point });
  wall.querySelector(".wall-waiting").textContent = waiting > 1 ? t("wall_more", { n: waiting - 1 }) : "";
  const ack = wall.querySelector(".wall-ack");
  ack.hidden = !canWrite();
  ack.disabled = !allowed("acknowledged", alert);
  wallTimer = setInterval(() => alarm.beep(), WALL_REPEAT_MS); // until acknowledged
}

/**
 * Acknowledge the fire on the wall: when other cameras' new alerts belong to its incident, the
 * incident's verdict acknowledges them all at once (the same path as the detail's "whole incident"),
 * so the same fire does not come straight back from the next camera.
 */
function acknowledgeOnWall() {
  const alert = wallAlert();
  if (!alert || !allowed("acknowledged", alert)) return;
  const body = { status: "acknowledged", note: "", add_mask: false, reason: null };
  const id = alert.incident?.id;
  if (id && [...state.alerts.values()].some((a) => a.id !== alert.id && a.status === "new" && a.incident?.id === id)) body.incident_id = id;
  sendVerdict(alert.id, body);
}

function rerender() {
  renderList();
  renderCameras(true);
  renderMe();
  renderAlarmControls();
  const draft = detailParts && { note: detailParts.note.value, mask: detailParts.mask.checked, reason: detailParts.reason.value };
  dropDetail();
  player.key = "";
  renderDetail();
  if (draft && detailParts) {
    detailParts.note.value = draft.note;
    detailParts.mask.checked = draft.mask;
    detailParts.reason.value = draft.reason;
  }
  if (WALL) {
    $("wall").dataset.id = "";
    renderWall();
  }
}

// ---- start ---------------------------------------------------------------

function start() {
  translatePage();
  wireLanguageButtons();
  wireTheme();
  onLanguageChange(rerender);
  adoptTokenFromUrl();
  wireDanger({
    isAdmin: () => state.me?.role === "admin",
    cameraName: (id) => state.cameras.find((camera) => camera.id === id)?.name || id,
    onError: handleError,
  });
  document.body.classList.toggle("wall", WALL);
  $("wall").hidden = !WALL;

  $("filter-status").addEventListener("change", (event) => {
    state.filter.status = event.target.value;
    state.resort = true;
    resync();
  });
  $("filter-camera").addEventListener("change", (event) => {
    state.filter.camera = event.target.value;
    state.resort = true;
    resync();
  });
  $("sort").value = state.sort;
  $("sort").addEventListener("change", (event) => {
    state.sort = event.target.value;
    localStorage.setItem(SORT_KEY, state.sort);
    state.resort = true;
    placeRows();
    renderList();
  });
  $("sign-out").addEventListener("click", async () => {
    await endSession();
    signIn(false);
  });
  $("export-csv").addEventListener("click", () => download("/api/alerts.csv", "pinewatch-alerts.csv").catch(handleError));
  $("notify-toggle").addEventListener("click", () => alarm.askNotifications());
  $("sound-toggle").addEventListener("click", () => alarm.setSound(!alarm.soundOn()));
  alarm.onChange(renderAlarmControls);
  alarm.prepare(); // creates the audio context early, so a blocked one shows at once
  renderAlarmControls();
  document.addEventListener("keydown", onKey);
  // Quiet on click, not pointerdown: hiding the banner moves the page, and on pointerdown the
  // click would then land on whatever slid under the pointer.
  document.addEventListener("click", () => alarm.quiet());
  setInterval(() => {
    refreshAges(); // ages keep counting, with or without the server
    renderAlarmControls();
  }, 1000);
  setInterval(() => state.pending.size && flushPending(), FLUSH_MS);

  const wanted = Number(new URL(window.location.href).searchParams.get("alert")); // the link in notifications
  if (token.get()) {
    feed = startFeed();
    if (wanted) select(wanted);
  } else {
    signIn(false).then(() => wanted && select(wanted));
  }
}

start();
