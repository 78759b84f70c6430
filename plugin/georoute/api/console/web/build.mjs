// Builds the console into ../assets/ (committed: go:embed serves it, so `go build` alone gives a
// working console): index.html and style.css as they are, app.js bundled by esbuild from src/,
// and world.json, the country shapes of world-atlas's countries-110m (Natural Earth, public
// domain) projected here once (Natural Earth projection, 960 wide) into SVG paths keyed by ISO
// 3166-1 alpha-2 code, with the projection's scale and translate so the page places edges on it.
// Deterministic: the same sources and lock file give the same bytes. No network.
import { build } from "esbuild";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { geoNaturalEarth1, geoPath } from "d3-geo";
import { feature } from "topojson-client";
import countries from "i18n-iso-countries";

const require = createRequire(import.meta.url);
const here = new URL(".", import.meta.url).pathname;
const out = new URL("../assets/", import.meta.url).pathname;
await mkdir(out, { recursive: true });

// The shapes world-atlas gives no ISO number: coded as GeoIP databases code their addresses.
const byName = { Kosovo: "XK", "N. Cyprus": "CY", Somaliland: "SO" };

const topo = JSON.parse(await readFile(require.resolve("world-atlas/countries-110m.json"), "utf8"));
const all = feature(topo, topo.objects.countries).features.filter((f) => f.id !== "010"); // no Antarctica
const width = 960, height = 470;
const projection = geoNaturalEarth1().fitExtent([[4, 4], [width - 4, height - 4]], { type: "FeatureCollection", features: all });
const path = geoPath(projection).digits(1);
const shapes = all.map((f) => {
  const cc = (f.id && countries.numericToAlpha2(f.id)) || byName[f.properties.name];
  if (!cc) throw new Error(`no ISO alpha-2 code for ${f.id} ${f.properties.name}`);
  return { cc, name: f.properties.name, d: path(f) };
}).sort((a, b) => (a.cc < b.cc ? -1 : a.cc > b.cc ? 1 : a.name < b.name ? -1 : 1));
const round = (x) => Math.round(x * 1000) / 1000;
const world = {
  source: "world-atlas countries-110m (Natural Earth, public domain), Natural Earth projection",
  width, height,
  scale: round(projection.scale()),
  translate: projection.translate().map(round),
  countries: shapes,
  // Names of every ISO code, for the countries too small for the 110m map (heatmap rows).
  names: countries.getNames("en", { select: "official" }),
};
await writeFile(out + "world.json", JSON.stringify(world) + "\n");

await build({
  entryPoints: [here + "src/app.js"],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  legalComments: "eof",
  outfile: out + "app.js",
  logLevel: "warning",
});
await build({ entryPoints: [here + "src/style.css"], bundle: true, minify: true, outfile: out + "style.css", logLevel: "warning" });
await copyFile(here + "src/index.html", out + "index.html");
