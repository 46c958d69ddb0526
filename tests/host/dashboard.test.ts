/**
 * The simulator's web dashboard in headless Chromium (Debian's `chromium`, driven by
 * playwright-core): a simulated board publishing to the embedded broker, the page served
 * by host/sim/dashboard.ts running wasmqtt over the broker's WebSocket listener. The page
 * loads, shows the board online with a reading, and a relay click switches the relay (the
 * firmware obeys the command and its next reading says so). Writes a screenshot to
 * reports/dashboard.png. And the bundle alone in a page, against Mosquitto's WebSocket
 * listener, with mosquitto_sub on TCP. Skipped when /usr/bin/chromium is absent; needs
 * `node scripts/build.mjs` first (dist/browser.js).
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { loadBoard } from "../../host/boards.ts";
import { mosquittoSupportsWebsockets, startMosquitto } from "../../host/mosquitto.ts";
import { removeTempDir } from "../../host/processes.ts";
import { startEmbeddedBroker } from "../../host/sim/broker.ts";
import { startDashboard } from "../../host/sim/dashboard.ts";
import { Simulator } from "../../host/sim/simulator.ts";
import { uniqueTopic } from "./support/client-helpers.ts";
import { mosquittoSubStart } from "./support/mosquitto-clients.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHROMIUM = "/usr/bin/chromium";
const skip = !existsSync(CHROMIUM) && "no /usr/bin/chromium (apt-get install chromium)";
/** The flags that keep Chromium off the network and quiet. */
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run", "--disable-quic",
];

/** A headless Chromium with a fresh profile, closed when the test ends. */
async function launch(t: { after(fn: () => unknown): void }) {
  const profile = mkdtempSync(path.join(os.tmpdir(), "wasmqtt-chromium-"));
  t.after(() => removeTempDir(profile));
  // a fresh profile (--user-data-dir) each run, handed to Chromium by playwright
  const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, viewport: { width: 720, height: 360 } });
  t.after(() => browser.close());
  return browser;
}

test("the dashboard shows a board's reading and online status; a relay click switches the relay", { skip, timeout: 60_000 }, async (t) => {
  assert.ok(existsSync(path.join(ROOT, "dist", "browser.js")), "dist/browser.js is missing: run node scripts/build.mjs first");
  const broker = await startEmbeddedBroker();
  t.after(() => broker.close());
  const sim = await Simulator.create({ board: loadBoard("nodemcu-v3"), broker, devices: 1, speed: 10, intervalSec: 5 });
  const running = sim.run();
  t.after(async () => {
    await sim.close();
    await running;
  });
  const dashboard = await startDashboard({ wsUrl: broker.wsUrl });
  t.after(() => dashboard.close());

  const browser = await launch(t);
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  await page.goto(dashboard.url);

  const board = page.locator('.board[data-device="nodemcu-v3-1"]');
  const explain = () => problems.join("\n");
  await board.locator(".temperature", { hasText: /^-?\d+\.\d\d °C$/ }).waitFor({ timeout: 15_000 }).catch((error) => assert.fail(`${error}\n${explain()}`));
  assert.match(await board.locator(".moisture").innerText(), /^\d+ %$/);
  assert.equal(await board.locator(".status").innerText(), "online");
  assert.equal(await page.locator("#connection").getAttribute("data-state"), "connected");
  assert.equal(await board.locator(".relay").innerText(), "off");

  await board.locator(".toggle-relay").click();
  await board.locator(".relay", { hasText: /^on$/ }).waitFor({ timeout: 15_000 }).catch((error) => assert.fail(`${error}\n${explain()}`));
  assert.equal(sim.devices[0].appStats().relay, true, "the firmware's relay output is on");

  mkdirSync(path.join(ROOT, "reports"), { recursive: true });
  await page.screenshot({ path: path.join(ROOT, "reports", "dashboard.png") });
  assert.deepEqual(problems, []);
});

test("the bundle in a page against Mosquitto's WebSocket listener: QoS 2 to itself and QoS 1 to mosquitto_sub on TCP", {
  skip: skip || (!mosquittoSupportsWebsockets() && "this mosquitto has no WebSocket support"),
  timeout: 60_000,
}, async (t) => {
  const broker = await startMosquitto({ websockets: true });
  t.after(() => broker.stop());
  const dashboard = await startDashboard({ wsUrl: broker.wsUrl! }); // serves dist/browser.js and build/client-desktop.wasm
  t.after(() => dashboard.close());
  const topic = uniqueTopic("chromium");
  const sub = mosquittoSubStart(broker, ["-t", `${topic}/tcp`, "-q", "1", "-N"], { count: 1, timeoutMs: 20_000 });
  await sub.ready;
  const page = await (await launch(t)).newPage();
  await page.goto(`${dashboard.url}config.json`);
  const echoed = await page.evaluate(async ({ wsUrl, topic, bundle }) => {
    const { connect } = (await import(bundle)) as typeof import("../../host/browser.ts");
    const client = await connect(wsUrl, { clientId: `chromium-${Date.now()}` });
    const received = new Promise<string>((resolve) => client.on("message", (_topic, payload) => resolve(payload.toString())));
    await client.subscribe(`${topic}/self`, { qos: 2 });
    await client.publish(`${topic}/self`, "echo at QoS 2", { qos: 2 });
    await client.publish(`${topic}/tcp`, "from Chromium", { qos: 1 });
    const text = await received;
    await client.end();
    return text;
  }, { wsUrl: broker.wsUrl!, topic, bundle: "/dist/browser.js" });
  assert.equal(echoed, "echo at QoS 2");
  assert.equal(String((await sub.done).stdout), "from Chromium");
});
