// Small pure formatters shared by both pages; the API speaks UTC, screens show local time.
import { locale, t } from "./i18n.js";

/** Index 0..7 of the 8-point compass direction (N, NE, ... NW) of a bearing in degrees. */
export function compassIndex(degrees) {
  return Math.round((((degrees % 360) + 360) % 360) / 45) % 8;
}

export function direction(degrees) {
  return t(`dir_${compassIndex(degrees)}`);
}

export function labelText(label) {
  return t(`label_${label}`);
}

/** "Smoke at 132° (SE) from Tower 3". */
export function bearingSentence(alert) {
  const params = { label: labelText(alert.label), camera: alert.camera_name || alert.camera_id };
  if (alert.bearing_deg === null || alert.bearing_deg === undefined) return t("bearing_unknown", params);
  return t("bearing_sentence", {
    ...params,
    bearing: Math.round(alert.bearing_deg) % 360,
    direction: direction(alert.bearing_deg),
  });
}

export function bearingRange(alert) {
  if (alert.bearing_min_deg == null || alert.bearing_max_deg == null) return "";
  return t("bearing_range", { min: Math.round(alert.bearing_min_deg) % 360, max: Math.round(alert.bearing_max_deg) % 360 });
}

/** Date and time in the browser's time zone, with the zone named so nobody mistakes it for UTC. */
export function localTime(iso, { withZone = true } = {}) {
  if (!iso) return "";
  const options = { dateStyle: "short", timeStyle: "medium" };
  const text = new Intl.DateTimeFormat(locale(), options).format(new Date(iso));
  if (!withZone) return text;
  const zone = new Intl.DateTimeFormat(locale(), { timeZoneName: "short" })
    .formatToParts(new Date(iso))
    .find((part) => part.type === "timeZoneName");
  return zone ? `${text} ${zone.value}` : text;
}

export function timeOfDay(iso) {
  return new Intl.DateTimeFormat(locale(), { timeStyle: "medium" }).format(new Date(iso));
}

export function timeAgo(iso, now = Date.now()) {
  if (!iso) return t("never_seen");
  const seconds = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (seconds < 10) return t("ago_now");
  if (seconds < 60) return t("ago_s", { n: seconds });
  if (seconds < 3600) return t("ago_min", { n: Math.floor(seconds / 60) });
  if (seconds < 86400) return t("ago_h", { n: Math.floor(seconds / 3600) });
  return t("ago_d", { n: Math.floor(seconds / 86400) });
}

export function distance(metres) {
  if (metres == null) return "?";
  return metres >= 1000 ? `${(metres / 1000).toFixed(1)} km` : `${Math.round(metres)} m`;
}

/**
 * Only as many decimals as the uncertainty supports (0.01° is about 1.1 km): ±7.4 km gives 2,
 * ±50 m gives 4, unknown gives 2. The same rule as alerting/coords.py, which writes the API's
 * and the notifications' texts (the browser test checks that both agree).
 */
export function coordinateDecimals(metres) {
  if (!(metres > 0) || !Number.isFinite(metres)) return 2;
  return Math.min(5, Math.max(1, Math.ceil(Math.log10(111_000 / metres))));
}

export function coordinates(location) {
  const decimals = coordinateDecimals(location.uncertainty_m);
  return `${location.latitude.toFixed(decimals)}, ${location.longitude.toFixed(decimals)}`;
}

/** The one point of the fire an alert is a view of: its incident's when located, else its own (issue 11). */
export function firePoint(alert) {
  return alert?.incident?.location || alert?.location || null;
}

/** "Seen by 2 cameras: Tháp 1, Tháp 2" for an alert whose incident has several cameras, else "". */
export function incidentCameras(alert, cameras = []) {
  const ids = alert?.incident?.camera_ids || [];
  if (ids.length < 2) return "";
  const names = ids.map((id) => cameras.find((camera) => camera.id === id)?.name || id);
  return t("incident_cameras", { n: ids.length, cameras: names.join(", ") });
}

/** A detector score exactly as the notification picture prints it ("0.37"). */
export function scoreText(score) {
  return score.toFixed(2);
}

/** Links only: a geo: URI for the phone's map app and an openstreetmap.org page. */
export function mapLinks(location) {
  const lat = location.latitude.toFixed(6);
  const lon = location.longitude.toFixed(6);
  return {
    geo: `geo:${lat},${lon}?q=${lat},${lon}`,
    osm: `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=14/${lat}/${lon}`,
  };
}
