/**
 * Helpers for the integration tests of the wasmqtt host API (tests/host/client-*.test.ts):
 * opening a client that is ended when the test ends, recording every event it emits so a
 * test can wait for one that may already have happened, and bounded waits that fail the
 * test with a description of what did not happen.
 *
 * @example
 * const { client, rec } = await openClient(t, broker.url, { clientId: "a" });
 * await client.subscribe("t/#", { qos: 1 });
 * await client.publish("t/1", "hi", { qos: 1 });
 * const [message] = await rec.waitForMessages(1);
 */
import { randomBytes } from "node:crypto";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { connect, type MessageMeta, type WasmqttClient } from "../../../host/index.ts";
import { defaultScript, startFakeBroker, type FakeBroker, type Script } from "./fake-broker.ts";

/** The options `connect` takes. */
export type ClientOptions = NonNullable<Parameters<typeof connect>[1]>;

/** What the "message" event carries. */
export interface Message {
  topic: string;
  payload: Uint8Array;
  meta: MessageMeta;
}

/** What the "packet" event carries. */
export interface Trace {
  direction: "in" | "out";
  type: string;
  flags: number;
  packetId: number;
  remainingLength: number;
}

/** An error with the stable string code of host/status.ts. */
export type CodedError = Error & { code?: string };

/** The part of a node:test context the helpers use. */
export interface After {
  after(fn: () => unknown): void;
}

/** Every event name of the client API. */
export const CLIENT_EVENTS = ["connect", "reconnect", "backoff", "offline", "close", "error", "message", "message-dropped", "packet", "auth"] as const;
export type ClientEvent = (typeof CLIENT_EVENTS)[number];

/** Fast timings for tests: short keepalive, quick reconnects, a bounded connect. */
export const FAST: ClientOptions = {
  keepalive: 2,
  reconnect: { minDelayMs: 50, maxDelayMs: 200 },
  connectTimeout: 2000,
} as ClientOptions;

/** Default bound of every wait, in ms. */
export const WAIT_MS = 4000;

/** The 256 byte values 0x00..0xff in order: the binary payload of the interop tests. */
export function allByteValues(): Uint8Array {
  return Uint8Array.from({ length: 256 }, (_, i) => i);
}

/** A topic no other test uses: `<prefix>/<random hex>`. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}/${randomBytes(4).toString("hex")}`;
}

/** A client id no other test uses. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/** Sleeps for `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with "<what>: not within <ms> ms" if `promise` does not settle within `ms`. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` every 5 ms; rejects with `what` (and `detail()`) after `timeoutMs`. */
export async function until(what: string, condition: () => boolean, timeoutMs = WAIT_MS, detail?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() >= deadline) throw new Error(`${what}: not within ${timeoutMs} ms${detail ? `\n${detail()}` : ""}`);
    await sleep(5);
  }
}

/** Resolves with the error `promise` rejects with; fails if it resolves or takes longer than `timeoutMs`. */
export async function rejection(promise: Promise<unknown>, what: string, timeoutMs = WAIT_MS): Promise<CodedError> {
  let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await within(timeoutMs, what, promise) };
  } catch (error) {
    if (error instanceof Error && error.message === `${what}: not within ${timeoutMs} ms`) throw error;
    outcome = { ok: false, error };
  }
  if (outcome.ok) throw new Error(`${what}: expected a rejection, resolved with ${JSON.stringify(outcome.value)}`);
  return outcome.error as CodedError;
}

/** One recorded event. */
export interface Recorded {
  name: ClientEvent;
  args: unknown[];
  at: number;
}

/**
 * Records every event a client emits, in order, from the moment it is created. Waits
 * look at what was recorded since a mark as well as what comes later, so an event that
 * fired before the wait began is not missed. Attaching it also means "error" always has
 * a listener.
 */
export class Recorder {
  readonly events: Recorded[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(readonly client: WasmqttClient) {
    for (const name of CLIENT_EVENTS) {
      (client.on as (event: string, listener: (...args: unknown[]) => void) => unknown)(name, (...args: unknown[]) => {
        this.events.push({ name, args, at: Date.now() });
        for (const waiter of [...this.waiters]) waiter();
      });
    }
  }

  /** The current position in the event list, for "after this point" waits. */
  mark(): number {
    return this.events.length;
  }

  /** Events of `name` recorded since `from`. */
  all(name: ClientEvent, from = 0): Recorded[] {
    return this.events.slice(from).filter((e) => e.name === name);
  }

  /** Messages recorded since `from` (all of them by default), optionally on one topic. */
  messages(from = 0, topic?: string): Message[] {
    return this.all("message", from)
      .map((e) => ({ topic: e.args[0] as string, payload: e.args[1] as Uint8Array, meta: e.args[2] as Message["meta"] }))
      .filter((m) => topic === undefined || m.topic === topic);
  }

  /** Errors recorded since `from`. */
  errors(from = 0): CodedError[] {
    return this.all("error", from).map((e) => e.args[0] as CodedError);
  }

  /** Packet traces recorded since `from`. */
  packets(from = 0): Trace[] {
    return this.all("packet", from).map((e) => e.args[0] as Trace);
  }

  /** A one-line-per-event summary, for failure messages. */
  summary(from = 0): string {
    return this.events
      .slice(from)
      .map((e) => {
        const first = e.args[0];
        if (e.name === "packet") {
          const p = first as Trace;
          return `packet ${p.direction} ${p.type} flags=${p.flags} id=${p.packetId} len=${p.remainingLength}`;
        }
        if (e.name === "message") return `message ${String(first)} (${(e.args[1] as Uint8Array).length} bytes)`;
        if (first instanceof Error) return `${e.name} ${(first as CodedError).code ?? ""} ${first.message}`;
        return `${e.name} ${e.args.map((a) => JSON.stringify(a)).join(" ")}`;
      })
      .join("\n");
  }

  /** Resolves with the first event of `name` since `from` that `accept`s; rejects after `timeoutMs`. */
  async waitFor(
    name: ClientEvent,
    options: { from?: number; timeoutMs?: number; accept?: (args: unknown[]) => boolean; what?: string } = {},
  ): Promise<unknown[]> {
    return (await this.waitForEntry(name, options)).args;
  }

  /**
   * Like {@link waitFor}, but resolves with the event's position as well, so a test can
   * wait for what happens after it (`from: index + 1`).
   */
  async waitForEntry(
    name: ClientEvent,
    options: { from?: number; timeoutMs?: number; accept?: (args: unknown[]) => boolean; what?: string } = {},
  ): Promise<{ args: unknown[]; index: number }> {
    const { from = 0, timeoutMs = WAIT_MS, accept = () => true } = options;
    let index = -1;
    await this.until(options.what ?? `"${name}" event`, () => {
      index = this.events.findIndex((e, i) => i >= from && e.name === name && accept(e.args));
      return index >= 0;
    }, timeoutMs, from);
    return { args: this.events[index].args, index };
  }

  /** Resolves with the first "error" since `from` whose code is `code`. */
  async waitForError(code: string, options: { from?: number; timeoutMs?: number } = {}): Promise<CodedError> {
    return (await this.waitForErrorEntry(code, options)).error;
  }

  /** Like {@link waitForError}, with the event's position. */
  async waitForErrorEntry(code: string, options: { from?: number; timeoutMs?: number } = {}): Promise<{ error: CodedError; index: number }> {
    const { args, index } = await this.waitForEntry("error", {
      ...options,
      accept: (args) => (args[0] as CodedError)?.code === code,
      what: `"error" event with code ${code}`,
    });
    return { error: args[0] as CodedError, index };
  }

  /** Resolves with the first packet trace since `from` that matches. */
  async waitForPacket(direction: "in" | "out", type: string, options: { from?: number; timeoutMs?: number } = {}): Promise<Trace> {
    const [trace] = await this.waitFor("packet", {
      ...options,
      accept: (args) => (args[0] as Trace).direction === direction && (args[0] as Trace).type === type,
      what: `"packet" trace ${direction} ${type}`,
    });
    return trace as Trace;
  }

  /** Resolves with the first `count` messages since `from` (on `topic`, if given). */
  async waitForMessages(count: number, options: { from?: number; timeoutMs?: number; topic?: string } = {}): Promise<Message[]> {
    const { from = 0, timeoutMs = WAIT_MS, topic } = options;
    await this.until(`${count} message(s)${topic ? ` on ${topic}` : ""}`, () => this.messages(from, topic).length >= count, timeoutMs, from);
    return this.messages(from, topic).slice(0, count);
  }

  /** Polls `condition` (woken by every event and every 20 ms); rejects with the events since `from`. */
  async until(what: string, condition: () => boolean, timeoutMs = WAIT_MS, from = 0): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: not within ${timeoutMs} ms; events:\n${this.summary(from)}`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, 20));
        this.waiters.add(done);
      });
    }
  }
}

/** A connected client, its recorder, and the options it was opened with. */
export interface Opened {
  client: WasmqttClient;
  rec: Recorder;
}

/**
 * Connects with {@link FAST} timings plus `options`, attaches a {@link Recorder} right
 * after `connect` resolves, and ends the client when the test ends.
 */
export async function openClient(t: After, url: string, options: ClientOptions = {} as ClientOptions): Promise<Opened> {
  const client = await within(WAIT_MS + 2000, `connect(${url})`, connect(url, { ...FAST, ...options } as ClientOptions));
  const rec = new Recorder(client);
  t.after(() => endQuietly(client));
  return { client, rec };
}

/** Ends a client, bounded; never throws (for cleanup of a client a test may have ended). */
export async function endQuietly(client: WasmqttClient): Promise<void> {
  try {
    await within(3000, "end()", client.end());
  } catch {
    // already ended, or the test failed in a way that shows elsewhere
  }
}

/** Connects MQTT.js (no reconnect unless asked), waits for its CONNACK and closes it when the test ends. */
export async function openMqttJs(t: After, url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 2000, ...options });
  client.on("error", () => {}); // failures show up as missing events
  t.after(() => client.endAsync(true));
  await within(WAIT_MS, "MQTT.js connect", new Promise<void>((resolve) => client.once("connect", () => resolve())));
  return client;
}

/** Collects every message MQTT.js receives, with its packet, from now on. */
export function collectMqttJs(client: MqttClient): { topic: string; payload: Buffer; qos: number; retain: boolean }[] {
  const received: { topic: string; payload: Buffer; qos: number; retain: boolean }[] = [];
  client.on("message", (topic, payload, packet) => received.push({ topic, payload, qos: packet.qos, retain: packet.retain }));
  return received;
}

/** Hex of a byte array, for readable assertion diffs of binary payloads. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** UTF-8 text of a byte array. */
export function text(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
}

/** Starts a fake broker running `script` that is closed when the test ends. */
export async function fakeBroker(t: After, script: Script = defaultScript): Promise<FakeBroker> {
  const fake = await startFakeBroker(script);
  t.after(() => fake.close());
  return fake;
}
