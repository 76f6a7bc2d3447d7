// Operator console: review flagged frames, confirm or dismiss them, watch camera health.
import { AuthError, ForbiddenError, HttpError, NetworkError, adoptTokenFromUrl, api, liveFeed, token, withToken } from "./api.js";
import { bearingRange, bearingSentence, coordinates, distance, labelText, localTime, mapLinks, percent, timeAgo, timeOfDay } from "./format.js";
import { onLanguageChange, t, translatePage, wireLanguageButtons } from "./i18n.js";
import { askForToken, el, evidencePicture, hideBanner, showBanner, showConnection, toast } from "./ui.js";

// Mirrors the store's transitions: new -> acknowledged -> confirmed | dismissed (acknowledging is optional).
const NEXT_STATUSES = {
  new: ["acknowledged", "confirmed", "dismissed"],
  acknowledged: ["confirmed", "dismissed"],
  confirmed: [],
  dismissed: [],
};
// Confirm and dismiss cannot be undone, so their keys must be pressed twice.
const VERDICTS = [
  { status: "acknowledged", key: "a", label: "btn_ack", twoStep: false },
  { status: "confirmed", key: "c", label: "btn_confirm", twoStep: true },
  { status: "dismissed", key: "d", label: "btn_dismiss", twoStep: true },
];
const ARM_MS = 3000;
const LIST_LIMIT = 200;
const CAMERA_SEVERITY = { error: 0, offline: 1, frozen: 2, unknown: 3, online: 4 };
const WRITER_ROLES = ["operator", "admin"];

const state = {
  alerts: new Map(), // the alerts matching the filter, by id
  total: 0,
  selectedId: null,
  detail: null, // the selected alert with frames and verdicts
  shownFrameId: null, // the frame in the large view; null means the latest
  cameras: [],
  me: null,
  filter: { status: "open", camera: "" },
  armed: null, // { status, timer } while a two-step key waits for its second press
  busy: false,
};
const rows = new Map(); // alert id -> its <li>, reused so thumbnails do not reload
let feed = null;
let detailParts = null; // the selected alert's persistent elements (the note survives refreshes)

const $ = (id) => document.getElementById(id);

// ---- loading -------------------------------------------------------------

function filterStatuses() {
  if (state.filter.status === "open") return ["new", "acknowledged"];
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
  renderList();
  const selected = state.alerts.get(state.selectedId);
  if (selected && changed(previous.get(state.selectedId), selected)) loadDetail(selected.id);
}

async function loadCameras() {
  state.cameras = (await api("/api/cameras")).items;
  renderCameras();
}

async function loadMe() {
  state.me = await api("/api/me");
  renderMe();
}

async function loadDetail(id) {
  try {
    const detail = await api(`/api/alerts/${id}`);
    if (state.selectedId !== id) return;
    state.detail = detail;
    renderDetail();
  } catch (error) {
    handleError(error);
  }
}

async function resync() {
  try {
    await Promise.all([state.me ? null : loadMe(), loadAlerts(), loadCameras()]);
    hideBanner();
  } catch (error) {
    handleError(error);
  }
}

function changed(before, after) {
  return !before || before.updated_at !== after.updated_at || before.status !== after.status || before.last_seen !== after.last_seen;
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
  renderList();
  if (alert.id === state.selectedId && changed(state.detail, alert)) loadDetail(alert.id);
}

function applyCamera(camera) {
  const index = state.cameras.findIndex((c) => c.id === camera.id);
  if (index >= 0) state.cameras[index] = camera;
  else state.cameras.push(camera);
  renderCameras();
}

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
  else feed = liveFeed({ resync, onAlert: applyAlert, onCamera: applyCamera, onState: showConnection });
}

// ---- selection and verdicts ----------------------------------------------

function ordered() {
  return [...state.alerts.values()].sort((a, b) => Date.parse(b.last_seen) - Date.parse(a.last_seen) || b.id - a.id);
}

function select(id) {
  if (id === state.selectedId) return;
  disarm();
  state.selectedId = id;
  state.detail = null;
  state.shownFrameId = null;
  detailParts = null;
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

function allowed(status) {
  return canWrite() && state.detail !== null && NEXT_STATUSES[state.detail.status]?.includes(status);
}

function arm(status) {
  disarm();
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

async function submitVerdict(status) {
  disarm();
  if (state.busy || !allowed(status)) return;
  const id = state.detail.id;
  const body = {
    status,
    note: detailParts.note.value.trim(),
    add_mask: status === "dismissed" && detailParts.mask.checked,
  };
  state.busy = true;
  renderButtons();
  try {
    const updated = await api(`/api/alerts/${id}/verdict`, { method: "POST", body });
    toast(t("verdict_saved", { id, status: t(`status_${updated.status}`) }), "ok");
    const position = ordered().findIndex((alert) => alert.id === id);
    detailParts.note.value = "";
    detailParts.mask.checked = false;
    if (matchesFilter(updated)) {
      applyAlert(updated);
      loadDetail(id);
    } else {
      applyAlert(updated); // leaves the queue: go on with the alert that took its place
      const list = ordered();
      select(list.length ? list[Math.min(Math.max(position, 0), list.length - 1)].id : null);
    }
  } catch (error) {
    handleError(error);
    if (error instanceof HttpError && error.status === 409) {
      resync(); // someone else decided first: show what the alert is now
      loadDetail(id);
    }
  } finally {
    state.busy = false;
    renderButtons();
  }
}

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey || document.querySelector("dialog[open]")) return;
  if (event.target.closest("input, textarea, select")) {
    if (event.key === "Escape") event.target.blur();
    return;
  }
  const key = event.key;
  if (key === "j" || key === "ArrowDown") move(1);
  else if (key === "k" || key === "ArrowUp") move(-1);
  else if (key === "n" && detailParts) detailParts.note.focus();
  else if (key === "Escape") {
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

// ---- rendering -----------------------------------------------------------

function frameCount(n) {
  return t(n === 1 ? "frame_count_one" : "frame_count", { n });
}

function statusBadge(status) {
  return el("span", { class: `badge status-${status}` }, t(`status_${status}`));
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
    if (row.dataset.evidence !== alert.evidence_url) {
      row.dataset.evidence = alert.evidence_url;
      row.replaceChildren(el("img", { class: "thumb", src: withToken(alert.evidence_url), alt: "", loading: "lazy" }), el("div", { class: "row-text" }));
    }
    row.className = `alert-row status-${alert.status} label-${alert.label}`;
    row.dataset.id = alert.id;
    row.setAttribute("aria-selected", String(alert.id === state.selectedId));
    row.querySelector(".row-text").replaceChildren(
      el("div", { class: "row-title" }, el("strong", {}, labelText(alert.label)), ` · ${alert.camera_name}`, statusBadge(alert.status)),
      el(
        "div",
        { class: "row-meta" },
        el("time", { datetime: alert.last_seen, title: localTime(alert.last_seen) }, timeAgo(alert.last_seen)),
        ` · ${percent(alert.score)} · ${frameCount(alert.frame_count)}`,
      ),
    );
    return row;
  });
  $("alert-list").replaceChildren(...nodes);
  $("no-alerts").hidden = nodes.length > 0;
  $("alert-count").textContent = t("alerts_count", { shown: nodes.length, total: state.total });
  const waiting = list.filter((alert) => alert.status === "new").length;
  document.title = waiting ? `(${waiting}) ${t("app_name")}` : t("app_name");
}

let cameraOptionsKey = "";

function renderCameras(force = false) {
  const cameras = [...state.cameras].sort(
    (a, b) => (CAMERA_SEVERITY[a.status] ?? 3) - (CAMERA_SEVERITY[b.status] ?? 3) || a.name.localeCompare(b.name),
  );
  $("camera-list").replaceChildren(
    ...(cameras.length
      ? cameras.map((camera) =>
          el(
            "li",
            { class: `camera status-${camera.status}`, title: camera.status_detail || camera.id, dataset: { id: camera.id } },
            el("span", { class: "dot", "aria-hidden": "true" }),
            el("span", { class: "camera-name" }, camera.name),
            el("span", { class: "camera-status" }, t(`cam_${camera.status}`)),
            el("time", { class: "camera-seen", datetime: camera.last_seen || "" }, timeAgo(camera.last_seen)),
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

function renderMe() {
  $("me").textContent = state.me ? t("signed_in_as", { name: state.me.name, role: roleName() }) : "";
  renderButtons();
}

function roleName() {
  return state.me ? t(`role_${state.me.role}`) : "";
}

function buildDetail() {
  const note = el("textarea", { id: "verdict-note", rows: "2", maxlength: "2000" });
  const mask = el("input", { type: "checkbox", id: "verdict-mask" });
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
  const parts = {
    header: el("header", { class: "detail-header" }),
    stage: el("div", { class: "stage" }),
    filmstrip: el("ol", { class: "filmstrip", "aria-label": t("frames") }),
    facts: el("dl", { class: "facts" }),
    history: el("ol", { class: "history" }),
    historyHeading: el("h3", {}, t("history")),
    hint: el("p", { class: "arm-hint", role: "status" }),
    readOnly: el("p", { class: "read-only" }, t("read_only")),
    note,
    mask,
    buttons,
  };
  const form = el(
    "form",
    { class: "verdict-form", onsubmit: (event) => event.preventDefault() },
    el("label", { class: "note" }, el("span", {}, t("verdict_note")), note),
    el("label", { class: "mask" }, mask, el("span", {}, t("add_mask"))),
    el("div", { class: "verdict-buttons" }, buttons),
    parts.hint,
    parts.readOnly,
  );
  $("detail").replaceChildren(
    parts.header,
    el(
      "div",
      { class: "detail-body" },
      el("div", { class: "media" }, parts.stage, parts.filmstrip),
      el("div", { class: "side" }, parts.facts, form, parts.historyHeading, parts.history),
    ),
  );
  return parts;
}

function renderDetail() {
  const detail = state.detail;
  if (state.selectedId === null) {
    $("detail").replaceChildren(el("p", { class: "empty" }, t("select_alert")));
    return;
  }
  if (!detailParts) detailParts = buildDetail();
  if (!detail) {
    detailParts.header.replaceChildren(el("h2", {}, t("loading")));
    renderButtons();
    return;
  }
  const frames = [...(detail.frames || [])].sort((a, b) => Date.parse(a.captured_at) - Date.parse(b.captured_at));
  const shown = frames.find((frame) => frame.id === state.shownFrameId) || null;
  const picture = shown || { evidence_url: detail.evidence_url, box: detail.box };

  detailParts.header.replaceChildren(
    el("h2", {}, `${labelText(detail.label)} · ${detail.camera_name}`),
    statusBadge(detail.status),
    el("span", { class: "alert-id" }, t("alert_number", { id: detail.id })),
  );
  detailParts.stage.replaceChildren(
    evidencePicture(picture.evidence_url, picture.box, t("evidence_alt", { camera: detail.camera_name })),
  );
  detailParts.filmstrip.replaceChildren(
    ...frames.map((frame, index) =>
      el(
        "li",
        {},
        el(
          "button",
          {
            type: "button",
            class: "frame",
            "aria-current": String(shown ? frame.id === shown.id : index === frames.length - 1),
            title: t("frame_title", { n: index + 1, time: localTime(frame.captured_at), score: percent(frame.score) }),
            onclick: () => {
              state.shownFrameId = frame.id;
              renderDetail();
            },
          },
          el("img", { src: withToken(frame.evidence_url), alt: "", loading: "lazy" }),
          el("span", {}, timeOfDay(frame.captured_at)),
        ),
      ),
    ),
  );
  renderFacts(detail);
  detailParts.history.replaceChildren(
    ...(detail.verdicts || []).map((verdict) =>
      el(
        "li",
        {},
        el("strong", {}, t("history_entry", { status: t(`status_${verdict.status}`), by: verdict.by })),
        ` · ${localTime(verdict.at)}`,
        verdict.note ? el("q", {}, verdict.note) : null,
      ),
    ),
  );
  detailParts.historyHeading.hidden = !(detail.verdicts || []).length;
  renderButtons();
}

function renderFacts(detail) {
  const fact = (key, ...value) => [el("dt", {}, t(key)), el("dd", {}, ...value)];
  const location = detail.location;
  let where = t("location_none");
  if (location) {
    const links = mapLinks(location);
    where = [
      `${coordinates(location)} (${t("uncertainty", { radius: distance(location.uncertainty_m) })}) `,
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
    ...fact("last_seen", el("time", { datetime: detail.last_seen, class: "last-seen" }, localTime(detail.last_seen))),
    ...fact("score", percent(detail.score)),
    ...fact("frames", String(detail.frame_count)),
  );
}

function renderButtons() {
  if (!detailParts) return;
  for (const button of detailParts.buttons) {
    const status = button.dataset.status;
    button.disabled = state.busy || !allowed(status);
    button.classList.toggle("armed", state.armed?.status === status);
  }
  detailParts.mask.disabled = !allowed("dismissed");
  detailParts.readOnly.hidden = state.me === null || canWrite();
  const closed = state.detail && !NEXT_STATUSES[state.detail.status]?.length;
  if (closed && !state.armed) detailParts.hint.textContent = t("verdict_final", { status: t(`status_${state.detail.status}`) });
}

function rerender() {
  renderList();
  renderCameras(true);
  renderMe();
  const draft = detailParts && { note: detailParts.note.value, mask: detailParts.mask.checked };
  detailParts = null;
  renderDetail();
  if (draft && detailParts) {
    detailParts.note.value = draft.note;
    detailParts.mask.checked = draft.mask;
  }
}

// ---- start ---------------------------------------------------------------

function start() {
  translatePage();
  wireLanguageButtons();
  onLanguageChange(rerender);
  adoptTokenFromUrl();

  $("filter-status").addEventListener("change", (event) => {
    state.filter.status = event.target.value;
    resync();
  });
  $("filter-camera").addEventListener("change", (event) => {
    state.filter.camera = event.target.value;
    resync();
  });
  $("sign-out").addEventListener("click", () => {
    token.clear();
    signIn(false);
  });
  document.addEventListener("keydown", onKey);
  setInterval(() => {
    renderList();
    renderCameras();
  }, 30_000); // keeps "5 min ago" true

  const wanted = Number(new URL(window.location.href).searchParams.get("alert")); // the link in notifications
  if (token.get()) {
    feed = liveFeed({ resync, onAlert: applyAlert, onCamera: applyCamera, onState: showConnection });
    if (wanted) select(wanted);
  } else {
    signIn(false).then(() => wanted && select(wanted));
  }
}

start();
