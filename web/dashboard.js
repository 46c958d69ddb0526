// The dashboard: wasmqtt in the page, subscribed to devices/# on the broker's WebSocket
// listener (config.json names it). Each board gets a card with charts of its last readings
// (temperature and moisture over its uptime), relay, LED and online/offline (the retained
// status, "offline" also being its will); the buttons publish {"relay":…} / {"led":…} and the
// interval form {"interval_s":…} to its cmd topic. When the simulator serves devices.json, each card also shows its module's
// outbox fill and reconnects.
import { connect } from "./dist/browser.js";
import { Chart } from "./chart.js";

/** Readings each chart keeps. */
const WINDOW = 90;
/** How often devices.json is read, ms. */
const DEVICES_EVERY_MS = 1000;

const boards = new Map();
const connection = document.getElementById("connection");

/** The card of board `id`, made on first sight. */
function card(id) {
  let board = boards.get(id);
  if (board !== undefined) return board;
  const element = document.getElementById("board").content.firstElementChild.cloneNode(true);
  element.dataset.device = id;
  element.querySelector(".name").textContent = id;
  const container = document.getElementById("boards");
  const after = [...container.children].find((other) => other.dataset.device.localeCompare(id, undefined, { numeric: true }) > 0);
  container.insertBefore(element, after ?? null);
  const chart = (series, options) => new Chart(element.querySelector(`.chart[data-series="${series}"]`), { ...options, capacity: WINDOW });
  board = {
    element,
    relay: false,
    led: false,
    temperature: chart("temperature", { label: "temperature", unit: "°C", minSpan: 1 }),
    moisture: chart("moisture", { label: "soil moisture", unit: "%", minSpan: 4 }),
    drawing: false,
  };
  element.querySelector(".toggle-relay").addEventListener("click", () => command(id, { relay: !board.relay }));
  element.querySelector(".toggle-led").addEventListener("click", () => command(id, { led: !board.led }));
  element.querySelector(".interval").addEventListener("submit", (event) => {
    event.preventDefault();
    const field = event.target.elements.interval_s;
    if (field.checkValidity()) command(id, { interval_s: Number(field.value) });
  });
  boards.set(id, board);
  return board;
}

/** Redraws a board's charts at the next frame, once however many readings came meanwhile. */
function redraw(board) {
  if (board.drawing) return;
  board.drawing = true;
  requestAnimationFrame(() => {
    board.drawing = false;
    board.temperature.draw();
    board.moisture.draw();
  });
}

/** Shows an on/off field. */
function showSwitch(element, name, on) {
  const field = element.querySelector(`.${name}`);
  field.textContent = on ? "on" : "off";
  field.dataset.on = String(on);
}

/** A telemetry reading: {"seq","temperature_c","moisture_pct","relay","led","uptime_s"}. */
function showReading(id, text) {
  let reading;
  try {
    reading = JSON.parse(text);
  } catch {
    return;
  }
  const temperature = Number(reading.temperature_c);
  const moisture = Number(reading.moisture_pct);
  const uptime = Number(reading.uptime_s);
  if (![temperature, moisture, uptime].every(Number.isFinite)) return;
  const board = card(id);
  board.relay = reading.relay === true;
  board.led = reading.led === true;
  const { element } = board;
  element.querySelector(".temperature").textContent = `${temperature.toFixed(2)} °C`;
  element.querySelector(".moisture").textContent = `${moisture} %`;
  element.querySelector(".seq").textContent = `#${reading.seq}, up ${uptime} s`;
  showSwitch(element, "relay", board.relay);
  showSwitch(element, "led", board.led);
  board.temperature.add(uptime, temperature);
  board.moisture.add(uptime, moisture);
  redraw(board);
}

function showStatus(id, text) {
  const { element } = card(id);
  const status = element.querySelector(".status");
  status.textContent = text;
  status.dataset.online = String(text === "online");
  element.dataset.online = String(text === "online");
}

/** The simulator's view of each module: [{ id, outbox: { used, capacity }, reconnects }]. */
function showDevices(devices) {
  for (const { id, outbox, reconnects } of devices) {
    const { element } = card(id);
    const fill = element.querySelector(".outbox");
    fill.textContent = `${outbox.used} / ${outbox.capacity} B`;
    fill.style.setProperty("--fill", `${((100 * outbox.used) / outbox.capacity).toFixed(1)}%`);
    element.querySelector(".reconnects").textContent = String(reconnects);
  }
}

/** Reads devices.json now and every DEVICES_EVERY_MS; a failed read waits for the next. */
async function pollDevices() {
  try {
    const response = await fetch("devices.json", { cache: "no-store" });
    if (response.ok) showDevices(await response.json());
  } catch {
    // the simulator has stopped: the cards keep the last figures
  }
  setTimeout(pollDevices, DEVICES_EVERY_MS);
}

let client;

async function command(id, body) {
  await client.publish(`devices/${id}/cmd`, JSON.stringify(body), { qos: 1 });
}

function showConnection(state, text) {
  connection.dataset.state = state;
  connection.textContent = text;
}

async function start() {
  const { wsUrl, devices } = await (await fetch("config.json")).json();
  if (devices) pollDevices();
  client = await connect(wsUrl, { clientId: `dashboard-${Math.random().toString(16).slice(2, 10)}`, keepalive: 30, retryFirstConnect: true });
  showConnection("connected", `connected to ${wsUrl}`);
  client.on("connect", () => showConnection("connected", `connected to ${wsUrl}`));
  client.on("offline", (error) => showConnection("offline", `offline (${error.code}), reconnecting…`));
  client.on("message", (topic, payload) => {
    const [, id, kind] = topic.split("/");
    if (kind === "telemetry") showReading(id, payload.toString());
    else if (kind === "status") showStatus(id, payload.toString());
  });
  await client.subscribe("devices/#", { qos: 1 });
}

start().catch((error) => showConnection("offline", `failed: ${error.message}`));
