// Routing: for a chosen pool, each country shaded by the edge its clients get now (GET
// /v1/routing: a representative client network per country, decided by the DNS path's code),
// and the RTT matrix as a heatmap, countries x edges, measured cells marked apart from estimates.
import { api, qs } from "../api.js";
import { edgeColors, rttColor } from "../colors.js";
import { countryName, createMap, loadWorld } from "../worldmap.js";
import { store } from "../store.js";
import { clear, fmtMs, h, list, s } from "../util.js";
import { swatch } from "./map.js";

// A cell's kind: a report of this very network (measured) or of its aggregate, an estimate
// corrected by nearby measurements, or the distance estimate alone.
function cellKind(r) {
  if (r.measured === true || r.source === "measured" || r.source === "aggregated") return "measured";
  if (/corrected/.test(r.source || "")) return "corrected";
  return "estimated";
}

export function routingPage(root) {
  const poolSel = h("select", { testid: "routing-pool", onchange: () => load() });
  const typeSel = h("select", { testid: "routing-type", onchange: () => load() }, h("option", "A"), h("option", "AAAA"));
  const filter = h("input", { type: "search", placeholder: "filter countries (code or name)", testid: "heatmap-filter", oninput: () => drawHeat() });
  const status = h("p.status", { testid: "routing-status" });
  const legend = h("div.legend", { testid: "routing-legend" });
  const mapBox = h("div.mapbox", h("p.muted", "loading the map…"));
  const heat = h("div.heatmap", { testid: "heatmap" });
  const section = h("section.page.routing-page",
    h("div.controls", h("label", "pool ", poolSel), h("label", "type ", typeSel), status),
    legend, mapBox,
    h("h3", "RTT matrix (ms): client countries × edges"),
    h("p.muted", h("span.cell-key.measured", "● 12"), " measured (reports of this network or its aggregate)   ",
      h("span.cell-key.corrected", "34"), " estimate corrected by nearby measurements   ",
      h("span.cell-key.estimated", "56"), " estimate from distance alone; underlined: the edge answered."),
    filter, heat);
  root.append(section);

  let map = null;
  let data = null;
  let colors = new Map();
  let seq = 0;

  loadWorld().then((w) => {
    map = createMap(w, "routing");
    clear(mapBox, map.svg);
    shade();
  }, (e) => clear(mapBox, h("p.error", "the map's data did not load: " + e.message)));

  async function loadPools() {
    try {
      const pools = list(await api("/v1/pools"), "pools");
      const cur = poolSel.value;
      clear(poolSel, pools.map((p) => h("option", { value: p.id }, `${p.id} (${p.policy})`)));
      if (pools.some((p) => p.id === cur)) poolSel.value = cur;
      if (!data || data.pool !== poolSel.value) load();
    } catch (e) {
      status.textContent = "pools: " + e.message;
      status.classList.add("error");
    }
  }

  async function load() {
    if (!poolSel.value) return;
    const my = ++seq;
    status.textContent = "loading…";
    status.classList.remove("error");
    delete section.dataset.pool;
    try {
      const got = await api("/v1/routing" + qs({ pool: poolSel.value, type: typeSel.value }));
      if (my !== seq) return;
      data = got;
      colors = edgeColors(data.edges || []);
      const n = (data.countries || []).length;
      status.textContent = `${n} countries, one representative client network each`;
      drawLegend();
      shade();
      drawHeat();
      section.dataset.pool = data.pool;
    } catch (e) {
      if (my !== seq) return;
      status.textContent = "routing: " + e.message;
      status.classList.add("error");
    }
  }

  function drawLegend() {
    const count = new Map();
    for (const c of data.countries || []) {
      const e = (c.answer_edges || [])[0];
      if (e) count.set(e, (count.get(e) || 0) + 1);
    }
    clear(legend, (data.edges || []).map((id) =>
      h("span.key", { testid: "legend-" + id, "data-color": colors.get(id) }, swatch(colors.get(id)), `${id} (${count.get(id) || 0})`)),
    h("span.key", { testid: "legend-none", "data-color": "#dee2e6" }, swatch("#dee2e6"), "no data / no answer"));
  }

  function shade() {
    if (!map) return;
    for (const paths of map.countries.values()) for (const p of paths) {
      p.setAttribute("fill", "#dee2e6");
      p.removeAttribute("data-edge");
    }
    for (const l of [...map.layer.childNodes]) l.remove();
    if (!data) return;
    for (const c of data.countries || []) {
      const first = (c.answer_edges || [])[0];
      const paths = map.countries.get(c.country);
      if (!paths || !first) continue;
      for (const p of paths) {
        p.setAttribute("fill", colors.get(first) || "#adb5bd");
        p.setAttribute("data-edge", first);
        p.querySelector("title").textContent = `${countryName(c.country)} (${c.country}): ${(c.answer_edges || []).join(", ")} for ${c.network || c.client}`;
      }
    }
    for (const id of data.edges || []) {
      const e = store.edges.get(id);
      if (!e || !e.location) continue;
      const xy = map.project([e.location.lon, e.location.lat]);
      if (!xy) continue;
      map.layer.append(s("circle.routing-edge", { cx: xy[0].toFixed(1), cy: xy[1].toFixed(1), r: 5, fill: colors.get(id), testid: "routing-edge-" + id }),
        s("text.edge-label", { x: (xy[0] + 7).toFixed(1), y: (xy[1] + 4).toFixed(1) }, id));
    }
  }

  function drawHeat() {
    if (!data) return clear(heat);
    const f = filter.value.trim().toLowerCase();
    const edges = data.edges || [];
    const rows = (data.countries || []).filter((c) => !f || c.country.toLowerCase() === f || countryName(c.country).toLowerCase().includes(f))
      .slice().sort((a, b) => (a.country < b.country ? -1 : 1));
    const head = h("tr", h("th", "country"), h("th", "client network"), h("th", "answer"), edges.map((id) => h("th.edgecol", swatch(colors.get(id)), id)));
    const body = rows.map((c) => {
      const byEdge = new Map((c.rtt || []).map((r) => [r.edge, r]));
      const first = (c.answer_edges || [])[0];
      return h("tr", { testid: "heat-row-" + c.country },
        h("th.rowhead", { title: countryName(c.country) }, c.country, " ", h("span.muted", countryName(c.country))),
        h("td.mono", c.network || c.client || ""),
        h("td", (c.answer_edges || []).join(", ")),
        edges.map((id) => {
          const r = byEdge.get(id) || {};
          const kind = cellKind(r);
          const td = h("td.cell", { "data-edge": id, "data-source": r.source || "none", "data-kind": kind, title: `${c.country} → ${id}: ${fmtMs(r.rtt_ms)} ms (${r.source || "no figure"})`, class: [kind, id === first ? "answered" : ""].join(" ") }, fmtMs(r.rtt_ms));
          td.style.backgroundColor = rttColor(r.rtt_ms);
          return td;
        }));
    });
    clear(heat, h("table.heat", h("thead", head), h("tbody", body)));
  }

  return { show: () => { loadPools(); }, onEvent: (ev) => { if (ev.type !== "change" || ev.kind === "pools" || ev.kind === "edges") { if (data) reload(); } } };

  function reload() {
    clearTimeout(reload.t);
    reload.t = setTimeout(load, 1000);
  }
}
