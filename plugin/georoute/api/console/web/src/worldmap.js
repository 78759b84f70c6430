// The world map: country shapes projected at build time (world.json, from world-atlas's
// countries-110m) and the same Natural Earth projection here to place edges on them.
import { geoNaturalEarth1 } from "d3-geo";
import { s } from "./util.js";

export const LAND = "#dee2e6";

let worldP = null;
export function loadWorld() {
  worldP ||= fetch("world.json", { cache: "force-cache" }).then((r) => {
    if (!r.ok) throw new Error("world.json: HTTP " + r.status);
    return r.json();
  });
  return worldP;
}

// countryName("GB") -> "United Kingdom" once the world is loaded.
let names = {};
export function countryName(cc) {
  return names[cc] || cc;
}

// createMap(world, testidPrefix) -> {svg, countries: Map cc -> [path], project([lon, lat]), layer}
export function createMap(world, prefix) {
  names = world.names || names;
  const projection = geoNaturalEarth1().scale(world.scale).translate(world.translate);
  const svg = s("svg.worldmap", { viewBox: `0 0 ${world.width} ${world.height}`, role: "img", "aria-label": "world map", testid: prefix + "-map" });
  const sphere = s("rect.sea", { x: 0, y: 0, width: world.width, height: world.height });
  const land = s("g.countries");
  const countries = new Map();
  for (const c of world.countries) {
    const p = s("path.country", { d: c.d, fill: LAND, "data-cc": c.cc, testid: `${prefix}-country-${c.cc}` });
    p.append(s("title", {}, `${countryName(c.cc)} (${c.cc})`));
    land.append(p);
    if (!countries.has(c.cc)) countries.set(c.cc, []);
    countries.get(c.cc).push(p);
  }
  const layer = s("g.overlay");
  svg.append(sphere, land, layer);
  return { svg, countries, layer, project: (lonlat) => projection(lonlat) };
}
