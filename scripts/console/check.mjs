// Drives the console in headless Chromium (Debian's /usr/bin/chromium through npm
// playwright-core): searches a hash, waits for the transaction card, and prints what a support
// person would read as one JSON line. Writes a screenshot.
//
// usage: node scripts/console/check.mjs URL HASH SCREENSHOT.png
// env:   CHAINWATCH_TOOLS (where playwright-core is installed), CHROMIUM (default /usr/bin/chromium)
import { createRequire } from "node:module";
import path from "node:path";

const [url, hash, screenshot] = process.argv.slice(2);
if (!url || !hash || !screenshot) {
  console.error("usage: node check.mjs URL HASH SCREENSHOT.png");
  process.exit(2);
}
const tools = process.env.CHAINWATCH_TOOLS || "/opt/chainwatch-tools";
const require = createRequire(path.join(tools, "node_modules", "noop.js"));
let chromium;
try {
  ({ chromium } = require("playwright-core"));
} catch (e) {
  console.error(`playwright-core not found under ${tools}/node_modules: run 'bash .ci/run' once (${e.message})`);
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
const out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const consoleErrors = [];
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await page.goto(url, { waitUntil: "load" });
  await page.fill("#hash", hash);
  await page.click("button[type=submit]");
  await page.waitForSelector('[data-testid="failure-message"], [data-testid="finality"], [data-testid="trace-message"], [data-testid="not-found"], [data-testid="error"]', { timeout: 20000 });
  const text = async (sel) => (await page.$(sel)) ? (await page.textContent(sel)).trim() : null;
  out.failureMessage = await text('[data-testid="failure-message"]');
  out.failure = await text('[data-testid="failure"] b');
  out.finality = await text('[data-testid="finality"]');
  out.error = await text('[data-testid="error"]');
  out.card = await text("#cards");
  // The chains table fills in from the API too.
  await page.waitForFunction(() => !document.querySelector("#chains tbody").textContent.includes("loading"), null, { timeout: 20000 });
  out.chains = await text("#chains tbody");
  out.pageErrors = consoleErrors;
  await page.screenshot({ path: screenshot, fullPage: true });
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
