// The console's Nodes page with several nodes on one etcd, in Debian's chromium (playwright-core):
// started by test/console_nodes_test.go. It logs in, opens the Nodes page and prints, each time
// the test writes a line to its stdin, the rows the page shows as a JSON line
// [{"node": "n1", "lag": 0, "self": true}, ...], reloading the page's data first. EOF ends it.
//
//   CONSOLE_URL  the console (http://127.0.0.1:PORT/ui/)   TOKEN  an API token
//   CHROMIUM     the browser (/usr/bin/chromium)           SHOT   where a screenshot goes
import { chromium } from "playwright-core";
import { createInterface } from "node:readline";

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};
const browser = await chromium.launch({ executablePath: env("CHROMIUM"), args: ["--no-sandbox"] });
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(60000);
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(env("CONSOLE_URL"));
  await page.locator('[data-testid="token-input"]').fill(env("TOKEN"));
  await page.locator('[data-testid="login"]').click();
  await page.locator('[data-testid="tab-nodes"]').click();
  await page.locator('[data-testid="nodes-table"]').waitFor({ timeout: 60000 });
  const rows = () => page.evaluate(() => [...document.querySelectorAll('[data-testid="node-row"]')].map((tr) => ({
    node: tr.getAttribute("data-node"),
    lag: Number(tr.children[2].textContent),
    self: tr.children[0].textContent.includes("(this one)"),
  })));
  for await (const _ of createInterface({ input: process.stdin })) {
    // The page reads /v1/status every 10 s; going to another page and back reads it now.
    await page.locator('[data-testid="tab-map"]').click();
    await page.locator('[data-testid="tab-nodes"]').click();
    await page.locator('[data-testid="nodes-table"]').waitFor({ timeout: 60000 });
    await page.waitForTimeout(300);
    console.log(JSON.stringify(await rows()));
  }
  await page.screenshot({ path: env("SHOT") });
  if (errors.length) throw new Error("page errors: " + errors.join("; "));
} finally {
  await browser.close();
}
