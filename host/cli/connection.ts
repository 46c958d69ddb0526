/**
 * Creating the client a command uses: the module loaded and configured from the
 * command-line settings, with the `-d` packet trace attached before the first byte is
 * sent, and not yet connected (so a command can hand the module its PUBLISH or SUBSCRIBE
 * first and have the topic checked before any network traffic).
 *
 * @example
 * const client = await openClient(settings, { reconnect: false }, { publishTopic: topic });
 * const queued = client.publish(topic, payload, { qos }); // INVALID_TOPIC rejects here
 * await client.connect();
 */
import { type DisconnectProperties, type ReconnectOptions, type WasmqttClient, createClient } from "../index.ts";
import type { ConnectionSettings } from "./options.ts";
import { PacketTracer, type TracerContext } from "./trace.ts";

/** Writes one line to stderr. */
export function printLine(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * Creates the client for `settings`, not connected.
 *
 * @param settings from `connectionSettings`
 * @param reconnect backoff bounds, or false for a client that gives up when the connection drops
 * @param context what the trace may say about the command's own PUBLISH / SUBSCRIBE packets
 * @returns the client; with `-d`, every packet is printed to stderr as it is sent or received
 * @throws WasmqttError for options the module refuses (INVALID_TOPIC for the will topic,
 *   PACKET_TOO_LARGE for a CONNECT that does not fit the profile, MODULE_LOAD_FAILED)
 */
export async function openClient(
  settings: ConnectionSettings,
  reconnect: ReconnectOptions | false,
  context: TracerContext = {},
): Promise<WasmqttClient> {
  const client = await createClient(settings.url, { ...settings.options, reconnect });
  if (settings.debug) {
    const tracer = new PacketTracer(client.clientId, printLine, context);
    // registered before the command's own "message" listener, so the PUBLISH line comes first
    client.on("packet", (trace) => tracer.packet(trace));
    client.on("message", (topic, payload) => tracer.message(topic, payload));
    client.on("close", () => tracer.flush());
  }
  return client;
}

/**
 * Resolves after the events the client has queued so far were emitted (it emits them from
 * `setImmediate`, after settling promises), so `-d` lines come before the step they led to.
 */
export function eventsEmitted(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Whether a call the module checks at once (publish, subscribe: INVALID_TOPIC,
 * INVALID_FILTER, PACKET_TOO_LARGE, …) has already been refused, before connecting.
 *
 * @param promise what `publish` or `subscribe` returned
 * @returns `{ error }` when it rejected within one turn of the event loop, otherwise
 *   undefined (it is still pending: e.g. waiting for the broker's acknowledgement)
 */
export async function refusedAtOnce(promise: Promise<unknown>): Promise<{ error: unknown } | undefined> {
  let refusal: { error: unknown } | undefined;
  promise.catch((error: unknown) => {
    refusal = { error };
  });
  await eventsEmitted();
  return refusal;
}

/**
 * Ends the client, waiting at most `graceMs` for the connection to close.
 *
 * @param client the client to end
 * @param graceMs how long to wait for the broker to close its side
 * @param disconnect MQTT 5: the DISCONNECT's properties (`-D disconnect …`)
 */
export async function closeClient(client: WasmqttClient, graceMs = 2000, disconnect?: DisconnectProperties): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, graceMs);
  });
  await Promise.race([client.end(disconnect === undefined ? {} : { properties: disconnect }), timeout]);
  clearTimeout(timer);
}
