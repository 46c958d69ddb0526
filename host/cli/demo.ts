/**
 * `wasmqtt demo` (what `npm start` runs): the classic first MQTT program. An in-process
 * broker (aedes) listens on a free loopback port; a wasmqtt subscriber prints every
 * message on `/test/topic`; a wasmqtt publisher sends three messages there, one at each
 * QoS; then both clients end, the broker closes and the process exits 0.
 * `--broker mqtt://host:port` uses that broker instead of the embedded one.
 *
 * @example
 * npm start
 * wasmqtt demo --broker mqtt://test.mosquitto.org:1883 -d
 */
import { type QoS, type WasmqttClient, createClient } from "../index.ts";
import { type SimBroker, startEmbeddedBroker } from "../sim/broker.ts";
import { closeClient, eventsEmitted, printLine } from "./connection.ts";
import { EXIT_OK, exitStatusFor, printError } from "./exit.ts";
import { PROFILES, type Profile, UsageError, parseBrokerUrl, parseCommand, stringValue } from "./options.ts";
import { PacketTracer } from "./trace.ts";

/** The flags of `wasmqtt demo`. */
const DEMO_OPTIONS = {
  help: { type: "boolean" },
  broker: { type: "string" },
  debug: { type: "boolean", short: "d" },
  profile: { type: "string" },
} as const;

/** `wasmqtt demo --help`. */
export const DEMO_HELP = `wasmqtt demo: subscribe to /test/topic, publish three messages to it, print them.

Usage: wasmqtt demo [--broker mqtt://host:port] [-d] [--profile desktop|esp32|nodemcu]

     --broker URL       use this broker instead of the embedded one (aedes on 127.0.0.1)
 -d, --debug            print every MQTT packet both clients send and receive
     --profile NAME     module build the clients run (default desktop)
     --help             this text`;

const TOPIC = "/test/topic";
const MESSAGES: { payload: string; qos: QoS }[] = [
  { payload: "Hello from wasmqtt (QoS 0)", qos: 0 },
  { payload: "Hello from wasmqtt (QoS 1)", qos: 1 },
  { payload: "Hello from wasmqtt (QoS 2)", qos: 2 },
];
/** How long the subscriber waits for the three messages before the demo fails. */
const RECEIVE_TIMEOUT_MS = 5000;

/**
 * Runs `wasmqtt demo`.
 *
 * @param argv the arguments after "demo"
 * @returns 0 when the subscriber received all three messages, 1 otherwise (the error is printed)
 * @throws UsageError for a mistake on the command line
 */
export async function runDemo(argv: string[]): Promise<number> {
  const values = parseCommand(argv, DEMO_OPTIONS);
  if (values.help === true) {
    process.stdout.write(`${DEMO_HELP}\n`);
    return EXIT_OK;
  }
  const brokerUrl = stringValue(values.broker);
  if (brokerUrl !== undefined) parseBrokerUrl(brokerUrl); // a usage error before anything starts
  const profile = stringValue(values.profile) ?? "desktop";
  if (!(PROFILES as readonly string[]).includes(profile)) throw new UsageError(`Unknown profile '${profile}' (${PROFILES.join(", ")}).`);
  let broker: SimBroker | undefined;
  const clients: WasmqttClient[] = [];
  try {
    if (brokerUrl === undefined) {
      broker = await startEmbeddedBroker();
      say(`Broker (aedes) listening on ${broker.url}`);
      say(`Broker (aedes) listening on WebSockets at ${broker.wsUrl}`);
    } else {
      say(`Using the broker at ${brokerUrl}`);
    }
    const url = broker?.url ?? brokerUrl!;
    const options = { profile: profile as Profile, debug: values.debug === true };
    await exchange(url, options, clients);
    return EXIT_OK;
  } catch (error) {
    printError(error);
    return exitStatusFor(error);
  } finally {
    const connected = clients.filter((client) => client.connected).length;
    await Promise.all(clients.map((client) => closeClient(client)));
    if (connected > 0) say(connected === 1 ? "Client disconnected" : "Clients disconnected");
    if (broker !== undefined) {
      await broker.close();
      say("Broker closed");
    }
  }
}

/** Subscriber, publisher, three messages; both clients are pushed to `clients` to be ended. */
async function exchange(url: string, options: { profile: Profile; debug: boolean }, clients: WasmqttClient[]): Promise<void> {
  const subscriber = await startClient(url, "sub", options, clients);
  say(`Subscriber ${subscriber.clientId} connected (${options.profile} profile)`);
  const all = receiveAll(subscriber, MESSAGES.length);
  const [granted] = await subscriber.subscribe([{ topic: TOPIC, qos: 2 }]);
  await eventsEmitted();
  if (granted.qos === 128) throw new Error(`the broker refused the subscription to ${TOPIC}`);
  say(`Subscribed to ${TOPIC} (granted QoS ${granted.qos})`);

  const publisher = await startClient(url, "pub", options, clients);
  say(`Publisher ${publisher.clientId} connected`);
  for (const { payload, qos } of MESSAGES) {
    await publisher.publish(TOPIC, payload, { qos });
    await eventsEmitted();
    say(`Published to ${TOPIC} at QoS ${qos}${qos === 0 ? "" : qos === 1 ? " (PUBACK received)" : " (PUBCOMP received)"}`);
  }
  await all;
  say(`All ${MESSAGES.length} messages arrived`);
}

/**
 * Prints each message the subscriber gets; resolves once `count` arrived and every
 * inbound QoS 2 flow is complete (PUBCOMP sent), rejects after RECEIVE_TIMEOUT_MS without progress.
 */
function receiveAll(subscriber: WasmqttClient, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const openQos2 = new Set<number>();
    let timer: NodeJS.Timeout | undefined;
    const progress = () => {
      clearTimeout(timer);
      if (received >= count && openQos2.size === 0) return resolve();
      timer = setTimeout(() => reject(new Error(`only ${received} of ${count} messages arrived within ${RECEIVE_TIMEOUT_MS} ms`)), RECEIVE_TIMEOUT_MS);
    };
    progress();
    subscriber.on("message", (topic, payload) => {
      say(`Message from ${topic}: ${payload.toString()}`);
      received++;
      progress();
    });
    subscriber.on("packet", ({ direction, type, flags, packetId }) => {
      const qos = (flags >> 1) & 3;
      if (direction === "in" && type === "PUBLISH" && qos === 2) openQos2.add(packetId);
      if (direction === "out" && type === "PUBCOMP" && openQos2.delete(packetId)) progress();
    });
  });
}

/** Creates a client (pushed to `clients` at once, to be ended), with -d its trace, and connects it. */
async function startClient(
  url: string,
  role: "sub" | "pub",
  options: { profile: Profile; debug: boolean },
  clients: WasmqttClient[],
): Promise<WasmqttClient> {
  const client = await createClient(url, { clientId: demoClientId(role), profile: options.profile, reconnect: false });
  clients.push(client);
  if (options.debug) trace(client);
  await client.connect();
  await eventsEmitted();
  return client;
}

/** Prints the client's packets (sent and received) to stderr. */
function trace(client: WasmqttClient): void {
  const tracer = new PacketTracer(client.clientId, printLine, { publishTopic: TOPIC, subscriptions: [{ topic: TOPIC, qos: 2 }] });
  client.on("packet", (packet) => tracer.packet(packet));
  client.on("message", (topic, payload) => tracer.message(topic, payload));
}

/** `wasmqtt-demo-sub-` or `-pub-` and four random characters (within 23). */
function demoClientId(role: "sub" | "pub"): string {
  return `wasmqtt-demo-${role}-${Math.random().toString(36).slice(2, 6)}`;
}

/** One step of the demo, on stdout. */
function say(line: string): void {
  process.stdout.write(`${line}\n`);
}
