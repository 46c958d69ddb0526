// Deep sleep between readings (boards/ABI.md, "Deep sleep"): with appSetSleep(1) the
// device holds no connection between readings. Each wake reads, connects, publishes,
// waits for the broker to acknowledge everything (at most AWAKE_BUDGET_MS), publishes the
// retained status "sleeping <s>", DISCONNECTs, makes the persistent block a save image
// and asks the host to power down with the SLEEP event. Only the block survives: the
// app's state lies in its application area, so a wake is init(), the restore, appStart().
// A host that does not power down gets the same cycle with the module kept: it wakes
// itself when the sleep is over.
import { OK, INVALID_ARGUMENT, INVALID_STATE } from "../status";
import { STAGING_BASE, STATE_CONNECTED, client, outbox, subscriptions, publish, start, stop } from "../client";
import { SUBSCRIPTION_FREE, SUBSCRIPTION_ACTIVE } from "../subscriptions";
import { changed, persistPrepare } from "../persist";
import { onEvent, EVENT_SLEEP } from "../host";
import { writeAscii, writeUint } from "./json";
import { takeReading, telemetry, writeTopic } from "./telemetry";

/**
 * Shortest reading interval with deep sleep. A wake lasts at most AWAKE_BUDGET_MS; at
 * 30 s a device whose every wake runs out of budget still sleeps two thirds of the time,
 * and a board pays a wake's fixed cost (boot, Wi-Fi association, DHCP, TCP, CONNECT: about
 * 1–3 s of radio on an ESP32 or ESP8266) at most 2880 times a day.
 */
export const MIN_SLEEP_INTERVAL_SEC: u32 = 30;
/** Longest a wake stays up waiting for the connection and the acknowledgements before it sleeps anyway. */
export const AWAKE_BUDGET_MS: u32 = 10000;
/** The retained status while asleep, followed by the seconds until the next wake. */
const STATUS_SLEEPING = "sleeping ";

/**
 * Turns deep sleep between readings on (enabled != 0) or off; call after appConfigure and
 * before appStart. Returns OK, INVALID_ARGUMENT (on with an interval below
 * MIN_SLEEP_INTERVAL_SEC, or not configured), or INVALID_STATE (the app is running).
 */
export function appSetSleep(enabled: u32): i32 {
  if (telemetry.running != 0) return INVALID_STATE;
  if (enabled != 0 && telemetry.intervalSec < MIN_SLEEP_INTERVAL_SEC) return INVALID_ARGUMENT;
  telemetry.sleep = enabled != 0 ? 1 : 0;
  changed();
  return OK;
}

/** appStart's part with deep sleep on: a wake from the image saved to sleep is counted, and the time slept joins the uptime. */
export function wake(now: u32): void {
  if (telemetry.asleep != 0) {
    telemetry.asleep = 0;
    telemetry.wakes++;
    telemetry.uptimeMs += <u64>telemetry.sleepMs;
  }
  telemetry.wokeAt = now;
  telemetry.signedOff = false;
}

/**
 * The app's tick with deep sleep on: the wake's reading, then, once connected and
 * nothing is left unacknowledged, the "sleeping" status, then sleep; sleep also when the
 * budget ran out. Asleep in a module the host kept running, it wakes itself when the
 * interval is over. Returns the ms until it next needs to run.
 */
export function sleepTick(now: u32): u32 {
  let interval = telemetry.intervalSec * 1000;
  let awake = since(telemetry.wokeAt, now);
  if (telemetry.asleep != 0) {
    if (awake < interval) return interval - awake;
    // the ticks while asleep went into the uptime already: only the wake is counted here
    telemetry.asleep = 0;
    telemetry.wakes++;
    telemetry.readNow = true;
    wake(now);
    awake = 0;
    start(now);
  }
  if (telemetry.readNow) takeReading(now); // the wake's, or one a command asked for
  if (awake >= AWAKE_BUDGET_MS) return goToSleep(now, interval, awake);
  if (client.state == STATE_CONNECTED && settled()) {
    if (telemetry.signedOff) return goToSleep(now, interval, awake);
    telemetry.signedOff = publishSleeping(now, (interval - awake) / 1000) >= 0;
  }
  return AWAKE_BUDGET_MS - awake;
}

// ---- internals -------------------------------------------------------------

/** ms from `then` to `now`; 0 when the clock went back. */
function since(then: u32, now: u32): u32 {
  let elapsed = now - then;
  return elapsed < 0x80000000 ? elapsed : 0;
}

/** True when nothing waits for the broker: the outbox empty (every flow acknowledged) and no SUBSCRIBE or UNSUBSCRIBE unanswered. */
function settled(): bool {
  if (outbox.used != 0) return false;
  for (let i: u32 = 0; i < subscriptions.slots; i++) {
    let state = subscriptions.state(i);
    if (state != SUBSCRIPTION_FREE && state != SUBSCRIPTION_ACTIVE) return false;
  }
  return true;
}

/** Publishes "sleeping <seconds>" to devices/<id>/status, QoS 1, retained. Returns publish()'s result. */
function publishSleeping(now: u32, seconds: u32): i32 {
  let topicLen = <u32>(writeTopic(STAGING_BASE, "/status") - STAGING_BASE);
  let payload = STAGING_BASE + topicLen;
  let end = writeUint(writeAscii(payload, STATUS_SLEEPING), seconds);
  return publish(topicLen, <u32>(end - payload), 1, true, now);
}

/**
 * Ends the wake: DISCONNECT (the broker drops the will) and close, the block made a save
 * image with the app marked asleep, then the SLEEP event: code the image's sequence
 * number, arg the ms until the next reading is due. What was not acknowledged stays in
 * the outbox, in the image, and goes again on the next wake. Returns the sleep's ms.
 */
function goToSleep(now: u32, interval: u32, awake: u32): u32 {
  let sleepMs = awake < interval ? interval - awake : 0;
  stop(now);
  telemetry.asleep = 1;
  telemetry.sleepMs = sleepMs;
  let sequence = persistPrepare();
  onEvent(EVENT_SLEEP, sequence, sleepMs);
  return sleepMs;
}
