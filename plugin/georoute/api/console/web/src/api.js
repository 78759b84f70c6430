// The API client: the page's own origin, the token from the tab's session storage only, sent as
// Authorization: Bearer on every request. Errors are ApiError with the server's code and message.

const KEY = "georoute.token";

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

const listeners = new Set();

export const auth = {
  get token() {
    return sessionStorage.getItem(KEY) || "";
  },
  set(token) {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
    for (const fn of listeners) fn(!!token);
  },
  onChange(fn) {
    listeners.add(fn);
  },
  headers(extra) {
    return { Authorization: "Bearer " + this.token, ...extra };
  },
};

// api("/v1/edges") -> parsed JSON; api(path, {method: "PUT", body: {...}}).
export async function api(path, opts = {}) {
  const init = { method: opts.method || "GET", headers: auth.headers(), cache: "no-store", signal: opts.signal };
  if (opts.body !== undefined) {
    init.body = JSON.stringify(opts.body);
    init.headers["Content-Type"] = "application/json";
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, "network", "the appliance did not answer: " + e.message);
  }
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const e = (body && body.error) || {};
    const err = new ApiError(res.status, e.code || "http_" + res.status, e.message || text.trim() || res.statusText, e.field);
    if (res.status === 401 && !opts.login) auth.set("");
    throw err;
  }
  return body;
}

export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") u.set(k, v);
  const s = u.toString();
  return s ? "?" + s : "";
}
