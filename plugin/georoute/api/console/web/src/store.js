// The page's state shared by every view: the edges (GET /v1/edges, patched at once by the event
// stream's health and drain events), the events seen (the stream replays the server's ring from
// since=0, then goes on live) and the stream's state. Views subscribe with on(topic, fn).
import { api, auth } from "./api.js";
import { coalesce, list, sleep } from "./util.js";

const subs = {};
export function on(topic, fn) {
  (subs[topic] ||= new Set()).add(fn);
  return () => subs[topic].delete(fn);
}
function emit(topic, ...a) {
  for (const fn of subs[topic] || []) {
    try {
      fn(...a);
    } catch (e) {
      console.error(topic, e);
    }
  }
}

export const store = {
  edges: new Map(), // id -> edge as GET /v1/edges gives it
  edgesError: null,
  events: [], // oldest first, at most MAX_EVENTS
  lastId: 0,
  live: "off", // off | connecting | connected
};
const MAX_EVENTS = 20000;

// The colour key of an edge: drained when drained by an operator, whatever its checks say.
export function edgeState(e) {
  if (!e || !e.health) return "unknown";
  if (e.health.override === "down") return "drained";
  const st = e.health.state;
  return st === "up" || st === "down" ? st : "unknown";
}

let refreshing = null;
let again = false;
// refreshEdges reads GET /v1/edges; calls made while one runs make one more after it.
export async function refreshEdges() {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    try {
      do {
        again = false;
        const got = list(await api("/v1/edges"), "edges");
        store.edges = new Map(got.map((e) => [e.id, e]));
        store.edgesError = null;
      } while (again);
    } catch (e) {
      store.edgesError = e;
    } finally {
      refreshing = null;
    }
    emit("edges", store.edges);
  })();
  return refreshing;
}

// The event stream: one fetch-streamed reader of GET /v1/events (EventSource cannot send the
// token), reconnecting with since=<last id seen> so nothing is missed or seen twice.
let abort = null;
let refreshSoon = null;

export function startEvents() {
  stopEvents();
  const ctl = new AbortController();
  abort = ctl;
  run(ctl.signal);
}

export function stopEvents() {
  if (abort) abort.abort();
  abort = null;
  setLive("off");
}

function setLive(st, detail) {
  store.live = st;
  emit("live", st, detail);
}

async function run(signal) {
  let backoff = 500;
  let reconnected = false;
  while (!signal.aborted && auth.token) {
    setLive("connecting");
    try {
      const res = await fetch("/v1/events?since=" + store.lastId, {
        headers: auth.headers({ Accept: "text/event-stream" }),
        cache: "no-store",
        signal,
      });
      if (res.status === 401) {
        auth.set("");
        return;
      }
      if (!res.ok || !res.body) throw new Error("HTTP " + res.status);
      setLive("connected");
      if (reconnected) refreshEdges(); // what changed while the stream was away and the ring lost
      reconnected = true;
      backoff = 500;
      await readSSE(res.body, signal, dispatch);
    } catch (e) {
      if (signal.aborted) return;
      setLive("connecting", e.message);
    }
    await sleep(backoff);
    backoff = Math.min(backoff * 2, 10000);
  }
}

// readSSE parses text/event-stream: "field: value" lines, a blank line ends an event, lines
// starting with ":" are comments.
export async function readSSE(body, signal, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  signal.addEventListener("abort", () => reader.cancel().catch(() => {}), { once: true });
  let buf = "";
  let ev = { id: "", event: "", data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      let line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line === "") {
        if (ev.data.length) onEvent({ id: ev.id, event: ev.event || "message", data: ev.data.join("\n") });
        ev = { id: "", event: "", data: [] };
        continue;
      }
      if (line.startsWith(":")) continue;
      const c = line.indexOf(":");
      const field = c < 0 ? line : line.slice(0, c);
      let v = c < 0 ? "" : line.slice(c + 1);
      if (v.startsWith(" ")) v = v.slice(1);
      if (field === "data") ev.data.push(v);
      else if (field === "id") ev.id = v;
      else if (field === "event") ev.event = v;
    }
  }
}

// edgesChanged tells the views once however many events of a replay patched the edges.
const edgesChanged = coalesce(() => emit("edges", store.edges));

function dispatch(raw) {
  // "lost": the server dropped this stream for falling behind and closes it; the reconnection
  // with since=<last id> gets what the ring still holds.
  if (raw.event === "lost") return;
  let ev;
  try {
    ev = JSON.parse(raw.data);
  } catch {
    return;
  }
  const id = Number(ev.id ?? raw.id);
  if (isFinite(id) && id > 0) {
    if (id <= store.lastId) return; // seen before the reconnection
    store.lastId = id;
  }
  ev.type ||= raw.event;
  store.events.push(ev);
  if (store.events.length > MAX_EVENTS) store.events.splice(0, store.events.length - MAX_EVENTS);
  const e = ev.edge && store.edges.get(ev.edge);
  if (e && ev.type === "health") {
    e.health = { ...e.health, state: ev.state, reason: ev.reason ?? e.health?.reason, since: ev.time };
    edgesChanged();
  } else if (e && ev.type === "drain") {
    const h = { ...e.health };
    if (ev.state === "auto") delete h.override;
    else h.override = ev.state;
    e.health = h;
    edgesChanged();
  }
  emit("event", ev);
  if (ev.type === "health" || ev.type === "drain" || (ev.type === "change" && ev.kind === "edges")) {
    clearTimeout(refreshSoon);
    refreshSoon = setTimeout(refreshEdges, 300);
  }
}

// offAll drops every view's subscription (the views are built anew at each login).
export function offAll() {
  for (const k of Object.keys(subs)) delete subs[k];
}
