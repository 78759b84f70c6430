// Map: every edge at its location, coloured by health, sized by the answers that named it first
// in the last minute; a click opens its checks and the drain / undrain buttons.
import { api } from "../api.js";
import { HEALTH, HEALTH_LABEL } from "../colors.js";
import { countryName, createMap, loadWorld } from "../worldmap.js";
import { edgeState, on, refreshEdges, store } from "../store.js";
import { clear, fmtAgo, fmtMs, fmtTime, h, s } from "../util.js";

export function mapPage(root) {
  const mapBox = h("div.mapbox", { testid: "map" }, h("p.muted", "loading the map…"));
  const panel = h("aside.panel", { testid: "edge-panel" }, h("p.muted", "Click an edge for its checks, RTT and drain button."));
  const recent = h("ol.recent", { testid: "recent-changes" });
  const legend = h("div.legend", { testid: "health-legend" },
    Object.keys(HEALTH).map((st) =>
      h("span.key", { testid: "legend-" + st, "data-color": HEALTH[st] }, swatch(HEALTH[st]), HEALTH_LABEL[st])),
    h("span.key.muted", "circle area: answers naming the edge first in the last minute"));
  const status = h("p.status", { testid: "map-status" });
  root.append(h("section.page.map-page",
    h("div.main", legend, mapBox, status),
    h("div.side", panel, h("h3", "Recent changes"), recent)));

  let map = null;
  let selected = null;
  let message = null; // {edge, text, error}
  const circles = new Map();

  loadWorld().then((w) => {
    map = createMap(w, "map");
    clear(mapBox, map.svg);
    draw();
  }, (e) => clear(mapBox, h("p.error", "the map's data did not load: " + e.message)));

  function draw() {
    status.textContent = store.edgesError ? "edges: " + store.edgesError.message : `${store.edges.size} edges`;
    status.classList.toggle("error", !!store.edgesError);
    if (!map) return;
    const seen = new Set();
    for (const e of store.edges.values()) {
      const loc = e.location || {};
      if (typeof loc.lat !== "number" || typeof loc.lon !== "number") continue;
      const xy = map.project([loc.lon, loc.lat]);
      if (!xy) continue;
      seen.add(e.id);
      let c = circles.get(e.id);
      if (!c) {
        const dot = s("circle.edge", { testid: "edge-" + e.id, tabindex: 0, role: "button", "aria-label": "edge " + e.id });
        dot.addEventListener("click", () => select(e.id));
        dot.addEventListener("keydown", (ev) => (ev.key === "Enter" || ev.key === " ") && select(e.id));
        const label = s("text.edge-label");
        const tip = s("title");
        dot.append(tip);
        c = { dot, label, tip };
        circles.set(e.id, c);
        map.layer.append(dot, label);
      }
      const st = edgeState(e);
      const n = Number(e.answers_last_minute) || 0;
      const r = 5 + Math.min(19, 1.6 * Math.sqrt(n));
      c.dot.setAttribute("cx", xy[0].toFixed(1));
      c.dot.setAttribute("cy", xy[1].toFixed(1));
      c.dot.setAttribute("r", r.toFixed(1));
      c.dot.setAttribute("fill", HEALTH[st]);
      c.dot.setAttribute("data-state", st);
      c.dot.setAttribute("data-answers", n);
      c.dot.classList.toggle("selected", e.id === selected);
      c.label.textContent = e.id;
      c.tip.textContent = `${e.id}: ${st}${e.health?.reason ? " (" + e.health.reason + ")" : ""}, ${n} answers in the last minute`;
    }
    placeLabels();
    for (const [id, c] of circles) {
      if (!seen.has(id)) {
        c.dot.remove();
        c.label.remove();
        circles.delete(id);
      }
    }
    drawPanel();
  }

  // The larger circles under the smaller ones; each label beside its circle where it overlaps no
  // label placed before it (right, then above or below, then left).
  function placeLabels() {
    const list = [...circles.values()].filter((c) => c.dot.isConnected)
      .sort((a, b) => Number(b.dot.getAttribute("r")) - Number(a.dot.getAttribute("r")));
    const order = list.flatMap((c) => [c.dot]);
    if (order.some((d, i) => map.layer.querySelectorAll("circle")[i] !== d)) for (const d of order) map.layer.append(d);
    const boxes = list.map((c) => { const x = +c.dot.getAttribute("cx"), y = +c.dot.getAttribute("cy"), r = +c.dot.getAttribute("r"); return [x - r, y - r, x + r, y + r]; });
    const hit = (b) => boxes.some((o) => b[0] < o[2] && o[0] < b[2] && b[1] < o[3] && o[1] < b[3]);
    for (const c of list.slice().sort((a, b) => +a.dot.getAttribute("cx") - +b.dot.getAttribute("cx"))) {
      const x = +c.dot.getAttribute("cx"), y = +c.dot.getAttribute("cy"), r = +c.dot.getAttribute("r");
      const w = 6.2 * c.label.textContent.length, hgt = 12;
      const tries = [[x + r + 2, y + 4], [x - w / 2, y - r - 3], [x - w / 2, y + r + 11], [x - r - 2 - w, y + 4], [x + r + 2, y - 8], [x + r + 2, y + 16]];
      let [lx, ly] = tries[0];
      for (const [tx, ty] of tries) {
        const b = [tx, ty - hgt + 2, tx + w, ty + 2];
        if (!hit(b)) {
          [lx, ly] = [tx, ty];
          break;
        }
      }
      boxes.push([lx, ly - hgt + 2, lx + w, ly + 2]);
      c.label.setAttribute("x", lx.toFixed(1));
      c.label.setAttribute("y", ly.toFixed(1));
      if (c.label.parentNode !== map.layer || c.label.nextSibling && c.label.nextSibling.tagName === "circle") map.layer.append(c.label);
    }
  }

  function select(id) {
    selected = id;
    message = null;
    draw();
  }

  async function override(id, state, verb) {
    message = { edge: id, text: verb + "…" };
    drawPanel();
    try {
      await api(`/v1/edges/${encodeURIComponent(id)}/override`, { method: "PUT", body: { state } });
      message = { edge: id, text: `${id}: ${verb} done` };
    } catch (e) {
      message = { edge: id, text: `${verb} refused: ${e.message}`, error: true, status: e.status };
    }
    await refreshEdges();
    drawPanel();
  }

  function drawPanel() {
    const e = selected && store.edges.get(selected);
    if (!e) {
      if (selected) clear(panel, h("p.muted", `edge ${selected} is gone`));
      return;
    }
    const st = edgeState(e);
    const hl = e.health || {};
    const loc = e.location || {};
    const checks = e.checks || [];
    const results = hl.checks || [];
    clear(panel,
      h("h2", { testid: "panel-edge", "data-edge": e.id }, swatch(HEALTH[st]), " ", e.id, " ",
        h("span.badge", { testid: "panel-state", class: "st-" + st }, st)),
      h("dl.facts",
        h("dt", "addresses"), h("dd", (e.addresses || []).join(", ")),
        h("dt", "location"), h("dd", [loc.city, countryName(loc.country || ""), loc.continent].filter(Boolean).join(", "),
          ` (${fmtNum(loc.lat)}, ${fmtNum(loc.lon)})`),
        h("dt", "health"), h("dd", hl.state || "unknown", hl.reason ? ` (${hl.reason})` : "", hl.since ? `, since ${fmtTime(hl.since)}` : ""),
        h("dt", "override"), h("dd", { testid: "panel-override" }, hl.override ? `${hl.override} (set by an operator)` : "none: the checks decide"),
        h("dt", "probe RTT"), h("dd", { testid: "panel-rtt" }, e.probe_rtt_ms !== undefined ? fmtMs(e.probe_rtt_ms) + " ms" : "none"),
        h("dt", "answers, last minute"), h("dd", String(e.answers_last_minute ?? 0)),
        e.weight !== undefined && [h("dt", "weight"), h("dd", String(e.weight))],
        h("dt", "source"), h("dd", e.source || "")),
      h("h3", "Checks"),
      checks.length || results.length ? checkList(checks, results) : h("p.muted", { testid: "panel-checks" }, "no health checks"),
      (e.nodes || []).length ? nodeTable(e.nodes) : null,
      h("div.buttons",
        h("button.danger", { testid: "drain", onclick: () => override(e.id, "down", "drain"), disabled: hl.override === "down" }, "Drain"),
        h("button", { testid: "undrain", onclick: () => override(e.id, "auto", "undrain"), disabled: !hl.override }, "Undrain (back to checks)"),
        h("button", { testid: "force-up", onclick: () => override(e.id, "up", "force up"), disabled: hl.override === "up" }, "Force up")),
      message && message.edge === e.id ? h("p.message", { testid: "edge-message", class: message.error ? "error" : "" }, message.text) : null);
  }

  function recentItem(ev) {
    return h("li", { testid: "recent-change", "data-type": ev.type, "data-edge": ev.edge || "" },
      h("time", fmtTime(ev.time).slice(11)), " ", describe(ev));
  }
  function drawRecent() {
    clear(recent, store.events.slice(-15).reverse().map(recentItem));
    if (!store.events.length) recent.append(h("li.muted", "none yet"));
  }

  on("edges", draw);
  on("event", coalesced(drawRecent));
  drawRecent();
  return { show: () => { refreshEdges(); }, tick: () => draw() };
}

function coalesced(fn) {
  let t = null;
  return () => {
    if (t) return;
    t = setTimeout(() => {
      t = null;
      fn();
    }, 50);
  };
}

// checkList: each check's spec and its last result, one block a check.
function checkList(checks, results) {
  const n = Math.max(checks.length, results.length);
  const items = [];
  for (let i = 0; i < n; i++) {
    const spec = checks[i] || {};
    const r = results.find((x) => String(x.check || "").startsWith(i + ":")) || results[i] || {};
    const target = spec.address || spec.url || (spec.server ? `${spec.server} ${spec.qname || ""} ${spec.qtype || ""}` : "");
    items.push(h("li.check", { testid: "check-row", "data-state": r.state || "" },
      h("div", h("strong", r.check || `${i}:${spec.type || "?"}`), " ", h("span.mono", target), " ",
        h("span.badge", { class: "st-" + (r.state || "unknown") }, r.state || "no result")),
      h("div.muted", [r.ok === undefined ? "" : r.ok ? "last probe ok" : "last probe failed",
        r.reason, r.detail, r.http_status ? "HTTP " + r.http_status : "",
        r.duration !== undefined ? "took " + fmtDuration(r.duration) : "", r.at ? fmtAgo(r.at) : "",
        spec.interval ? `every ${spec.interval}` : ""].filter(Boolean).join(" · "))));
  }
  return h("ul.checks", { testid: "panel-checks" }, items);
}

// fmtDuration("294.109µs") -> "294 µs"; a number is taken as milliseconds.
function fmtDuration(d) {
  if (typeof d === "number") return fmtMs(d) + " ms";
  const m = /^([\d.]+)(ns|µs|us|ms|s)$/.exec(String(d));
  if (!m) return String(d);
  const x = Number(m[1]);
  return (x >= 100 ? Math.round(x) : Number(x.toPrecision(3))) + " " + m[2].replace("us", "µs");
}

function nodeTable(nodes) {
  return h("table.checks", { testid: "panel-nodes" },
    h("thead", h("tr", h("th", "node"), h("th", "state"), h("th", "reason"))),
    h("tbody", nodes.map((n) => h("tr", h("td", n.node || n.name || ""), h("td", n.state || ""), h("td", n.reason || "")))));
}

export function describe(ev) {
  if (ev.type === "health") return `${ev.edge} ${ev.from ? ev.from + " → " : "first seen: "}${ev.state}${ev.reason ? " (" + ev.reason + ")" : ""}`;
  if (ev.type === "drain") return `${ev.edge} ${ev.state === "down" ? "drained" : ev.state === "auto" ? "undrained (back to checks)" : "forced " + ev.state}`;
  if (ev.type === "change") return `${ev.op || "change"} ${ev.kind || ""} ${ev.key || ""}`.replace(/\s+/g, " ").trim();
  return ev.type + " " + JSON.stringify(ev);
}

function swatch(color) {
  const sw = s("svg.swatch", { viewBox: "0 0 10 10", width: 10, height: 10 });
  sw.append(s("circle", { cx: 5, cy: 5, r: 5, fill: color }));
  return sw;
}
export { swatch };

function fmtNum(x) {
  return typeof x === "number" ? x.toFixed(2) : "?";
}
