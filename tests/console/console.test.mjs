// The web console of `stresslab serve`, in a real browser: the system's Chromium
// (Debian's `chromium`), headless, driven by playwright-core — no browser download.
// Starts the server on a free port, uploads the sample pension portfolio through the
// form, waits for the run to show as finished, and opens its report. Every request
// that would leave the machine is refused and counted: the page must work offline.
//
// STRESSLAB_BIN: the binary (default: $CARGO_TARGET_DIR or target/, debug build);
// CHROMIUM: the browser (default /usr/bin/chromium).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const bin =
  process.env.STRESSLAB_BIN ||
  join(process.env.CARGO_TARGET_DIR || join(repo, "target"), "debug", "stresslab");
const sample = join(repo, "events/inputs/seed_pension.json");

let server;
let base;
let browser;
let dir;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "stresslab-console-"));
  server = spawn(bin, ["serve", "--addr", "127.0.0.1:0", "--dir", dir], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  base = await new Promise((ok, fail) => {
    server.once("error", fail);
    server.once("exit", (code) => fail(new Error(`stresslab serve exited with ${code}`)));
    createInterface({ input: server.stdout }).once("line", (line) => {
      const url = line.split(/\s+/).find((w) => w.startsWith("http://"));
      url ? ok(url) : fail(new Error(`no address in ${JSON.stringify(line)}`));
    });
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    // CI containers run as root, where Chromium's sandbox cannot start.
    args: ["--no-sandbox"],
  });
});

after(async () => {
  await browser?.close();
  server?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/// A page that may reach only the server; anything else is aborted and recorded.
async function offlinePage(context) {
  const external = [];
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (`${url.protocol}//${url.host}` === base) return route.continue();
    external.push(url.href);
    return route.abort();
  });
  return { page: await context.newPage(), external };
}

test("upload a portfolio, watch the run finish, open its report", async () => {
  const context = await browser.newContext();
  const { page, external } = await offlinePage(context);
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(base + "/");
  await assert.doesNotReject(page.waitForSelector("#workflow option[value=hedging]", { state: "attached" }));
  await page.selectOption("#workflow", "hedging");
  // The defaults of the chosen workflow are filled in from GET /workflows.
  const defaults = JSON.parse(await page.inputValue("#parameters"));
  assert.ok("paths" in defaults, JSON.stringify(defaults));

  // Bad input first: the API's problems are shown with the field they name.
  await page.setInputFiles("#portfolio", sample);
  await page.fill("#parameters", JSON.stringify({ scenarios: 1 }));
  await page.click("#start");
  await page.waitForFunction(() => document.getElementById("problems").textContent.length > 0);
  assert.match(await page.textContent("#problems"), /^parameters\.scenarios: /);

  // A small run: 12 scenarios × 100 paths.
  await page.fill("#parameters", JSON.stringify({ scenarios: 12, partitions: 2, paths: 100 }));
  await page.fill("#seed", "3");
  await page.click("#start");
  await page.waitForFunction(() => /run hedging-/.test(document.getElementById("notice").textContent));
  const notice = await page.textContent("#notice");
  const runId = notice.match(/hedging-[0-9a-f]{20}/)[0];
  assert.equal(await page.textContent("#problems"), "");

  // The list shows it, then shows it finished (it polls every second).
  const row = `tr[data-run-id="${runId}"]`;
  await page.waitForSelector(row);
  await page.waitForSelector(`${row}[data-status="SUCCEEDED"]`, { timeout: 120_000 });
  assert.match(await page.textContent(`${row} td:nth-child(4)`), /(\d+)\/\1 \(partitions 2\/2\)/);

  // Open the report from the list: a new tab with the run's report.
  const [report] = await Promise.all([
    context.waitForEvent("page"),
    page.click(`${row} [data-testid="report-link"]`),
  ]);
  await report.waitForLoadState();
  assert.ok(report.url().startsWith(`${base}/runs/${runId}/`), report.url());
  assert.ok((await report.content()).includes(runId), "the report names its run");

  assert.deepEqual(external, [], "requests that would leave the machine");
  assert.deepEqual(errors, [], "script errors on the page");
  await context.close();
});
