// Where to look, on a map (vendored Leaflet, window.L). Without tiles it still draws
// every camera (offline ones in red), its view cone (azimuth ± FOV/2), the bearing
// rays of the alerts, and the triangulated point with its uncertainty circle.
// Tiles: "tile_url" in /static/map.json (empty: none); the server lets its origin into the CSP at start.
import { t } from "./i18n.js";

const EARTH_M = 6_371_000;
const CONE_M = 15_000; // drawn length of cones and rays
const BLIND = ["offline", "stale", "frozen", "error"];

let configPromise = null;
function mapConfig() {
  configPromise ??= fetch("/static/map.json", { cache: "no-cache" })
    .then((response) => (response.ok ? response.json() : {}))
    .catch(() => ({}));
  return configPromise;
}

/** The point `metres` away from (lat, lon) on the initial bearing `degrees` (spherical earth). */
export function destination(lat, lon, degrees, metres) {
  const rad = Math.PI / 180;
  const d = metres / EARTH_M;
  const bearing = degrees * rad;
  const lat1 = lat * rad;
  const lat2 = Math.asin(Math.sin(lat1) * Math.cos(d) + Math.cos(lat1) * Math.sin(d) * Math.cos(bearing));
  const lon2 = lon * rad + Math.atan2(Math.sin(bearing) * Math.sin(d) * Math.cos(lat1), Math.cos(d) - Math.sin(lat1) * Math.sin(lat2));
  return [lat2 / rad, lon2 / rad];
}

/**
 * What a camera is doing now: the heartbeat liveness (GET /api/cameras) first, since a dead
 * worker sends no health event; frozen or error from the health events otherwise.
 */
export function cameraState(camera) {
  if (camera.liveness === "offline" || camera.liveness === "stale") return camera.liveness;
  if (["frozen", "error"].includes(camera.status)) return camera.status;
  if (camera.liveness === "online") return "online";
  return camera.status;
}

/** Not watching: offline, stale (frames overdue), frozen picture or error. */
export function cameraBlind(camera) {
  return BLIND.includes(cameraState(camera));
}

function located(camera) {
  return camera && camera.latitude != null && camera.longitude != null;
}

/**
 * Draw into `container` (its map is made once and redrawn after): `cameras` from
 * /api/cameras, `alerts` whose bearing rays to draw, `location` an alert's point, and
 * `locations` more points (the ranger map: every active fire's), each with its circle.
 */
export async function drawMap(container, { cameras, alerts = [], location = null, locations = [] }) {
  if (!window.L) return null;
  const L = window.L;
  const config = await mapConfig(); // before the check below: two quick calls must not make two maps
  if (!container.isConnected) return null;
  if (!container._pinewatch) {
    const map = L.map(container, { attributionControl: true, zoomControl: true, preferCanvas: false });
    if (config.tile_url) L.tileLayer(config.tile_url, { attribution: config.attribution || "", maxZoom: 18 }).addTo(map);
    else container.classList.add("no-tiles");
    container._pinewatch = { map, layers: L.layerGroup().addTo(map), fitted: "" };
  }
  const { map, layers } = container._pinewatch;
  layers.clearLayers();
  const bounds = [];
  for (const camera of cameras.filter(located)) {
    const blind = cameraBlind(camera);
    const at = [camera.latitude, camera.longitude];
    bounds.push(at);
    if (camera.azimuth_deg != null && camera.fov_deg != null) {
      const cone = [at];
      for (let step = 0; step <= 12; step += 1) {
        cone.push(destination(...at, camera.azimuth_deg - camera.fov_deg / 2 + (camera.fov_deg * step) / 12, CONE_M));
      }
      L.polygon(cone, { className: `map-cone${blind ? " blind" : ""}`, weight: 1, fillOpacity: 0.08, interactive: false }).addTo(layers);
    }
    L.circleMarker(at, { className: `map-camera${blind ? " blind" : ""}`, radius: 7, weight: 2, fillOpacity: 1 })
      .bindTooltip(`${camera.name}${blind ? ` · ${t(`cam_${cameraState(camera)}`)}` : ""}`, { permanent: true, direction: "right", className: "map-label" })
      .addTo(layers);
  }
  for (const alert of alerts) {
    const camera = cameras.find((c) => c.id === alert.camera_id);
    if (!located(camera) || alert.bearing_deg == null) continue;
    const at = [camera.latitude, camera.longitude];
    if (alert.bearing_min_deg != null && alert.bearing_max_deg != null) {
      const span = ((alert.bearing_max_deg - alert.bearing_min_deg + 360) % 360) || 0;
      const wedge = [at];
      for (let step = 0; step <= 6; step += 1) wedge.push(destination(...at, alert.bearing_min_deg + (span * step) / 6, CONE_M));
      L.polygon(wedge, { className: "map-wedge", weight: 0, fillOpacity: 0.18, interactive: false }).addTo(layers);
    }
    const end = destination(...at, alert.bearing_deg, CONE_M);
    L.polyline([at, end], { className: "map-ray", weight: 3, dashArray: "8 6", interactive: false }).addTo(layers);
    bounds.push(end);
  }
  for (const place of [location, ...locations].filter(Boolean)) {
    const point = [place.latitude, place.longitude];
    if (place.uncertainty_m) {
      L.circle(point, { radius: place.uncertainty_m, className: "map-uncertainty", weight: 2, fillOpacity: 0.15, interactive: false }).addTo(layers);
      bounds.push(destination(...point, 0, place.uncertainty_m), destination(...point, 180, place.uncertainty_m));
    }
    L.circleMarker(point, { className: "map-point", radius: 6, weight: 3, fillOpacity: 1 }).bindTooltip(t("location")).addTo(layers);
    bounds.push(point);
  }
  const key = JSON.stringify(bounds.map(([a, b]) => [a.toFixed(3), b.toFixed(3)]));
  if (bounds.length && key !== container._pinewatch.fitted) {
    container._pinewatch.fitted = key; // refit only when what is drawn moved, not on every update
    map.fitBounds(L.latLngBounds(bounds).pad(0.1), { maxZoom: 13, animate: false });
  }
  map.invalidateSize();
  return map;
}
