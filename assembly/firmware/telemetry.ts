// The telemetry firmware: every interval it reads the TMP36 and the soil-moisture
// sensor and publishes a compact JSON reading to devices/<id>/telemetry (QoS 1 by
// default, held in the outbox while offline). It keeps devices/<id>/status retained at "online",
// with a will that sets "offline", and takes commands from devices/<id>/cmd.
// Report-by-exception: with a deadband set, a reading is published only when a value
// moved past it, or after HEARTBEAT_READINGS readings without a publish. Its state lives
// in the persistent block's application area, so it survives deep sleep (sleep.ts) and,
// with a host that saves the block, power loss.
import { OK, INVALID_ARGUMENT, INVALID_QOS, OUTBOX_FULL } from "../status";
import { APP_STATE_BYTES } from "../config";
import { STAGING_BASE, STATE_CONNECTED, client, configure, publish, start, stop, subscriptions } from "../client";
import { subscribe } from "../requests";
import { APP_STATE_BASE, changed } from "../persist";
import { MIN_SLEEP_INTERVAL_SEC, sleepTick, wake } from "./sleep";
import { adcRead, gpioWrite } from "./board";
import { adcMicrovolts, tmp36CentiCelsius, moisturePercent } from "./sensors";
import { writeAscii, writeBytes, writeBool, writeCenti, writeUint } from "./json";
import { command, parseCommand, COMMAND_INTERVAL, COMMAND_READ, COMMAND_RELAY, COMMAND_LED, MAX_INTERVAL_SEC } from "./commands";

/** Longest device id: also the MQTT client id. */
export const MAX_DEVICE_ID: u32 = 32;
/** ADC samples averaged per reading. */
const SAMPLES: u32 = 4;
/** With a deadband, publish at least every this many readings anyway. */
export const HEARTBEAT_READINGS: u32 = 10;
/** Output flags of boardConfigure: the LED / relay is on when its pin is low. */
const LED_ACTIVE_LOW: u32 = 1;
const RELAY_ACTIVE_LOW: u32 = 2;
/** Will and status payloads. */
const STATUS_ONLINE = "online";
const STATUS_OFFLINE = "offline";

/** The board's wiring and calibration (from its board file). */
@unmanaged
class Board {
  adcBits: u32;
  referenceMv: u32;
  dividerPermille: u32;
  tmp36Channel: u32;
  moistureChannel: u32;
  dryRaw: u32;
  wetRaw: u32;
  ledGpio: u32;
  relayGpio: u32;
  outputFlags: u32;
}

/** The application's state; also its stats block (appStatsBuffer, u32 fields in this order). */
@unmanaged
export class Telemetry {
  running: u32;
  intervalSec: u32;
  temperatureCenti: i32;
  moisturePercent: u32;
  sequence: u32;
  readings: u32;
  published: u32;
  suppressed: u32;
  rejected: u32;
  commands: u32;
  badCommands: u32;
  relay: u32;
  led: u32;
  uptimeSec: u32;
  /** Deep sleep between readings on (appSetSleep). */
  sleep: u32;
  /** Wakes from deep sleep since the device was first started. */
  wakes: u32;
  /** 1 from the SLEEP event until the wake: the block is the image saved to sleep. */
  asleep: u32;
  // not part of the stats block
  deadbandCenti: u32;
  deadbandPercent: u32;
  telemetryQos: u32;
  deviceIdLen: u32;
  announced: bool;
  readNow: bool;
  readingsSincePublish: u32;
  publishedTemperature: i32;
  publishedMoisture: u32;
  lastReadAt: u32;
  lastTickAt: u32;
  uptimeMs: u64;
  // the wake's cycle (sleep.ts)
  /** When the device last woke (appStart or its own wake): the readings' cadence. */
  wokeAt: u32;
  /** The sleep the last SLEEP event asked for, ms. */
  sleepMs: u32;
  /** The retained "sleeping" status went out on this wake. */
  signedOff: bool;
}

/** u32 fields of the app stats block. */
export const APP_STATS_FIELDS: u32 = 17;

// The board, the app and the device id, back to back in the persistent block's application area.
// @ts-ignore: decorator
@inline const TELEMETRY_AT: u32 = (offsetof<Board>() + 7) & ~7;
// @ts-ignore: decorator
@inline const DEVICE_ID_AT: u32 = TELEMETRY_AT + offsetof<Telemetry>();
const board = changetype<Board>(APP_STATE_BASE);
export const telemetry = changetype<Telemetry>(APP_STATE_BASE + TELEMETRY_AT);
const DEVICE_ID = APP_STATE_BASE + DEVICE_ID_AT;

/**
 * Sets the board: ADC resolution, full scale at the chip (mV), pin-to-chip divider in
 * thousandths, the sensors' adcRead channels, moisture calibration (dryRaw > wetRaw),
 * the LED and relay GPIOs and their active-low flags (bit 0 LED, bit 1 relay).
 * Returns OK or INVALID_ARGUMENT.
 */
export function boardConfigure(adcBits: u32, referenceMv: u32, dividerPermille: u32, tmp36Channel: u32, moistureChannel: u32, dryRaw: u32, wetRaw: u32, ledGpio: u32, relayGpio: u32, outputFlags: u32): i32 {
  if (adcBits < 8 || adcBits > 16 || referenceMv == 0 || dividerPermille == 0) return INVALID_ARGUMENT;
  if (dryRaw <= wetRaw || dryRaw >= <u32>1 << adcBits || tmp36Channel == moistureChannel) return INVALID_ARGUMENT;
  if (ledGpio == relayGpio || (outputFlags & ~3) != 0) return INVALID_ARGUMENT;
  board.adcBits = adcBits;
  board.referenceMv = referenceMv;
  board.dividerPermille = dividerPermille;
  board.tmp36Channel = tmp36Channel;
  board.moistureChannel = moistureChannel;
  board.dryRaw = dryRaw;
  board.wetRaw = wetRaw;
  board.ledGpio = ledGpio;
  board.relayGpio = relayGpio;
  board.outputFlags = outputFlags;
  return OK;
}

/**
 * Sets up the device named by the id in staging (1–32 of A–Z a–z 0–9 - _): its MQTT
 * connection (client id = device id, persistent session, will "offline" retained on
 * devices/<id>/status), its command subscription, the reading interval, the
 * deadbands (0 = publish every reading) and the QoS of readings. Call boardConfigure first;
 * after a persistRestore it keeps the restored command subscription (the module sends
 * it again). Returns OK, INVALID_ARGUMENT, or a status of configure() / subscribe().
 */
export function appConfigure(deviceIdLen: u32, intervalSec: u32, deadbandCenti: u32, deadbandPercent: u32, keepaliveSec: u32, telemetryQos: u32): i32 {
  if (DEVICE_ID_AT + MAX_DEVICE_ID > APP_STATE_BYTES) ERROR("the telemetry state does not fit APP_STATE_BYTES (assembly/config.ts)");
  if (board.referenceMv == 0 || !isDeviceId(STAGING_BASE, deviceIdLen)) return INVALID_ARGUMENT;
  if (telemetryQos > 2) return INVALID_QOS;
  if (intervalSec == 0 || intervalSec > MAX_INTERVAL_SEC) return INVALID_ARGUMENT;
  if (telemetry.sleep != 0 && intervalSec < MIN_SLEEP_INTERVAL_SEC) return INVALID_ARGUMENT;
  memory.copy(DEVICE_ID, STAGING_BASE, deviceIdLen);
  telemetry.deviceIdLen = deviceIdLen;
  telemetry.intervalSec = intervalSec;
  telemetry.deadbandCenti = deadbandCenti;
  telemetry.deadbandPercent = deadbandPercent;
  telemetry.telemetryQos = telemetryQos;

  // CONNECT: client id, then will topic and payload (no username or password)
  let willTopic = STAGING_BASE + deviceIdLen;
  let willTopicLen = <u32>(writeTopic(willTopic, "/status") - willTopic);
  writeAscii(willTopic + willTopicLen, STATUS_OFFLINE);
  let flags: u32 = 8 | 16 | (1 << 5); // will, will retain, will QoS 1; clean session off
  let status = configure(deviceIdLen, 0, 0, willTopicLen, <u32>STATUS_OFFLINE.length, flags, keepaliveSec);
  if (status != OK) return status;

  // SUBSCRIBE entry: [u16 length][devices/<id>/cmd][QoS 1]
  let filterLen = <u32>(writeTopic(STAGING_BASE + 2, "/cmd") - (STAGING_BASE + 2));
  store<u16>(STAGING_BASE, <u16>filterLen);
  store<u8>(STAGING_BASE + 2 + filterLen, 1);
  // a restored session (persistRestore) holds the filter already, granted or its request
  // awaiting the SUBACK: the module sends that again itself, and resubscribes without a session
  if (subscriptions.find(STAGING_BASE + 2, filterLen) < 0) {
    status = subscribe(1, 0);
    if (status < 0) return status;
  }

  switchOutputs(false, false);
  return OK;
}

/**
 * Starts the device: connecting, and a first reading at once, the outputs driven as the
 * app last set them. After a wake from deep sleep it is the only call the host makes
 * after the restore: the board, the device and the counters came back with the block.
 * Returns OK, INVALID_ARGUMENT (not configured), or a status of start().
 */
export function appStart(now: u32): i32 {
  if (telemetry.deviceIdLen == 0) return INVALID_ARGUMENT;
  let status = start(now);
  if (status != OK) return status;
  telemetry.running = 1;
  telemetry.readNow = true;
  telemetry.lastTickAt = now;
  if (telemetry.sleep != 0) wake(now);
  switchOutputs(telemetry.relay != 0, telemetry.led != 0);
  return OK;
}

/**
 * Shuts the device down cleanly: when connected, publishes the retained "offline" status
 * itself (the DISCONNECT that follows means the broker drops the will), then stop().
 * Returns OK.
 */
export function appStop(now: u32): i32 {
  if (client.state == STATE_CONNECTED) publishStatus(STATUS_OFFLINE, now);
  telemetry.running = 0;
  return stop(now);
}

/** The app's part of tick(): status announcement and readings. Returns the ms until it next needs to run. */
export function appTick(now: u32): u32 {
  if (telemetry.running == 0) return u32.MAX_VALUE;
  let sinceTick = now - telemetry.lastTickAt;
  if (sinceTick < 0x80000000) telemetry.uptimeMs += <u64>sinceTick; // else the clock went back: count nothing
  telemetry.lastTickAt = now;
  telemetry.uptimeSec = <u32>(telemetry.uptimeMs / 1000);
  if (telemetry.sleep != 0) return sleepTick(now);
  if (client.state != STATE_CONNECTED) telemetry.announced = false;
  else if (!telemetry.announced) announce(now);
  let interval = telemetry.intervalSec * 1000;
  let since = now - telemetry.lastReadAt;
  if (telemetry.readNow || since >= interval) {
    takeReading(now);
    return interval;
  }
  return interval - since;
}

/** The app's message handler (registered by the firmware module's init): applies what arrives on devices/<id>/cmd. */
export function receiveMessage(topicPtr: usize, topicLen: u32, payloadPtr: usize, payloadLen: u32, flags: u32): void {
  if (isCommandTopic(topicPtr, topicLen)) receiveCommand(payloadPtr, payloadLen);
}

/** True when a message on this topic is for the app (devices/<id>/cmd). */
function isCommandTopic(topicPtr: usize, topicLen: u32): bool {
  if (telemetry.deviceIdLen == 0) return false;
  let len = <u32>(writeTopic(SCRATCH_TOPIC, "/cmd") - SCRATCH_TOPIC);
  return len == topicLen && memory.compare(SCRATCH_TOPIC, topicPtr, len) == 0;
}

/**
 * Applies a command payload: outputs switch at once; a new interval or a "read" takes
 * effect at the next tick (publishing here could take the tx room the PUBACK of this
 * very command needs). Counts commands and malformed ones; with deep sleep on, an
 * interval_s below MIN_SLEEP_INTERVAL_SEC counts as malformed.
 */
export function receiveCommand(payloadPtr: usize, payloadLen: u32): void {
  let parsed = parseCommand(payloadPtr, payloadLen);
  let present = command.present;
  // deep sleep needs its minimum interval: a shorter one refuses the whole command
  if (!parsed || (present & COMMAND_INTERVAL) != 0 && telemetry.sleep != 0 && command.intervalSec < MIN_SLEEP_INTERVAL_SEC) {
    telemetry.badCommands++;
    return;
  }
  telemetry.commands++;
  changed();
  if ((present & COMMAND_INTERVAL) != 0) telemetry.intervalSec = command.intervalSec;
  if ((present & (COMMAND_RELAY | COMMAND_LED)) != 0) {
    switchOutputs((present & COMMAND_RELAY) != 0 ? command.relay : telemetry.relay != 0, (present & COMMAND_LED) != 0 ? command.led : telemetry.led != 0);
  }
  if ((present & (COMMAND_READ | COMMAND_RELAY | COMMAND_LED)) != 0) telemetry.readNow = true;
}

/** The app stats block (layout in boards/ABI.md): its address. */
export function appStatsBuffer(): usize {
  return changetype<usize>(telemetry);
}

// ---- internals -------------------------------------------------------------

/** Room to compare a received topic with devices/<id>/cmd. */
const SCRATCH_TOPIC = memory.data(8 + <i32>MAX_DEVICE_ID + 4);

/** Writes devices/<id><suffix> at `at`; returns the end. */
export function writeTopic(at: usize, suffix: string): usize {
  at = writeAscii(at, "devices/");
  at = writeBytes(at, DEVICE_ID, telemetry.deviceIdLen);
  return writeAscii(at, suffix);
}

/** 1–MAX_DEVICE_ID bytes of A–Z a–z 0–9 - _ (safe in a topic level and a client id). */
function isDeviceId(ptr: usize, len: u32): bool {
  if (len == 0 || len > MAX_DEVICE_ID) return false;
  for (let i: u32 = 0; i < len; i++) {
    let b = load<u8>(ptr + i);
    let ok = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2d || b == 0x5f;
    if (!ok) return false;
  }
  return true;
}

/** Drives the relay and LED pins, honouring active-low wiring. */
export function switchOutputs(relay: bool, led: bool): void {
  telemetry.relay = relay ? 1 : 0;
  telemetry.led = led ? 1 : 0;
  gpioWrite(board.relayGpio, (relay ? 1 : 0) ^ ((board.outputFlags & RELAY_ACTIVE_LOW) != 0 ? 1 : 0));
  gpioWrite(board.ledGpio, (led ? 1 : 0) ^ ((board.outputFlags & LED_ACTIVE_LOW) != 0 ? 1 : 0));
}

/** Publishes the retained "online" status once per connection. */
function announce(now: u32): void {
  telemetry.announced = publishStatus(STATUS_ONLINE, now) >= 0;
}

/** Publishes `status` to devices/<id>/status, QoS 1, retained. Returns publish()'s result. */
function publishStatus(status: string, now: u32): i32 {
  let topicLen = <u32>(writeTopic(STAGING_BASE, "/status") - STAGING_BASE);
  writeAscii(STAGING_BASE + topicLen, status);
  return publish(topicLen, <u32>status.length, 1, true, now);
}

/** The mean of SAMPLES raw readings of an ADC channel. */
function sample(channel: u32): u32 {
  let sum: u32 = 0;
  for (let i: u32 = 0; i < SAMPLES; i++) sum += adcRead(channel);
  return (sum + SAMPLES / 2) / SAMPLES;
}

/** Reads both sensors; publishes when forced, outside the deadband, or for the heartbeat. */
export function takeReading(now: u32): void {
  let microvolts = adcMicrovolts(sample(board.tmp36Channel), board.adcBits, board.referenceMv, board.dividerPermille);
  let temperature = tmp36CentiCelsius(microvolts);
  let moisture = moisturePercent(sample(board.moistureChannel), board.dryRaw, board.wetRaw);
  telemetry.temperatureCenti = temperature;
  telemetry.moisturePercent = moisture;
  telemetry.readings++;
  telemetry.lastReadAt = now;
  telemetry.readingsSincePublish++;
  let due = telemetry.readNow || telemetry.published == 0 || telemetry.readingsSincePublish >= HEARTBEAT_READINGS;
  due = due || telemetry.deadbandCenti == 0 && telemetry.deadbandPercent == 0;
  due = due || <u32>abs(temperature - telemetry.publishedTemperature) >= telemetry.deadbandCenti && telemetry.deadbandCenti > 0;
  due = due || <u32>abs(<i32>moisture - <i32>telemetry.publishedMoisture) >= telemetry.deadbandPercent && telemetry.deadbandPercent > 0;
  telemetry.readNow = false;
  if (!due) {
    telemetry.suppressed++;
    return;
  }
  publishReading(now);
}

/**
 * The reading's JSON (boards/ABI.md, "The telemetry firmware"): each `%` stands for the
 * next field in order. One literal rather than one per key: every string literal is
 * static data with a header of its own.
 */
const READING_FORMAT = "{\"seq\":%,\"temperature_c\":%,\"moisture_pct\":%,\"relay\":%,\"led\":%,\"uptime_s\":%}";
const FIELD_MARK: u32 = 0x25; // '%'

/** Writes field `index` of READING_FORMAT. */
function writeReadingField(at: usize, index: u32): usize {
  switch (index) {
    case 0: return writeUint(at, telemetry.sequence + 1);
    case 1: return writeCenti(at, telemetry.temperatureCenti);
    case 2: return writeUint(at, telemetry.moisturePercent);
    case 3: return writeBool(at, telemetry.relay != 0);
    case 4: return writeBool(at, telemetry.led != 0);
    default: return writeUint(at, telemetry.uptimeSec);
  }
}

/** Publishes the current reading as JSON; a full outbox refuses it (counted, sequence unchanged). */
function publishReading(now: u32): void {
  let topicLen = <u32>(writeTopic(STAGING_BASE, "/telemetry") - STAGING_BASE);
  let start = STAGING_BASE + topicLen;
  let at = start;
  let field: u32 = 0;
  for (let i = 0; i < READING_FORMAT.length; i++) {
    let c = <u32>READING_FORMAT.charCodeAt(i);
    if (c == FIELD_MARK) at = writeReadingField(at, field++);
    else store<u8>(at++, <u8>c);
  }
  let status = publish(topicLen, <u32>(at - start), telemetry.telemetryQos, false, now);
  if (status < 0) {
    if (status == OUTBOX_FULL) telemetry.rejected++;
    return;
  }
  telemetry.sequence++;
  telemetry.published++;
  telemetry.readingsSincePublish = 0;
  telemetry.publishedTemperature = telemetry.temperatureCenti;
  telemetry.publishedMoisture = telemetry.moisturePercent;
}
