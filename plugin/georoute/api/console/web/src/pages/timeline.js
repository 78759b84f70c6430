// Health timeline: every edge's state over the last hours, from the event stream (since=0
// replays the server's in-memory ring, then it goes on live): health transitions as coloured
// spans, drains as a band over them, and the list of the changes, newest first.
import { HEALTH } from "../colors.js";
import { store } from "../store.js";
import { clear, coalesce, fmtTime, h, s } from "../util.js";
import { describe } from "./map.js";

const WINDOWS = [["all the ring holds", 0], ["15 min", 15 * 60e3], ["1 h", 3600e3], ["3 h", 3 * 3600e3], ["6 h", 6 * 3600e3], ["24 h", 24 * 3600e3]];

export function timelinePage(root) {
  const win = h("select", { testid: "timeline-window", onchange: () => draw() }, WINDOWS.map(([l, ms]) => h("option", { value: ms }, l)));
  win.value = "0";
  const chart = h("div.timeline", { testid: "timeline" });
  const table = h("tbody");
  const count = h("span.muted");
  root.append(h("section.page.timeline-page",
    h("div.controls", h("label", "last ", win), count),
    h("div.legend", Object.entries(HEALTH).filter(([k]) => k !== "drained").map(([k, c]) => h("span.key", key(c), k)),
      h("span.key", key(HEALTH.drained), "drained (band)")),
    chart,
    h("h3", "State changes"),
    h("table.events", { testid: "timeline-events" },
      h("thead", h("tr", h("th", "time"), h("th", "id"), h("th", "edge"), h("th", "what"))), table)));

  function draw() {
    const now = Date.now();
    const evs = store.events.filter((e) => e.type === "health" || e.type === "drain");
    // "All the ring holds": from a little before the oldest event, a minute at least.
    const oldest = evs.length ? new Date(evs[0].time).getTime() : now;
    const span = Number(win.value) || Math.max(60e3, (now - oldest) * 1.05);
    const t0 = now - span;
    const ids = [...new Set([...store.edges.keys(), ...evs.map((e) => e.edge).filter(Boolean)])].sort();
    const W = 960, L = 70, R = 10, RH = 22, top = 20;
    const x = (t) => L + ((Math.max(t, t0) - t0) / span) * (W - L - R);
    const svg = s("svg.timeline-svg", { viewBox: `0 0 ${W} ${top + ids.length * RH + 6}`, testid: "timeline-chart" });
    // hour / quarter ticks
    const step = span <= 3 * 60e3 ? 15e3 : span <= 20 * 60e3 ? 2 * 60e3 : span <= 3600e3 ? 10 * 60e3 : span <= 6 * 3600e3 ? 3600e3 : 3 * 3600e3;
    for (let t = Math.ceil(t0 / step) * step; t <= now; t += step) {
      svg.append(s("line.tick", { x1: x(t), x2: x(t), y1: top - 4, y2: top + ids.length * RH }),
        s("text.tick-label", { x: x(t), y: top - 7 }, new Date(t).toISOString().slice(11, step < 60e3 ? 19 : 16)));
    }
    ids.forEach((id, row) => {
      const y = top + row * RH;
      const mine = evs.filter((e) => e.edge === id).sort((a, b) => new Date(a.time) - new Date(b.time));
      const health = mine.filter((e) => e.type === "health");
      const drains = mine.filter((e) => e.type === "drain");
      const edge = store.edges.get(id);
      const g = s("g.lane", { testid: "lane-" + id });
      g.append(s("text.lane-label", { x: 4, y: y + 15 }, id));
      // Health spans: before an edge's first event its state is that event's "from"; an edge
      // first seen by the event ("from" empty) has no span before it.
      let st = health.length ? health[0].from || null : (edge?.health?.state || "unknown");
      let from = t0;
      const spans = [];
      for (const e of health) {
        const t = new Date(e.time).getTime();
        if (t > t0) spans.push([from, t, st]);
        from = Math.max(t, t0);
        st = e.state;
      }
      spans.push([from, now, st]);
      for (const [a, b, stt] of spans) {
        if (b <= t0 || !stt) continue;
        g.append(s("rect.span", { x: x(a), y: y + 3, width: Math.max(1, x(b) - x(a)), height: RH - 6, fill: HEALTH[stt] || HEALTH.unknown, "data-state": stt },
          s("title", {}, `${id} ${stt} from ${fmtTime(a)} to ${b === now ? "now" : fmtTime(b)}`)));
      }
      // drain band: override "down" spans
      let drained = drains.length ? false : edge?.health?.override === "down";
      let dfrom = t0;
      for (const e of drains) {
        const t = new Date(e.time).getTime();
        if (drained && t > t0) g.append(band(x(dfrom), x(t), y));
        dfrom = Math.max(t, t0);
        drained = e.state === "down";
      }
      if (drained) g.append(band(x(dfrom), x(now), y, true));
      for (const e of mine) {
        const t = new Date(e.time).getTime();
        if (t < t0) continue;
        g.append(s("line.mark", { x1: x(t), x2: x(t), y1: y + 1, y2: y + RH - 1 }, s("title", {}, `${fmtTime(e.time)} ${describe(e)}`)));
      }
      svg.append(g);
    });
    clear(chart, svg);
    const shown = evs.filter((e) => new Date(e.time).getTime() >= t0);
    count.textContent = ` ${shown.length} state changes in the window, ${evs.length} in the server's ring as seen`;
    clear(table, shown.slice(-300).reverse().map((e) =>
      h("tr", { testid: "timeline-event", "data-type": e.type, "data-edge": e.edge || "" },
        h("td.mono", fmtTime(e.time)), h("td.mono", String(e.id ?? "")), h("td", e.edge || ""), h("td", describe(e)))));
    if (!shown.length) table.append(h("tr", h("td.muted", { colspan: 4 }, "no health or drain change in the window")));
  }

  function band(x1, x2, y, open) {
    return s("rect.drain-band", { x: x1, y: y + 1, width: Math.max(1, x2 - x1), height: 6, fill: HEALTH.drained, "data-open": open ? "1" : "0" });
  }
  function key(c) {
    const k = s("svg.swatch", { viewBox: "0 0 10 10", width: 10, height: 10 });
    k.append(s("rect", { width: 10, height: 10, fill: c }));
    return k;
  }

  const soon = coalesce(draw, 100);
  return { show: draw, onEvent: (ev) => (ev.type === "health" || ev.type === "drain") && soon(), tick: draw };
}
