// The alerting HTTP API: the bearer token, typed errors, and a live feed
// (server-sent events, falling back to polling while the stream is down).

const TOKEN_KEY = "pinewatch.token";
export const POLL_MS = 10_000;
const STREAM_RETRY_MS = 30_000;
// Even while the stream is up, re-read now and then: camera "last seen" times
// move without a health change, and a missed event must not stay missed.
const LIVE_RESYNC_MS = 60_000;

export class AuthError extends Error {}
export class ForbiddenError extends Error {}
export class NetworkError extends Error {}
export class HttpError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}

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

/** For URLs a browser fetches by itself (img src, EventSource), which cannot carry the header. */
export function withToken(path) {
  const url = new URL(path, window.location.origin);
  url.searchParams.set("token", token.get());
  return url.pathname + url.search;
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Authorization: `Bearer ${token.get()}`, Accept: "application/json" };
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
  return response.json();
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

/**
 * Keep a page current. `resync()` re-reads everything (at start, whenever the
 * stream (re)opens, and every POLL_MS while it is down); `onAlert` and
 * `onCamera` receive the stream's events. `onState` gets "connecting", "live"
 * or "polling". Returns { restart, stop }.
 */
export function liveFeed({ resync, onAlert, onCamera, onState }) {
  let source = null;
  let pollTimer = null;
  let reopenTimer = null;

  let slowTimer = null;
  const startPolling = () => {
    if (pollTimer === null) pollTimer = setInterval(resync, POLL_MS);
  };
  const stopPolling = () => {
    clearInterval(pollTimer);
    pollTimer = null;
  };

  const open = () => {
    clearTimeout(reopenTimer);
    if (!window.EventSource) {
      onState("polling");
      startPolling();
      return;
    }
    onState("connecting");
    source = new EventSource(withToken("/api/events"));
    source.addEventListener("open", () => {
      stopPolling();
      onState("live");
      resync(); // whatever changed while the stream was down
    });
    source.addEventListener("alert", (event) => onAlert(JSON.parse(event.data)));
    source.addEventListener("camera", (event) => onCamera(JSON.parse(event.data)));
    source.addEventListener("error", () => {
      onState("polling");
      startPolling();
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error such as 401): try the stream again later.
        source = null;
        reopenTimer = setTimeout(open, STREAM_RETRY_MS);
      }
    });
  };

  const stop = () => {
    stopPolling();
    clearInterval(slowTimer);
    slowTimer = null;
    clearTimeout(reopenTimer);
    if (source) source.close();
    source = null;
  };

  const begin = () => {
    resync();
    open();
    slowTimer = setInterval(() => pollTimer === null && resync(), LIVE_RESYNC_MS);
  };
  begin();
  return {
    stop,
    restart() {
      stop();
      begin();
    },
  };
}
