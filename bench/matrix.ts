/**
 * `npm run bench`: wasmqtt side by side with MQTT.js (and a raw-socket limit) in one run,
 * every figure the median of alternating rounds (the peers take turns, the first place
 * rotating; throughput after an uncounted warm-up round of each), written to bench/results.json and printed as Markdown tables:
 *
 * 1. end-to-end publish throughput through one Mosquitto started here (its queue limits
 *    lifted so nothing is dropped; once as configured by default, once with
 *    `set_tcp_nodelay true`), QoS 0/1/2 in windows of 100 publishes (bench/throughput.ts);
 *    wasmqtt also with `maxInflight: 1` at QoS 1/2;
 * 2. QoS 1 ping-pong latency p50 / p99 (bench/latency.ts);
 * 3. codec: generate and parse, the module through the host against mqtt-packet (bench/codec.ts),
 *    in three times as many shorter rounds;
 * 4. idle connected clients: RSS and JS heap per client, each peer in its own process (bench/idle.ts);
 * 5. the publisher's CPU per message, from (1).
 *
 * Usage: node --import tsx bench/matrix.ts [--quick] [--messages N] [--rounds N] [--size B] [--out FILE]
 * `--quick` is a reduced run (fewer messages, pings, operations and clients) of under a minute.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startMosquitto } from "../host/mosquitto.ts";
import { CODEC_CASES, codecRound } from "./codec.ts";
import { IDLE_PEERS, type IdleFigures, idleClients } from "./idle.ts";
import { LATENCY_PEERS, pingPongRound } from "./latency.ts";
import { median, rotate } from "./stats.ts";
import { type Peer, type RoundFigures, Sink, WINDOW, mqttJsPeer, rawPeer, timeRound, wasmqttPeer, wasmqttStopAndWaitPeer } from "./throughput.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    messages: { type: "string" },
    rounds: { type: "string", default: "5" },
    size: { type: "string", default: "64" },
    out: { type: "string", default: fileURLToPath(new URL("./results.json", import.meta.url)) },
  },
});
const quick = values.quick === true;
const rounds = positive(values.rounds!, "--rounds");
const messages = positive(values.messages ?? (quick ? "500" : "5000"), "--messages");
const payload = new Uint8Array(positive(values.size!, "--size")).fill(0x61);
const pings = quick ? 100 : 1000;
const codecOps = quick ? 8000 : 30_000;
/** Codec rounds are short: more of them, so both codecs see the same moments of a shared machine. */
const codecRounds = rounds * 3;
const idleCount = quick ? 50 : 200;
const idleRounds = quick ? 1 : rounds;

const PEERS: Peer[] = [wasmqttPeer, wasmqttStopAndWaitPeer, mqttJsPeer, rawPeer];
/** The peers of a QoS: one flow in flight is a QoS 1/2 setting (QoS 0 has no flows). */
const peersOf = (qos: number) => PEERS.filter((peer) => qos > 0 || peer !== wasmqttStopAndWaitPeer);
/** The broker setups of (1): Mosquitto's defaults but unbounded queues, then Nagle off on its side too. */
const BROKERS = [
  { name: "default", extraConfig: [] as string[] },
  { name: "set_tcp_nodelay true", extraConfig: ["set_tcp_nodelay true"] },
];

function positive(text: string, option: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${option} must be a positive integer (got ${JSON.stringify(text)})`);
  return value;
}

function mosquittoVersion(): string {
  try {
    execFileSync("mosquitto", ["-h"], { encoding: "utf8" });
  } catch (error) {
    // `mosquitto -h` exits 3 after printing its usage
    const out = String((error as { stdout?: unknown }).stdout ?? "");
    return /mosquitto version (\S+)/.exec(out)?.[1] ?? "unknown";
  }
  return "unknown";
}

async function startBroker(extraConfig: string[]) {
  return startMosquitto({ websockets: false, logTypes: ["error", "warning"], extraConfig: ["max_inflight_messages 0", "max_queued_messages 0", ...extraConfig] });
}

const started = Date.now();
const machine = {
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? "unknown",
  node: process.version,
  mosquitto: mosquittoVersion(),
  platform: `${os.type()} ${os.release()} ${os.arch()}`,
  loadAverageAtStart: os.loadavg().map((load) => Number(load.toFixed(2))),
};
const log = (line: string) => process.stderr.write(`${line}\n`);
log(`bench: ${quick ? "quick, " : ""}${rounds} rounds, ${messages} × ${payload.length} B per throughput round; load average ${machine.loadAverageAtStart.join(" ")}`);

// ---- (1) throughput, (5) CPU per message --------------------------------------------------

interface ThroughputRow {
  broker: string;
  qos: 0 | 1 | 2;
  peer: string;
  msgPerSec: number;
  cpuUsPerMsg: number;
  rounds: RoundFigures[];
}
const throughput: ThroughputRow[] = [];
const sink = await Sink.start();
try {
  for (const setup of BROKERS) {
    const broker = await startBroker(setup.extraConfig);
    try {
      for (const qos of [0, 1, 2] as const) {
        const peers = peersOf(qos);
        const byPeer = new Map<string, RoundFigures[]>(peers.map((peer) => [peer.name, []]));
        // an uncounted round each first, so no peer's figures include compiling its code
        for (const peer of peers) await timeRound(peer, broker, sink, qos, Math.ceil(messages / 5), payload);
        for (let round = 0; round < rounds; round++) {
          for (const peer of rotate(peers, round)) byPeer.get(peer.name)!.push(await timeRound(peer, broker, sink, qos, messages, payload));
        }
        for (const [peer, figures] of byPeer) {
          throughput.push({
            broker: setup.name,
            qos,
            peer,
            msgPerSec: median(figures.map((f) => f.msgPerSec)),
            cpuUsPerMsg: median(figures.map((f) => f.cpuUsPerMsg)),
            rounds: figures,
          });
        }
        log(`throughput ${setup.name} QoS ${qos}: ${[...byPeer.keys()].map((peer) => `${peer} ${fmt(row(setup.name, qos, peer).msgPerSec)}`).join(", ")} msg/s`);
      }
    } finally {
      await broker.stop();
    }
  }
} finally {
  sink.stop();
}

function row(broker: string, qos: number, peer: string): ThroughputRow {
  return throughput.find((r) => r.broker === broker && r.qos === qos && r.peer === peer)!;
}

// ---- (2) latency, (4) idle clients (default broker) ------------------------------------------

const latency: { peer: string; p50Ms: number; p99Ms: number; rounds: { p50: number; p99: number }[] }[] = [];
const idle: ({ peer: string; clients: number; rounds: IdleFigures[] } & IdleFigures)[] = [];
{
  const broker = await startBroker([]);
  try {
    const byPeer = new Map<string, { p50: number; p99: number }[]>(LATENCY_PEERS.map((peer) => [peer, []]));
    for (let round = 0; round < rounds; round++) {
      for (const peer of rotate(LATENCY_PEERS, round)) byPeer.get(peer)!.push(await pingPongRound(peer, broker.url, pings));
    }
    for (const [peer, figures] of byPeer) {
      latency.push({ peer, p50Ms: median(figures.map((f) => f.p50)), p99Ms: median(figures.map((f) => f.p99)), rounds: figures });
    }
    log(`latency: ${latency.map((l) => `${l.peer} p50 ${l.p50Ms.toFixed(3)} ms p99 ${l.p99Ms.toFixed(3)} ms`).join(", ")}`);

    const idleByPeer = new Map<string, IdleFigures[]>(IDLE_PEERS.map((peer) => [peer, []]));
    for (let round = 0; round < idleRounds; round++) {
      for (const peer of rotate(IDLE_PEERS, round)) idleByPeer.get(peer)!.push(await idleClients(peer, idleCount, broker.url));
    }
    for (const [peer, figures] of idleByPeer) {
      idle.push({
        peer,
        clients: idleCount,
        rssPerClient: median(figures.map((f) => f.rssPerClient)),
        heapPerClient: median(figures.map((f) => f.heapPerClient)),
        externalPerClient: median(figures.map((f) => f.externalPerClient)),
        rounds: figures,
      });
    }
    log(`idle: ${idle.map((i) => `${i.peer} ${kib(i.rssPerClient)} KiB RSS`).join(", ")}`);
  } finally {
    await broker.stop();
  }
}

// ---- (3) codec -----------------------------------------------------------------------------

const codec: { case: string; wasmqtt: number; "mqtt-packet": number; ratio: number; rounds: { wasmqtt: number; "mqtt-packet": number }[] }[] = [];
for (const { operation, packet, label } of CODEC_CASES) {
  const figures: { wasmqtt: number; "mqtt-packet": number }[] = [];
  for (let round = 0; round < codecRounds; round++) figures.push(await codecRound(operation, packet, codecOps, round % 2 === 1));
  codec.push({
    case: label,
    wasmqtt: median(figures.map((f) => f.wasmqtt)),
    "mqtt-packet": median(figures.map((f) => f["mqtt-packet"])),
    // the median of each round's own ratio: the two codecs of a round ran moments apart
    ratio: median(figures.map((f) => f.wasmqtt / f["mqtt-packet"])),
    rounds: figures,
  });
}
log(`codec: ${codec.map((c) => `${c.case}: ${c.ratio.toFixed(2)}×`).join("; ")}`);

// ---- report -------------------------------------------------------------------------------

const results = {
  date: new Date(started).toISOString(),
  durationSeconds: Math.round((Date.now() - started) / 1000),
  machine: { ...machine, loadAverageAtEnd: os.loadavg().map((load) => Number(load.toFixed(2))) },
  settings: { quick, rounds, messages, payloadBytes: payload.length, window: WINDOW, pings, codecOps, codecRounds, idleClients: idleCount, idleRounds },
  throughput,
  latency,
  codec,
  idle,
};
writeFileSync(values.out!, `${JSON.stringify(results, null, 2)}\n`);
console.log(markdown());
log(`wrote ${values.out} (${results.durationSeconds} s)`);

function fmt(value: number): string {
  return Math.round(value).toLocaleString("en-US").replaceAll(",", " ");
}

function kib(bytes: number): string {
  return (bytes / 1024).toFixed(1);
}

function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(2)}×`;
}

function markdown(): string {
  const lines: string[] = [];
  lines.push(
    `${messages} × ${payload.length} B messages per round, windows of ${WINDOW}, median of ${rounds} alternating rounds; ` +
      `${machine.cpus} cores (${machine.cpuModel}), Node ${machine.node}, Mosquitto ${machine.mosquitto}, ` +
      `load average ${machine.loadAverageAtStart.join(" ")} at the start.`,
    "",
    "| broker | QoS | wasmqtt msg/s | MQTT.js msg/s | raw msg/s | wasmqtt / MQTT.js | wasmqtt / raw | maxInflight 1 msg/s | its / MQTT.js | its / raw | CPU µs/msg wasmqtt | MQTT.js | raw |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const setup of BROKERS) {
    for (const qos of [0, 1, 2]) {
      const [w, m, r] = ["wasmqtt", "MQTT.js", "raw"].map((peer) => row(setup.name, qos, peer));
      const s = qos > 0 ? row(setup.name, qos, wasmqttStopAndWaitPeer.name) : undefined;
      const stopAndWait = s === undefined ? "— | — | —" : `${fmt(s.msgPerSec)} | ${ratio(s.msgPerSec, m.msgPerSec)} | ${ratio(s.msgPerSec, r.msgPerSec)}`;
      lines.push(
        `| ${setup.name} | ${qos} | ${fmt(w.msgPerSec)} | ${fmt(m.msgPerSec)} | ${fmt(r.msgPerSec)} | ${ratio(w.msgPerSec, m.msgPerSec)} | ${ratio(w.msgPerSec, r.msgPerSec)} | ` +
          `${stopAndWait} | ${w.cpuUsPerMsg.toFixed(1)} | ${m.cpuUsPerMsg.toFixed(1)} | ${r.cpuUsPerMsg.toFixed(1)} |`,
      );
    }
  }
  const [lw, lm] = ["wasmqtt", "MQTT.js"].map((peer) => latency.find((l) => l.peer === peer)!);
  lines.push(
    "",
    `QoS 1 ping-pong (${pings} round trips per round, default broker):`,
    "",
    "| client | p50 ms | p99 ms |",
    "|---|---:|---:|",
    `| wasmqtt | ${lw.p50Ms.toFixed(3)} | ${lw.p99Ms.toFixed(3)} |`,
    `| MQTT.js | ${lm.p50Ms.toFixed(3)} | ${lm.p99Ms.toFixed(3)} |`,
    "",
    `Codec (${codecOps} operations per round, median of ${codecRounds} rounds; the ratio is the median of each round's ratio):`,
    "",
    "| operation | wasmqtt k ops/s | mqtt-packet k ops/s | wasmqtt / mqtt-packet |",
    "|---|---:|---:|---:|",
    ...codec.map((c) => `| ${c.case} | ${(c.wasmqtt / 1000).toFixed(0)} | ${(c["mqtt-packet"] / 1000).toFixed(0)} | ${c.ratio.toFixed(2)}× |`),
    "",
    `Idle connected clients (${idleCount} per process, median of ${idleRounds}):`,
    "",
    "| client | RSS KiB / client | JS heap KiB / client | external KiB / client |",
    "|---|---:|---:|---:|",
    ...idle.map((i) => `| ${i.peer} | ${kib(i.rssPerClient)} | ${kib(i.heapPerClient)} | ${kib(i.externalPerClient)} |`),
  );
  return lines.join("\n");
}
