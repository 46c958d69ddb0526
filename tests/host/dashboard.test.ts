/**
 * The simulator's web dashboard in headless Chromium (Debian's `chromium`, driven by
 * playwright-core): simulated boards publishing to the embedded broker, the page served
 * by host/sim/dashboard.ts running wasmqtt over the broker's WebSocket listener. The page
 * loads, shows a board online with a reading, its charts gain a point per reading, its
 * outbox fill and reconnects; a relay click switches the relay (the firmware obeys the
 * command and its next reading says so); a board the simulator stops shows offline (its
 * retained status), and so does one that loses power (its will). Writes a screenshot to
 * reports/dashboard.png. Then `wasmqtt sim --broker … --broker-ws …` against Mosquitto with
 * a WebSocket listener: the page it serves shows the board's readings from that broker,
 * and the board offline once the command is stopped. And the bundle alone in a page,
 * against Mosquitto's WebSocket listener, with mosquitto_sub on TCP. Skipped when
 * /usr/bin/chromium is absent; needs `node scripts/build.mjs` first (dist/).
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { type Locator, chromium } from "playwright-core";
import { loadBoard } from "../../host/boards.ts";
import { mosquittoSupportsWebsockets, startMosquitto } from "../../host/mosquitto.ts";
import { exited, removeTempDir, spawnTracked } from "../../host/processes.ts";
import { startEmbeddedBroker } from "../../host/sim/broker.ts";
import { startDashboard } from "../../host/sim/dashboard.ts";
import { Simulator } from "../../host/sim/simulator.ts";
import { uniqueTopic, until } from "./support/client-helpers.ts";
import { mosquittoSubStart } from "./support/mosquitto-clients.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHROMIUM = "/usr/bin/chromium";
const skip = !existsSync(CHROMIUM) && "no /usr/bin/chromium (apt-get install chromium)";
const skipWithoutWebsockets = skip || (!mosquittoSupportsWebsockets() && "this mosquitto has no WebSocket support");
/** The flags that keep Chromium off the network and quiet. */
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run", "--disable-quic",
];

/** A headless Chromium with a fresh profile, closed when the test ends. */
async function launch(t: { after(fn: () => unknown): void }) {
  const profile = mkdtempSync(path.join(os.tmpdir(), "wasmqtt-chromium-"));
  // a fresh profile (--user-data-dir) each run, handed to Chromium by playwright
  const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, viewport: { width: 1000, height: 700 } }).catch((error) => {
    removeTempDir(profile);
    throw error;
  });
  // one hook, in this order: Chromium writes to its profile until it has exited
  t.after(async () => {
    await browser.close();
    removeTempDir(profile);
  });
  return browser;
}

/** A page of `browser` that collects its errors; `explain()` lists them. */
async function watchedPage(browser: Awaited<ReturnType<typeof launch>>) {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  return { page, problems, explain: () => problems.join("\n") };
}

/** The vertices of a board's chart of `series` ("temperature" | "moisture"): one per reading drawn. */
async function chartPoints(board: Locator, series: string): Promise<number> {
  const points = await board.locator(`.chart[data-series="${series}"] polyline`).getAttribute("points");
  return (points ?? "").split(" ").filter((point) => point !== "").length;
}

/** Waits (up to 15 s) until the chart of `series` has more than `than` points; the count it reached. */
async function pointsAbove(board: Locator, series: string, than: number, explain: () => string): Promise<number> {
  const deadline = Date.now() + 15_000;
  let points = await chartPoints(board, series);
  while (points <= than) {
    if (Date.now() > deadline) assert.fail(`the ${series} chart stayed at ${points} points (waited for more than ${than})\n${explain()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    points = await chartPoints(board, series);
  }
  return points;
}

/** Waits until the locator's text matches. */
function showing(locator: Locator, text: RegExp, explain: () => string): Promise<void> {
  return locator.filter({ hasText: text }).waitFor({ timeout: 15_000 }).catch((error) => assert.fail(`${error}\n${explain()}`));
}

test("the dashboard charts a board's readings, shows its relay, outbox and reconnects; a relay click switches the relay, the interval form sets the interval; stopped boards show offline", { skip, timeout: 90_000 }, async (t) => {
  assert.ok(existsSync(path.join(ROOT, "dist", "browser.js")), "dist/browser.js is missing: run node scripts/build.mjs first");
  const broker = await startEmbeddedBroker();
  t.after(() => broker.close());
  const sim = await Simulator.create({ board: loadBoard("nodemcu-v3"), broker, devices: 4, speed: 60, intervalSec: 5 });
  const running = sim.run();
  t.after(async () => {
    await sim.close();
    await running;
  });
  const dashboard = await startDashboard({ wsUrl: broker.wsUrl, devices: () => sim.snapshot().devices });
  t.after(() => dashboard.close());

  const { page, problems, explain } = await watchedPage(await launch(t));
  await page.goto(dashboard.url);

  const board = page.locator('.board[data-device="nodemcu-v3-1"]');
  await showing(board.locator(".temperature"), /^-?\d+\.\d\d °C$/, explain);
  assert.match(await board.locator(".moisture").innerText(), /^\d+ %$/);
  await showing(board.locator(".status"), /^online$/, explain);
  assert.equal(await page.locator("#connection").getAttribute("data-state"), "connected");
  assert.equal(await board.locator(".relay").innerText(), "off");

  // each reading is one more vertex of both charts
  const before = await chartPoints(board, "temperature");
  assert.ok(before >= 1, "the first reading is drawn");
  const after = await pointsAbove(board, "temperature", before + 2, explain);
  assert.ok(after > before + 2, `temperature chart: ${before} → ${after} points`);
  assert.ok(await pointsAbove(board, "moisture", before + 2, explain) > before + 2);
  assert.match(await board.locator(".chart[data-series=temperature] .tick").last().textContent() ?? "", /^now$/);
  assert.match(await board.locator(".chart[data-series=temperature] .tick").first().textContent() ?? "", /^-?\d+(\.\d+)? °C$/);
  assert.match(await board.locator(".chart[data-series=moisture] .tick").first().textContent() ?? "", /^\d+ %$/);

  // outbox and reconnects, from the simulator's devices.json
  await showing(board.locator(".outbox"), /^\d+ \/ 3072 B$/, explain);
  assert.equal(await board.locator(".reconnects").innerText(), "0");

  await board.locator(".toggle-relay").click();
  await showing(board.locator(".relay"), /^on$/, explain);
  assert.equal(sim.devices[0].appStats().relay, true, "the firmware's relay output is on");

  // the interval form sends {"interval_s":…}, and the firmware takes it
  assert.equal(sim.devices[0].appStats().intervalSec, 5);
  await board.locator(".interval input").fill("7");
  await board.locator(".interval button").click();
  await until("the firmware's interval is 7 s", () => sim.devices[0].appStats().intervalSec === 7, undefined, () => `it is ${sim.devices[0].appStats().intervalSec} s\n${explain()}`);

  // board 3 shuts down (its retained "offline"), board 4 loses power (the broker publishes its will)
  const stopped = page.locator('.board[data-device="nodemcu-v3-3"]');
  const unplugged = page.locator('.board[data-device="nodemcu-v3-4"]');
  await showing(stopped.locator(".status"), /^online$/, explain);
  await showing(unplugged.locator(".status"), /^online$/, explain);
  sim.devices[2].stop();
  await showing(stopped.locator(".status"), /^offline$/, explain);
  sim.devices[3].powerOff();
  await showing(unplugged.locator(".status"), /^offline$/, explain);
  assert.equal(await unplugged.getAttribute("data-online"), "false");
  assert.equal(await board.locator(".status").innerText(), "online", "the other boards stay online");
  assert.equal(await page.locator('.board[data-device="nodemcu-v3-2"] .status').innerText(), "online");

  await pointsAbove(board, "temperature", Math.min(after + 20, 60), explain); // a fuller chart for the picture
  mkdirSync(path.join(ROOT, "reports"), { recursive: true });
  await page.screenshot({ path: path.join(ROOT, "reports", "dashboard.png") });
  assert.deepEqual(problems, []);
});

test("wasmqtt sim --broker --broker-ws: the dashboard it serves shows the board from Mosquitto's WebSocket listener, offline once stopped", {
  skip: skipWithoutWebsockets,
  timeout: 60_000,
}, async (t) => {
  assert.ok(existsSync(path.join(ROOT, "dist", "cli.js")), "dist/cli.js is missing: run node scripts/build.mjs first");
  const broker = await startMosquitto({ websockets: true });
  t.after(() => broker.stop());
  const args = ["sim", "--broker", broker.url, "--broker-ws", broker.wsUrl!, "--speed", "10", "--interval", "2", "--board", "esp32-devkitc"];
  const child = spawnTracked(process.execPath, [path.join(ROOT, "dist", "cli.js"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => child.kill("SIGKILL"));
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const printed: string[] = [];
  const dashboardUrl = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      printed.push(line);
      const match = /^dashboard: (http:\/\/127\.0\.0\.1:\d+\/)$/.exec(line);
      if (match) resolve(match[1]);
    });
    child.once("exit", (code) => reject(new Error(`wasmqtt sim exited ${code} before serving the dashboard:\n${printed.join("\n")}\n${stderr}`)));
  });
  assert.ok(printed.includes(`websocket: ${broker.wsUrl}`), printed.join("\n"));

  const { page, problems, explain } = await watchedPage(await launch(t));
  await page.goto(dashboardUrl);
  const board = page.locator('.board[data-device="esp32-devkitc-1"]');
  await showing(board.locator(".temperature"), /^-?\d+\.\d\d °C$/, explain);
  await showing(board.locator(".status"), /^online$/, explain);
  assert.equal(await page.locator("#connection").innerText(), `connected to ${broker.wsUrl}`);
  await pointsAbove(board, "temperature", 1, explain);
  await showing(board.locator(".outbox"), /^\d+ \/ 8192 B$/, explain);

  child.kill("SIGINT"); // a clean shutdown: each device publishes its retained "offline" and DISCONNECTs
  assert.equal(await exited(child), 0, stderr);
  await showing(board.locator(".status"), /^offline$/, explain);
  assert.deepEqual(problems, []);
});

test("the bundle in a page against Mosquitto's WebSocket listener: QoS 2 to itself and QoS 1 to mosquitto_sub on TCP", {
  skip: skipWithoutWebsockets,
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
