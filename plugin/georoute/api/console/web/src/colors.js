// Colours: health states on the map, and one colour an edge on the routing view.
export const HEALTH = { up: "#2f9e44", down: "#e03131", drained: "#f59f00", unknown: "#868e96" };
export const HEALTH_LABEL = { up: "up", down: "down", drained: "drained (override down)", unknown: "unknown" };

const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
  "#17becf", "#bcbd22", "#7f3c8d", "#11a579", "#3969ac", "#f2b701", "#e73f74", "#80ba5a", "#e68310"];

// edgeColors(ids) gives each edge of a pool, in the pool's order, a colour of its own.
export function edgeColors(ids) {
  const m = new Map();
  ids.forEach((id, i) => m.set(id, i < PALETTE.length ? PALETTE[i] : `hsl(${(i * 137.5) % 360} 55% 50%)`));
  return m;
}

// rttColor(ms): green (near) to red (far), on a log scale from 5 ms to 400 ms.
export function rttColor(ms) {
  if (ms === null || ms === undefined || !isFinite(ms)) return "#f1f3f5";
  const t = Math.min(1, Math.max(0, Math.log(Math.max(ms, 5) / 5) / Math.log(400 / 5)));
  const hue = 130 - 130 * t;
  return `hsl(${hue.toFixed(0)} 60% ${(82 - 22 * t).toFixed(0)}%)`;
}
