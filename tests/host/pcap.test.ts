/**
 * Wireshark-ready traces (host/pcap.ts): tshark (Debian's) decodes what `--pcap FILE`,
 * the API's `trace: { pcap }` and the soak's `--pcap DIR` write as MQTT over TCP. A QoS
 * 0/1/2 session of `wasmqtt sub` and `wasmqtt pub` against Mosquitto: every packet type
 * and packet id, in order and direction, as the `-d` trace printed it, one TCP stream
 * from SYN to FIN on the broker's real port. Over ws:// the trace holds the MQTT bytes,
 * not WebSocket frames. A soak run writes one file per device, each decoding. And the
 * writer alone: a write above 65495 bytes is split into segments tshark reassembles, and
 * timestamps follow the module's clock across its u32 wrap. A bad `trace` option, or a
 * file that cannot be created, is refused naming it (these need no tshark).
 *
 * tshark is installed by scripts/test.sh; when it is missing here the suite installs it
 * with apt-get, and skips (saying so) only when that is not possible.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { connect, createClient } from "../../host/index.ts";
import { type Broker, mosquittoSupportsWebsockets, startMosquitto } from "../../host/mosquitto.ts";
import { MAX_SEGMENT_PAYLOAD, PcapTrace } from "../../host/pcap.ts";
import { findExecutable, trackTempDir } from "../../host/processes.ts";
import type { Transport } from "../../host/transport.ts";
import { uniqueId, uniqueTopic } from "./support/client-helpers.ts";
import { type ProgramResult, startProgram } from "./support/program-runs.ts";
import { soak } from "./support/soak-runs.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = path.join(ROOT, "host", "cli.ts");
const CLI_LIMIT_MS = 20_000;

/** MQTT 3.1.1 §2.2.1 control packet types, by the names the `-d` trace prints. */
const PACKET_TYPES: Record<string, number> = {
  CONNECT: 1, CONNACK: 2, PUBLISH: 3, PUBACK: 4, PUBREC: 5, PUBREL: 6, PUBCOMP: 7,
  SUBSCRIBE: 8, SUBACK: 9, UNSUBSCRIBE: 10, UNSUBACK: 11, PINGREQ: 12, PINGRESP: 13, DISCONNECT: 14,
};

/** tshark's path, installing Debian's package when it is missing; undefined when that cannot be done. */
function tsharkPath(): string | undefined {
  try {
    return findExecutable("tshark");
  } catch {
    // not installed: try apt-get, as scripts/test.sh does
  }
  const root = process.getuid?.() === 0;
  const prefix = root ? [] : ["sudo", "-n"];
  const run = (args: string[], input?: string) => spawnSync(prefix[0] ?? args[0], [...prefix.slice(1), ...(prefix.length > 0 ? args : args.slice(1))], { input, stdio: ["pipe", "ignore", "ignore"], timeout: 600_000 });
  // wireshark-common asks whether non-root users may capture: no
  run(["debconf-set-selections"], "wireshark-common wireshark-common/install-setuid boolean false\n");
  run(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "--no-install-recommends", "tshark"]);
  try {
    return findExecutable("tshark");
  } catch {
    return undefined;
  }
}

const TSHARK = tsharkPath();
const skip = TSHARK === undefined && "tshark is not installed and apt-get could not install it (apt-get install tshark)";

/** One MQTT packet: direction, type number and packet id (undefined when it has none). */
interface Packet {
  direction: "out" | "in";
  type: number;
  id: number | undefined;
}

/** A decoded frame: addresses, ports, TCP flags and the MQTT packets it carries. */
interface Frame {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  flags: number;
  payload: string;
  mqtt: { type: number; id: number | undefined }[];
}

type Layer = Record<string, unknown>;

/** Decodes `file` with tshark (the MQTT dissector on `port`, besides 1883); fails the test on a tshark error. */
function decode(file: string, port?: number): Frame[] {
  const args = ["-r", file, "-T", "json", "--no-duplicate-keys", "-J", "ip tcp mqtt", ...(port === undefined ? [] : ["-d", `tcp.port==${port},mqtt`])];
  const json = execFileSync(TSHARK!, args, { encoding: "utf8", maxBuffer: 64 << 20, stdio: ["ignore", "pipe", "pipe"] });
  return (JSON.parse(json) as { _source: { layers: Layer } }[]).map(({ _source: { layers } }) => {
    const ip = layers.ip as Layer;
    const tcp = layers.tcp as Layer;
    const mqtt = layers.mqtt === undefined ? [] : Array.isArray(layers.mqtt) ? (layers.mqtt as Layer[]) : [layers.mqtt as Layer];
    return {
      src: ip["ip.src"] as string,
      dst: ip["ip.dst"] as string,
      srcPort: Number(tcp["tcp.srcport"]),
      dstPort: Number(tcp["tcp.dstport"]),
      flags: Number(tcp["tcp.flags"]),
      payload: (tcp["tcp.payload"] as string | undefined) ?? "",
      mqtt: mqtt.map((packet) => ({
        type: Number((packet["mqtt.hdrflags_tree"] as Layer)["mqtt.msgtype"]),
        id: packet["mqtt.msgid"] === undefined ? undefined : Number(packet["mqtt.msgid"]),
      })),
    };
  });
}

/** The MQTT packets of decoded frames, in order, "out" from the client (10.0.0.2 unless given). */
function packetsOf(frames: Frame[], client = "10.0.0.2"): Packet[] {
  return frames.flatMap((frame) => frame.mqtt.map(({ type, id }) => ({ direction: frame.src === client ? ("out" as const) : ("in" as const), type, id })));
}

/** The packets of a `-d` trace: "Client ID sending PUBLISH (d0, q1, r0, m1, …)", "… received PUBACK (Mid: 1)". */
function packetsOfTrace(stderr: string): Packet[] {
  const packets: Packet[] = [];
  for (const line of stderr.split("\n")) {
    const match = /^Client \S+ (sending|received) ([A-Z]+)(?: \((.*)\))?$/.exec(line);
    if (match === null) continue;
    const [, verb, name, detail = ""] = match;
    const id = Number(/(?:^|, )(?:m|Mid: )(\d+)/.exec(detail)?.[1] ?? 0);
    packets.push({ direction: verb === "sending" ? "out" : "in", type: PACKET_TYPES[name], id: id === 0 ? undefined : id });
  }
  return packets;
}

/** TCP flags (RFC 9293 §3.1). */
const FIN = 0x01;
const SYN = 0x02;
const ACK = 0x10;

/** Asserts one TCP stream: SYN, SYN-ACK, ACK first; FIN both ways and an ACK last; the client → broker port pair throughout. */
function assertOneStream(frames: Frame[], brokerPort: number): void {
  const [syn, synAck, ack] = frames;
  assert.deepEqual([syn.flags, synAck.flags, ack.flags], [SYN, SYN | ACK, ACK], "the handshake opens the stream");
  assert.equal(syn.dstPort, brokerPort, "the broker's real port");
  const clientPort = syn.srcPort;
  for (const frame of frames) {
    assert.deepEqual([frame.srcPort, frame.dstPort].sort(), [clientPort, brokerPort].sort(), "one stream");
  }
  const tail = frames.slice(-3).map((frame) => frame.flags);
  assert.deepEqual(tail, [FIN | ACK, FIN | ACK, ACK], "FIN both ways closes the stream");
}

/** Runs `wasmqtt <args>` from source. */
function startCli(args: string[]) {
  return startProgram(process.execPath, ["--import", "tsx", CLI, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" }, limitMs: CLI_LIMIT_MS });
}

function assertExit(result: ProgramResult, code: number): void {
  assert.equal(result.code, code, `exit status ${result.code}\nstdout: ${result.stdout.toString()}\nstderr: ${result.stderr}`);
}

function scratch(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "wasmqtt-pcap-"));
  trackTempDir(dir);
  return dir;
}

let broker: Broker;
before(async () => {
  if (!skip) broker = await startMosquitto({ websockets: mosquittoSupportsWebsockets() });
});
after(() => broker?.stop());

test("--pcap of a QoS 0/1/2 session: tshark decodes every packet type and id as the -d trace printed them", { skip }, async () => {
  const dir = scratch();
  const topic = uniqueTopic("pcap");
  const at = ["-h", "127.0.0.1", "-p", String(broker.port)];
  const subFile = path.join(dir, "sub.pcap");
  const sub = startCli(["sub", ...at, "-t", topic, "-q", "2", "-C", "3", "-d", "--pcap", subFile]);
  await broker.waitForLog(/Received SUBSCRIBE/, CLI_LIMIT_MS);
  const runs: { file: string; result: ProgramResult }[] = [];
  for (const qos of [0, 1, 2]) {
    const file = path.join(dir, `pub-q${qos}.pcap`);
    const result = await startCli(["pub", ...at, "-t", topic, "-q", String(qos), "-m", `reading at QoS ${qos}`, "-d", "--pcap", file]).done;
    assertExit(result, 0);
    runs.push({ file, result });
  }
  const subResult = await sub.done;
  assertExit(subResult, 0);
  runs.push({ file: subFile, result: subResult });
  const seen = new Set<number>();
  for (const { file, result } of runs) {
    const frames = decode(file, broker.port);
    const expected = packetsOfTrace(result.stderr);
    assert.ok(expected.length >= 4, `a -d trace in ${path.basename(file)}: ${result.stderr}`);
    assert.deepEqual(packetsOf(frames), expected, `${path.basename(file)} decodes as the -d trace`);
    assertOneStream(frames, broker.port);
    for (const packet of expected) seen.add(packet.type);
  }
  const names = Object.entries(PACKET_TYPES).filter(([, type]) => seen.has(type)).map(([name]) => name);
  for (const name of ["CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE", "SUBACK", "DISCONNECT"]) {
    assert.ok(names.includes(name), `the session has a ${name} (had ${names.join(", ")})`);
  }
});

test("trace: { pcap } over ws:// holds the MQTT bytes, not WebSocket frames", { skip: skip || (!mosquittoSupportsWebsockets() && "this mosquitto has no WebSocket support") }, async () => {
  const file = path.join(scratch(), "ws.pcap");
  const topic = uniqueTopic("pcap-ws");
  const client = await connect(broker.wsUrl!, { clientId: uniqueId("pcap-ws"), trace: { pcap: file } });
  const traced: Packet[] = [];
  client.on("packet", (trace) => traced.push({ direction: trace.direction, type: PACKET_TYPES[trace.type], id: trace.packetId === 0 ? undefined : trace.packetId }));
  const message = new Promise<void>((resolve) => client.once("message", () => resolve()));
  await client.subscribe(topic, { qos: 2 });
  await client.publish(topic, "over WebSockets", { qos: 2 });
  await message;
  await client.end();
  const frames = decode(file, broker.wsPort);
  assertOneStream(frames, broker.wsPort!);
  const firstData = frames.find((frame) => frame.payload !== "")!;
  assert.ok(firstData.payload.startsWith("10:"), `the first bytes are a CONNECT (0x10), not an HTTP upgrade: ${firstData.payload.slice(0, 24)}`);
  const packets = packetsOf(frames);
  assert.deepEqual(packets.slice(0, 2).map((packet) => packet.type), [PACKET_TYPES.CONNECT, PACKET_TYPES.CONNACK]);
  // the "packet" listener came after CONNECT and CONNACK
  assert.deepEqual(packets.slice(2), traced);
  assert.ok(traced.some((packet) => packet.type === PACKET_TYPES.PUBCOMP), "the QoS 2 flow is in the trace");
});

test("soak --pcap DIR: one file per device, each a decodable MQTT session", { skip }, async () => {
  const pcapDir = path.join(scratch(), "traces");
  const run = await soak(["--minutes", "3", "--devices", "2", "--faults", "none", "--pcap", pcapDir]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(readdirSync(pcapDir).sort(), ["nodemcu-v3-1.pcap", "nodemcu-v3-2.pcap"]);
  for (const [index, name] of ["nodemcu-v3-1", "nodemcu-v3-2"].entries()) {
    const client = `10.0.0.${2 + index}`;
    const frames = decode(path.join(pcapDir, `${name}.pcap`));
    assert.equal(frames[0].src, client, "each device has an address of its own");
    assert.equal(frames[0].dstPort, 1883);
    const packets = packetsOf(frames, client);
    assert.deepEqual(packets[0], { direction: "out", type: PACKET_TYPES.CONNECT, id: undefined });
    assert.deepEqual(packets[1], { direction: "in", type: PACKET_TYPES.CONNACK, id: undefined });
    const readings = packets.filter((packet) => packet.direction === "out" && packet.type === PACKET_TYPES.PUBLISH && packet.id !== undefined);
    // a reading every 10 s for 3 minutes and the drain
    assert.ok(readings.length >= 18, `${name}: ${readings.length} readings with a packet id`);
    const acked = packets.filter((packet) => packet.direction === "in" && (packet.type === PACKET_TYPES.PUBACK || packet.type === PACKET_TYPES.PUBREC));
    for (const reading of readings) assert.ok(acked.some((ack) => ack.id === reading.id), `${name}: PUBLISH ${reading.id} acknowledged in the trace`);
  }
});

/** A transport that tells no ports, for the writer alone. */
const PORTLESS: Transport = { open: () => {}, send: (bytes) => bytes.length, close: () => {} };

test("a write above the segment limit is split into segments tshark reassembles into one PUBLISH", { skip }, () => {
  const file = path.join(scratch(), "big.pcap");
  let now = 0;
  const trace = PcapTrace.open(file, { nowU32: () => now });
  trace.opened(PORTLESS);
  // PUBLISH QoS 0 (MQTT 3.1.1 §3.3): topic "big", 150 000 bytes of payload; remaining length 150 005 in three bytes (§2.2.3)
  const payloadBytes = 150_000;
  const remaining = 2 + 3 + payloadBytes;
  const header = [0x30, (remaining & 0x7f) | 0x80, ((remaining >> 7) & 0x7f) | 0x80, remaining >> 14, 0, 3, 0x62, 0x69, 0x67];
  const packet = new Uint8Array(header.length + payloadBytes);
  packet.set(header);
  packet.fill(0x61, header.length);
  trace.sent(packet);
  trace.received(Uint8Array.of(0xd0, 0)); // PINGRESP
  now = 5;
  trace.closed("client");
  trace.close();
  const frames = decode(file);
  const data = frames.filter((frame) => frame.payload !== "");
  const sizes = data.map((frame) => frame.payload.split(":").length);
  assert.deepEqual(sizes, [MAX_SEGMENT_PAYLOAD, MAX_SEGMENT_PAYLOAD, packet.length - 2 * MAX_SEGMENT_PAYLOAD, 2]);
  assert.ok(MAX_SEGMENT_PAYLOAD + 40 <= 0xffff, "an IPv4 packet fits its 16-bit Total Length");
  assert.deepEqual(packetsOf(frames), [
    { direction: "out", type: PACKET_TYPES.PUBLISH, id: undefined },
    { direction: "in", type: PACKET_TYPES.PINGRESP, id: undefined },
  ]);
  assert.equal(frames[0].dstPort, 1883, "the default broker port");
  assert.equal(frames[0].srcPort, 49152, "the first synthetic client port");
});

test("timestamps follow the module's clock across its u32 wrap; a new connection gets a new client port", { skip }, () => {
  const file = path.join(scratch(), "wrap.pcap");
  let now = 2 ** 32 - 400;
  const trace = PcapTrace.open(file, { nowU32: () => now });
  trace.opened(PORTLESS);
  now = 600; // 1000 ms later, past the wrap
  trace.sent(Uint8Array.of(0xc0, 0)); // PINGREQ
  trace.closed("closed");
  trace.opened(PORTLESS);
  trace.close();
  const times = execFileSync(TSHARK!, ["-r", file, "-T", "fields", "-e", "frame.time_epoch", "-e", "tcp.srcport", "-e", "tcp.flags"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
    .trim().split("\n").map((line) => line.split("\t"));
  const first = Number(times[0][0]);
  assert.ok(Math.abs(first * 1000 - Date.now()) < 60_000, "the host's wall clock when the trace opened");
  assert.equal(Math.round((Number(times[3][0]) - first) * 1000), 1000, "the PINGREQ 1000 ms after the SYN");
  // the broker closed: its FIN first, then the client's, then the last ACK
  assert.deepEqual(times.slice(4, 7).map(([, port, flags]) => [port, Number(flags)]), [["1883", FIN | ACK], ["49152", FIN | ACK], ["1883", ACK]]);
  assert.equal(times[7][1], "49153", "the next connection's SYN from the next port");
  assert.equal(readFileSync(file).readUInt32LE(20), 1, "LINKTYPE_ETHERNET");
});

test("a bad trace option is refused, naming it; a pcap file that cannot be created rejects createClient, naming it", async () => {
  const url = "mqtt://127.0.0.1:1";
  await assert.rejects(createClient(url, { trace: "x.pcap" as never }), { code: "INVALID_ARGUMENT", message: /trace must be \{ pcap: FILE \} \(got "x.pcap"\)/ });
  await assert.rejects(createClient(url, { trace: { pcapFile: "x.pcap" } as never }), { code: "INVALID_ARGUMENT", message: /unknown option `trace.pcapFile`; known options: `trace.pcap`/ });
  await assert.rejects(createClient(url, { trace: { pcap: "" } }), { code: "INVALID_ARGUMENT", message: /trace.pcap must be a file name \(got ""\)/ });
  const missing = path.join(scratch(), "no-such-dir", "x.pcap");
  await assert.rejects(createClient(url, { trace: { pcap: missing } }), { code: "INVALID_ARGUMENT", message: new RegExp(`trace.pcap: cannot create '${missing}': ENOENT`) });
});

test("wasmqtt pub --pcap into a missing directory exits 1, naming the file", async () => {
  const missing = path.join(scratch(), "no-such-dir", "pub.pcap");
  const result = await startCli(["pub", "-p", "1", "-t", "a/b", "-m", "x", "--pcap", missing]).done;
  assertExit(result, 1);
  assert.match(result.stderr, new RegExp(`cannot create '${missing}'`));
});
