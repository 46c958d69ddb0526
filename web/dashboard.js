// The dashboard: wasmqtt in the page, subscribed to devices/# on the embedded broker's
// WebSocket listener (config.json names it). Each board gets a card with its last reading,
// relay, LED and online/offline; the buttons publish {"relay":…} / {"led":…} to its cmd topic.
import { connect } from "./dist/browser.js";

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
  board = { element, relay: false, led: false };
  element.querySelector(".toggle-relay").addEventListener("click", () => command(id, { relay: !board.relay }));
  element.querySelector(".toggle-led").addEventListener("click", () => command(id, { led: !board.led }));
  boards.set(id, board);
  return board;
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
  const board = card(id);
  board.relay = reading.relay === true;
  board.led = reading.led === true;
  const { element } = board;
  element.querySelector(".temperature").textContent = `${Number(reading.temperature_c).toFixed(2)} °C`;
  element.querySelector(".moisture").textContent = `${reading.moisture_pct} %`;
  element.querySelector(".seq").textContent = `#${reading.seq}, up ${reading.uptime_s} s`;
  showSwitch(element, "relay", board.relay);
  showSwitch(element, "led", board.led);
}

function showStatus(id, text) {
  const status = card(id).element.querySelector(".status");
  status.textContent = text;
  status.dataset.online = String(text === "online");
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
  const { wsUrl } = await (await fetch("config.json")).json();
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
