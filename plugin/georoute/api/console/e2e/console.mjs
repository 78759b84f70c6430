// The console's end-to-end test in a real browser: Debian's chromium driven by playwright-core,
// against a real appliance (started by cmd/coredns-custom/console_browser_test.go, which passes
// it in the environment), with dig as the DNS client. Exits non-zero at the first failure.
//
//   CONSOLE_URL   the console (http://127.0.0.1:PORT/ui/)    READ_TOKEN, WRITE_TOKEN  API tokens
//   DNS_ADDR      the appliance's DNS (127.0.0.1:PORT)        EDGES  corefile.example's edges, a,b,c
//   DEAD_ADDR     a loopback TCP address no one listens on    SHOTS  where the screenshots go
//   CHROMIUM      the browser (/usr/bin/chromium)
import { chromium } from "playwright-core";
import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { promisify } from "node:util";

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};
const URL_ = env("CONSOLE_URL"), READ = env("READ_TOKEN"), WRITE = env("WRITE_TOKEN");
const DNS = env("DNS_ADDR"), DEAD = env("DEAD_ADDR"), SHOTS = resolve(env("SHOTS"));
const EDGES = env("EDGES").split(",");
const API = new URL("/", URL_).href.replace(/\/$/, "");
const T = 60000; // how long a thing the page shows may take to appear (a race-detector build on a loaded machine is slow)

const log = (...a) => console.log("e2e:", ...a);
function check(ok, what) {
  if (!ok) throw new Error("FAIL: " + what);
  log("ok:", what);
}

async function api(method, path, token, body) {
  const res = await fetch(API + path, { method, headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" }, body: body && JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
const edgesOf = (b) => (Array.isArray(b) ? b : b.edges);

// dig @DNS -p PORT NAME +subnet=NET +short: the addresses, sorted.
async function dig(name, subnet) {
  const [host, port] = [DNS.slice(0, DNS.lastIndexOf(":")), DNS.slice(DNS.lastIndexOf(":") + 1)];
  const { stdout } = await promisify(execFile)("dig", ["@" + host, "-p", port, name, "A", "+subnet=" + subnet, "+short", "+time=2", "+tries=2"]);
  return stdout.split("\n").map((l) => l.trim()).filter(Boolean).sort();
}

const browser = await chromium.launch({ executablePath: env("CHROMIUM"), args: ["--no-sandbox"] });
const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
const page = await context.newPage();
page.setDefaultTimeout(T);
const problems = [];
page.on("pageerror", (e) => problems.push("page error: " + e.message));
page.on("console", (m) => m.type() === "error" && !/Failed to load resource/.test(m.text()) && problems.push("console: " + m.text()));
// The CSP blocks inline scripts and style attributes: a violation is a bug of the page.
page.on("console", (m) => /Content Security Policy/.test(m.text()) && problems.push("CSP: " + m.text()));
const shots = [];
async function shot(name) {
  await mkdir(SHOTS, { recursive: true });
  const path = `${SHOTS}/console-${name}.png`;
  await page.screenshot({ path, fullPage: false });
  shots.push(path);
  log("screenshot", path);
}
const tid = (id) => page.getByTestId(id);
async function waitAttr(testid, attr, value, what) {
  try {
    await page.waitForFunction(([t, a, v]) => document.querySelector(`[data-testid="${t}"]`)?.getAttribute(a) === v, [testid, attr, value], { timeout: T });
  } catch {
    const got = await page.evaluate(([t, a]) => document.querySelector(`[data-testid="${t}"]`)?.getAttribute(a), [testid, attr]);
    throw new Error(`FAIL: ${what}: ${testid} ${attr}=${got}, want ${value}`);
  }
  log("ok:", what);
}
// The colour a thing is painted with, as the browser computes it.
const fill = (testid) => page.evaluate((t) => {
  const el = document.querySelector(`[data-testid="${t}"]`);
  return el && getComputedStyle(el).fill;
}, testid);
const legendFill = (testid) => page.evaluate((t) => {
  const el = document.querySelector(`[data-testid="${t}"] svg circle, [data-testid="${t}"] svg rect`);
  return el && getComputedStyle(el).fill;
}, testid);
async function login(token) {
  // A login after a logout has twice not shown the console within a minute on a loaded CI
  // machine (cause not found: never here): try again as a user would, saying what the page said.
  for (let attempt = 1; ; attempt++) {
    if (await tid("token-input").count() > 0) {
      await tid("token-input").fill(token);
      await tid("login").click();
    }
    try {
      await tid("tab-map").waitFor({ timeout: 20000 });
      return;
    } catch (e) {
      const said = await page.evaluate(() => document.querySelector('[data-testid="login-error"]')?.textContent || "(no login error)");
      log(`login attempt ${attempt}: no console after 20 s; the page says: ${said}`);
      if (attempt === 3) throw e;
    }
  }
}
async function logout() {
  await tid("logout").click();
  await tid("token-input").waitFor({ timeout: T });
}

try {
  // The page asks for a token; a wrong one is refused.
  await page.goto(URL_);
  await tid("token-input").fill("not-a-token");
  await tid("login").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="login-error"]')?.textContent.length > 0, null, { timeout: T });
  check(await tid("tab-map").count() === 0, "a wrong token does not log in");
  await login(READ);
  check(await page.evaluate(() => Object.keys(localStorage).length === 0 && !!sessionStorage.getItem("georoute.token")), "the token is in session storage only");

  // Every edge of corefile.example on the map, coloured as the API says its health is.
  const edges = edgesOf((await api("GET", "/v1/edges", READ)).body);
  const byId = new Map(edges.map((e) => [e.id, e]));
  const upColour = await legendFill("legend-up");
  for (const id of EDGES) {
    const e = byId.get(id);
    check(e && e.health.state === "up" && !e.health.override, `the API says ${id} is up (${e && e.health.reason})`);
    await waitAttr("edge-" + id, "data-state", "up", `${id} is on the map as up`);
    check((await fill("edge-" + id)) === upColour, `${id} is painted the legend's up colour ${upColour}`);
  }
  // Sized by the answers of the last minute (the Go test asked www from London more than from Sao Paulo).
  if (edges.some((e) => "answers_last_minute" in e)) {
    const a = (id) => byId.get(id).answers_last_minute;
    const r = (id) => page.evaluate((t) => Number(document.querySelector(`[data-testid="edge-${t}"]`).getAttribute("r")), id);
    check(a("lhr1") > a("gru1") && (await r("lhr1")) > (await r("gru1")), `lhr1 (${a("lhr1")} answers) is drawn larger than gru1 (${a("gru1")})`);
  } else problems.push("GET /v1/edges has no answers_last_minute");

  // An edge whose one check fails (a TCP port no one listens on) turns down on the map, live.
  const put = await api("PUT", "/v1/edges/dead1", WRITE, {
    addresses: ["192.0.2.99"], location: { lat: 64.15, lon: -21.94, country: "IS" },
    checks: [{ type: "tcp", address: DEAD, interval: "1s", timeout: "500ms", rise: 1, fall: 1 }],
  });
  check(put.status === 201 || put.status === 200, `PUT /v1/edges/dead1 with a tcp check to ${DEAD}: ${put.status} ${JSON.stringify(put.body)}`);
  await waitAttr("edge-dead1", "data-state", "down", "dead1 (its check refused) turns down on the map without a reload");
  check((await fill("edge-dead1")) === (await legendFill("legend-down")), "dead1 is painted the legend's down colour");
  await page.locator('[data-testid="recent-change"][data-edge="dead1"][data-type="health"]').first().waitFor({ timeout: T });
  log("ok: dead1's health change is in the recent changes, from the event stream");

  // A read token's drain is refused, and the page says so with the server's message.
  await tid("edge-lhr1").click();
  await tid("panel-edge").waitFor();
  await tid("drain").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="edge-message"].error'), null, { timeout: T });
  const refused = await tid("edge-message").textContent();
  const direct = await api("PUT", "/v1/edges/lhr1/override", READ, { state: "down" });
  check(direct.status === 403 && refused.includes(direct.body.error.message), `the read token's drain is refused on the page: "${refused}"`);
  check((await tid("edge-lhr1").getAttribute("data-state")) === "up", "lhr1 is still up");

  // A write token drains lhr1: drained on the map, and DNS stops answering it for London.
  await logout();
  await login(WRITE);
  const lhr1 = byId.get("lhr1").addresses.filter((a) => !a.includes(":"));
  const before = await dig("www.example.net", "81.2.69.0/24");
  check(before.length > 0 && before.every((a) => lhr1.includes(a)), `dig www +subnet=81.2.69.0/24 answers lhr1 before the drain: ${before}`);
  await tid("edge-lhr1").click();
  await tid("drain").click();
  await waitAttr("edge-lhr1", "data-state", "drained", "lhr1 turns drained");
  check((await fill("edge-lhr1")) === (await legendFill("legend-drained")), "lhr1 is painted the legend's drained colour");
  const during = await dig("www.example.net", "81.2.69.0/24");
  check(during.length > 0 && !during.some((a) => lhr1.includes(a)), `dig www +subnet=81.2.69.0/24 no longer answers lhr1: ${during}`);
  await tid("edge-dead1").click();
  await tid("panel-edge").waitFor();
  await shot("map");

  // The timeline shows the drain and dead1's fall, live.
  await tid("tab-timeline").click();
  await page.locator('[data-testid="timeline-event"][data-edge="lhr1"][data-type="drain"]').first().waitFor({ timeout: T });
  await page.locator('[data-testid="timeline-event"][data-edge="dead1"][data-type="health"]').first().waitFor({ timeout: T });
  check(await page.locator('[data-testid="lane-dead1"] rect[data-state="down"]').count() > 0, "the timeline has dead1's down span");
  await shot("timeline");

  // Undrain: lhr1 answers London again.
  await tid("tab-map").click();
  await tid("edge-lhr1").click();
  await tid("undrain").click();
  await waitAttr("edge-lhr1", "data-state", "up", "lhr1 is up again after the undrain");
  const after = await dig("www.example.net", "81.2.69.0/24");
  check(after.join() === before.join(), `dig answers lhr1 again: ${after}`);

  // Routing: pool web; the UK shaded lhr1's colour, Japan nrt1's; a measured RTT of the UK's
  // client network is marked apart from the estimates.
  const routed = (await api("GET", "/v1/routing?pool=web&type=A", READ)).body;
  const gb = routed.countries.find((c) => c.country === "GB");
  check(gb && gb.client, `GET /v1/routing has a client network for GB (${gb && gb.network})`);
  const rtt = await api("POST", "/v1/rtt", WRITE, [{ client: gb.client, edge: "lhr1", rtt_ms: 6 }]);
  check(rtt.status === 202, `POST /v1/rtt of ${gb.client} to lhr1 (6 ms): ${rtt.status}`);
  const measuredNow = async () => (await api("GET", "/v1/routing?pool=web&type=A", READ)).body.countries
    .find((c) => c.country === "GB").rtt.find((r) => r.edge === "lhr1").source === "measured";
  for (let i = 0; i < 40 && !(await measuredNow()); i++) await new Promise((r) => setTimeout(r, 100));
  check(await measuredNow(), "GET /v1/routing says GB -> lhr1 is measured");
  await tid("tab-routing").click();
  await tid("routing-pool").selectOption("web");
  await page.waitForFunction(() => document.querySelector(".routing-page")?.dataset.pool === "web", null, { timeout: T });
  await page.waitForFunction(() => document.querySelector('[data-testid="routing-country-GB"]')?.getAttribute("data-edge") === "lhr1", null, { timeout: T })
    .catch(() => {});
  for (const [cc, edge] of [["GB", "lhr1"], ["JP", "nrt1"]]) {
    const got = await tid("routing-country-" + cc).first().getAttribute("data-edge");
    const c = await fill("routing-country-" + cc), want = await legendFill("legend-" + edge);
    check(got === edge && c === want, `routing, pool web: ${cc} is shaded ${edge}'s colour ${want} (got ${got} ${c})`);
  }
  const kind = (edge) => page.locator(`[data-testid="heat-row-GB"] td[data-edge="${edge}"]`).getAttribute("data-kind");
  check(await kind("lhr1") === "measured" && await kind("iad1") !== "measured", `the heatmap marks GB -> lhr1 measured (${await kind("lhr1")}), GB -> iad1 not (${await kind("iad1")})`);
  check(await page.locator('[data-testid="heat-row-GB"] td[data-edge="lhr1"]').evaluate((el) => getComputedStyle(el).borderTopStyle) !== await page.locator('[data-testid="heat-row-GB"] td[data-edge="iad1"]').evaluate((el) => getComputedStyle(el).borderTopStyle) ||
    await page.locator('[data-testid="heat-row-GB"] td[data-edge="lhr1"]').evaluate((el) => getComputedStyle(el).borderTopWidth) !== await page.locator('[data-testid="heat-row-GB"] td[data-edge="iad1"]').evaluate((el) => getComputedStyle(el).borderTopWidth), "a measured cell is drawn apart from an estimated one");
  const cells = await page.locator('[data-testid="heatmap"] td.cell').count();
  check(cells >= EDGES.length * 100, `the heatmap has a cell a country and edge (${cells})`);
  await shot("routing");

  // Explain a client on each of two continents: the answer shown is dig's.
  await tid("tab-explain").click();
  const answers = [];
  for (const client of ["81.2.69.0", "126.0.0.1"]) {
    await tid("explain-client").fill(client);
    await tid("explain-name").fill("www.example.net");
    await tid("explain-type").selectOption("A");
    await tid("explain-run").click();
    await page.waitForFunction(() => document.querySelector('[data-testid="explain-result"]')?.dataset.state === "done", null, { timeout: T });
    const shown = (await page.locator('[data-testid="explain-answer"] [data-testid="explain-address"]').allTextContents()).map((s) => s.trim()).sort();
    const want = await dig("www.example.net", client + "/32");
    check(shown.length > 0 && shown.join() === want.join(), `explain ${client}: the page shows ${shown}, dig +subnet=${client}/32 answers ${want}`);
    check(await tid("explain-step").count() > 0, `explain ${client} draws its steps`);
    answers.push(shown.join());
  }
  check(answers[0] !== answers[1], "London and Tokyo get different answers");
  // A name behind nested pools: the step of the inner pool is drawn inside the outer one's.
  for (const [path, body] of [["/v1/pools/e2e-eu", { policy: "latency", edges: ["fra1", "lhr1"] }],
    ["/v1/pools/e2e-failover", { policy: "failover", members: [{ pool: "e2e-eu" }, { edge: "iad1" }] }],
    ["/v1/zones/example.net/names/nested", { pool: "e2e-failover" }]]) {
    const r = await api("PUT", path, WRITE, body);
    check(r.status === 201, `PUT ${path}: ${r.status}`);
  }
  await tid("explain-client").fill("81.2.69.0");
  await tid("explain-name").fill("nested.example.net");
  await tid("explain-run").click();
  await page.locator('[data-testid="explain-step"][data-pool="e2e-failover"] li[data-member="pool e2e-eu"] [data-testid="explain-step"][data-pool="e2e-eu"]').waitFor({ timeout: T });
  const nested = (await page.locator('[data-testid="explain-answer"] [data-testid="explain-address"]').allTextContents()).sort();
  const nestedDig = await dig("nested.example.net", "81.2.69.0/32");
  check(nested.join() === nestedDig.join(), `explain nested.example.net: pool e2e-eu's step drawn inside e2e-failover's, answer ${nested} = dig's ${nestedDig}`);
  await shot("explain");

  // Names: pages of 50 through the cursor, a search, one name's binding and its answer.
  const batch = {};
  for (let i = 0; i < 120; i++) batch[`page${String(i).padStart(3, "0")}.t`] = { edge: "sin1" };
  const put120 = await api("POST", "/v1/zones/example.net/batch", WRITE, { put: batch });
  check(put120.status === 200, `POST batch of 120 names: ${put120.status}`);
  await tid("tab-names").click();
  const rows = () => page.locator('[data-testid="name-row"]').evaluateAll((rs) => rs.map((r) => r.dataset.name));
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="name-row"]').length === 50, null, { timeout: T });
  const seenNames = new Set(await rows());
  let pages = 1;
  while (await tid("names-next").isEnabled()) {
    const before = JSON.stringify(await rows());
    await tid("names-next").click();
    await page.waitForFunction((b) => JSON.stringify([...document.querySelectorAll('[data-testid="name-row"]')].map((r) => r.dataset.name)) !== b, before, { timeout: T });
    for (const n of await rows()) seenNames.add(n);
    pages++;
  }
  const total = (await api("GET", "/v1/status", READ)).body.names;
  check(total >= 124 && pages === Math.ceil(total / 50) && seenNames.size === total, `names: ${pages} pages of at most 50 hold every name once (${seenNames.size} of ${total})`);
  await tid("names-prev").click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="name-row"]').length === 50, null, { timeout: T });
  await tid("names-search").fill("k3x9");
  await page.waitForFunction(() => {
    const rows = document.querySelectorAll('[data-testid="name-row"]');
    return rows.length === 1 && rows[0].dataset.name.startsWith("k3x9.");
  }, null, { timeout: T }).catch(() => problems.push("names search q=k3x9 did not give k3x9.t alone"));
  await page.locator('[data-testid="name-row"][data-name^="k3x9."]').click();
  await page.waitForFunction(() => /fra1/.test(document.querySelector('[data-testid="name-binding"]')?.textContent || ""), null, { timeout: T });
  const fra1 = byId.get("fra1").addresses.filter((a) => !a.includes(":"));
  await page.waitForFunction((a) => document.querySelector('[data-testid="name-answer"] [data-testid="explain-address"]')?.textContent === a, fra1[0], { timeout: T });
  log("ok: names: k3x9.t is bound to fra1 and answers", fra1[0]);
  await shot("names");

  await tid("tab-nodes").click();
  await page.locator('[data-testid="nodes-single"], [data-testid="nodes-table"]').first().waitFor({ timeout: T });
  await shot("nodes");

  check((await tid("live").getAttribute("data-state")) === "connected", "the event stream is connected");
  if (problems.length) throw new Error("FAIL: " + problems.join("; "));
  log(`PASS: ${shots.length} screenshots in ${SHOTS}`);
} catch (e) {
  try { await shot("failure"); } catch {}
  console.error(e.message);
  process.exitCode = 1;
} finally {
  await browser.close();
}
