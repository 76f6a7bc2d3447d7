// Fire-danger levels (cấp dự báo cháy rừng I–V): the level badge on alerts, and the console's
// panel with today's level of each camera; an admin sets a district's or a camera's level there
// (PUT /api/fire-danger), and the stream workers apply it within seconds.
import { api, token } from "./api.js";
import { t } from "./i18n.js";
import { el, toast } from "./ui.js";

const ROMAN = ["", "I", "II", "III", "IV", "V"];
const TARGET_FIELDS = { camera: "camera_id", district: "district" }; // the option's scope -> PUT body field
const REFRESH_MS = 60_000; // levels change once a day; the feed's state a little more often

const $ = (id) => document.getElementById(id);
let data = null; // GET /api/fire-danger
let hooks = { isAdmin: () => false, cameraName: (id) => id, onError: console.error };

/** "Level IV" badge, coloured by level; null without a level. */
export function dangerBadge(level) {
  if (!level) return null;
  return el("span", { class: `badge danger danger-${level}`, title: dangerText(level) }, t("danger_badge", { roman: ROMAN[level] }));
}

/** "Level IV (dangerous)". */
export function dangerText(level) {
  return level ? t("danger_full", { roman: ROMAN[level], name: t(`danger_name_${level}`) }) : "";
}

export function wireDanger(options) {
  hooks = { ...hooks, ...options };
  $("danger-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setLevel();
  });
  setInterval(() => token.get() && loadDanger().catch(() => {}), REFRESH_MS);
}

export async function loadDanger() {
  data = await api("/api/fire-danger");
  renderDanger();
}

function sourceText(camera) {
  if (camera.source === "district") return t("danger_src_district", { district: camera.district });
  return t(`danger_src_${camera.source}`);
}

export function renderDanger() {
  if (!data) return;
  $("danger-heading").textContent = t("danger_heading", { day: data.day });
  $("danger-list").replaceChildren(
    ...data.cameras.map((camera) =>
      el(
        "li",
        { class: "danger-camera", dataset: { id: camera.camera_id, level: camera.level } },
        dangerBadge(camera.level),
        el("span", { class: "danger-name" }, hooks.cameraName(camera.camera_id)),
        el("small", { class: "danger-source" }, sourceText(camera)),
      ),
    ),
  );
  const feed = data.feed;
  $("danger-feed").hidden = !feed;
  if (feed) {
    $("danger-feed").textContent = feed.last_error
      ? t("danger_feed_error", { error: feed.last_error })
      : t("danger_feed_ok", { time: feed.last_success_at ? new Date(feed.last_success_at).toLocaleString() : "–" });
  }
  renderForm();
}

let formKey = ""; // what the options were built from: rebuilt only when it changes, so an open drop-down stays open

function renderForm() {
  const form = $("danger-form");
  form.hidden = !hooks.isAdmin();
  if (form.hidden) return;
  const key = [t("danger_full", { roman: "", name: "" }), ...data.districts, ...data.cameras.map((c) => `${c.camera_id}\t${hooks.cameraName(c.camera_id)}`)].join("\n");
  if (key === formKey) return;
  formKey = key;
  const target = $("danger-target");
  const chosen = target.value;
  target.replaceChildren(
    ...data.districts.map((name) => el("option", { value: `district:${name}` }, t("danger_target_district", { name }))),
    ...data.cameras.map((camera) => el("option", { value: `camera:${camera.camera_id}` }, t("danger_target_camera", { name: hooks.cameraName(camera.camera_id) }))),
  );
  if (chosen) target.value = chosen;
  const level = $("danger-level");
  const picked = level.value || String(data.default_level);
  level.replaceChildren(...[1, 2, 3, 4, 5].map((n) => el("option", { value: String(n) }, dangerText(n))));
  level.value = picked;
  if (!$("danger-day").value) $("danger-day").value = data.day;
}

async function setLevel() {
  const [scope, ...rest] = $("danger-target").value.split(":");
  const target = rest.join(":");
  const level = Number($("danger-level").value);
  const body = { level, day: $("danger-day").value || null };
  body[TARGET_FIELDS[scope]] = target;
  try {
    await api("/api/fire-danger", { method: "PUT", body });
    toast(t("danger_saved", { roman: ROMAN[level], target: $("danger-target").selectedOptions[0].textContent }), "ok");
    await loadDanger();
  } catch (error) {
    hooks.onError(error);
  }
}
