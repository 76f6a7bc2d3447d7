// The alerting HTTP API: the bearer token, the browser session cookie, typed
// errors, and a live feed (server-sent events, falling back to polling while
// the stream is down) with a watchdog that notices a dead connection in seconds.

const TOKEN_KEY = "pinewatch.token";
export const POLL_MS = 10_000;
const STREAM_RETRY_MS = 30_000;
// Even while the stream is up, re-read now and then: camera "last seen" times
// move without a health change, and a missed event must not stay missed.
const LIVE_RESYNC_MS = 60_000;
// The watchdog: the stream's own keep-alive comes every 15 s and scripts cannot
// see it, so ask /healthz this often, and call the feed down when it fails.
const PROBE_MS = 1_500;
const PROBE_TIMEOUT_MS = 2_000;

export class AuthError extends Error {}
export class ForbiddenError extends Error {}
export class NetworkError extends Error {}
export class HttpError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}

// The token stays in this browser for the API's Authorization header; pictures
// and the live feed use the HttpOnly session cookie that startSession() sets.
export const token = {
  get: () => localStorage.getItem(TOKEN_KEY) || "",
  set: (value) => localStorage.setItem(TOKEN_KEY, value.trim()),
  clear: () => localStorage.removeItem(TOKEN_KEY),
};

/** Take ?token= from the address once, keep it, and strip it so it is not bookmarked or shared. */
export function adoptTokenFromUrl() {
  const url = new URL(window.location.href);
  const value = url.searchParams.get("token");
  if (value === null) return;
  if (value.trim()) token.set(value);
  url.searchParams.delete("token");
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
}

async function send(path, { method = "GET", body, accept = "application/json" } = {}) {
  const headers = { Authorization: `Bearer ${token.get()}`, Accept: accept };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new NetworkError(error.message);
  }
  if (response.status === 401) throw new AuthError("unauthorised");
  if (response.status === 403) throw new ForbiddenError("forbidden");
  if (!response.ok) throw new HttpError(response.status, await errorDetail(response));
  return response;
}

export async function api(path, options = {}) {
  const response = await send(path, options);
  return response.status === 204 ? null : response.json();
}

/** A file download that needs the Authorization header (the CSV export). */
export async function download(path, filename) {
  const blob = await (await send(path, { accept: "*/*" })).blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

/** Sign this browser in: the server checks the token and sets the session cookie. Returns /api/me's answer. */
export function startSession() {
  return api("/api/session", { method: "POST", body: { token: token.get() } });
}

/** Sign out: forget the token and clear the cookie (best effort when the server is away). */
export async function endSession() {
  token.clear();
  try {
    await fetch("/api/session", { method: "DELETE" });
  } catch {
    // offline: the cookie dies with the browser session, and the token is gone already
  }
}

async function errorDetail(response) {
  try {
    const data = await response.json();
    if (typeof data.detail === "string") return data.detail;
    if (Array.isArray(data.detail)) return data.detail.map((item) => item.msg).join("; ");
    return JSON.stringify(data);
  } catch {
    return `HTTP ${response.status}`;
  }
}

async function reachable() {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), PROBE_TIMEOUT_MS);
  try {
    const response = await fetch("/healthz", { cache: "no-store", signal: abort.signal });
    return response.ok;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Keep a page current. `resync()` re-reads everything (at start, whenever the
 * stream (re)opens, and every POLL_MS while it is down); `onAlert` and
 * `onCamera` receive the stream's events. `onState` gets "connecting", "live",
 * "polling" or "offline" (the server did not answer the watchdog: the stream is
 * closed and reopened once it answers again). `onReconnect` runs when the
 * server answers again after "offline". Returns { restart, stop }.
 */
export function liveFeed({ resync, onAlert, onCamera, onState, onReconnect = () => {} }) {
  let source = null;
  let pollTimer = null;
  let reopenTimer = null;
  let slowTimer = null;
  let probeTimer = null;
  let offline = false;
  let running = false;

  const startPolling = () => {
    if (pollTimer === null) pollTimer = setInterval(resync, POLL_MS);
  };
  const stopPolling = () => {
    clearInterval(pollTimer);
    pollTimer = null;
  };
  const closeSource = () => {
    if (source) source.close();
    source = null;
  };

  const open = () => {
    clearTimeout(reopenTimer);
    if (!running) return;
    if (!window.EventSource) {
      onState("polling");
      startPolling();
      return;
    }
    closeSource();
    onState("connecting");
    source = new EventSource("/api/events"); // authorised by the session cookie: no token in the address
    source.addEventListener("open", () => {
      if (offline) return;
      stopPolling();
      onState("live");
      resync(); // whatever changed while the stream was down
    });
    source.addEventListener("alert", (event) => onAlert(JSON.parse(event.data)));
    source.addEventListener("camera", (event) => onCamera(JSON.parse(event.data)));
    source.addEventListener("error", () => {
      if (!offline) onState("polling");
      startPolling();
      if (source && source.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error such as 401): try the stream again later.
        source = null;
        reopenTimer = setTimeout(open, STREAM_RETRY_MS);
      }
    });
  };

  const probe = async () => {
    const up = await reachable();
    if (!running) return;
    if (!up && !offline) {
      offline = true;
      closeSource(); // it may look open while nothing comes through
      onState("offline");
      startPolling();
    } else if (up && offline) {
      offline = false;
      onReconnect();
      open();
    }
  };

  const stop = () => {
    running = false;
    stopPolling();
    clearInterval(slowTimer);
    clearInterval(probeTimer);
    slowTimer = probeTimer = null;
    clearTimeout(reopenTimer);
    closeSource();
  };

  const begin = async () => {
    running = true;
    offline = false;
    await resync(); // signs the browser in (cookie) before the stream asks for it
    open();
    slowTimer = setInterval(() => pollTimer === null && resync(), LIVE_RESYNC_MS);
    probeTimer = setInterval(probe, PROBE_MS);
  };
  begin();
  return {
    stop,
    restart() {
      stop();
      begin();
    },
    isOffline: () => offline,
  };
}
