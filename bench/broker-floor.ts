/**
 * What aedes alone costs per soak reading: the floor under `wasmqtt soak`'s speed.
 *
 * A soak reading is one telemetry PUBLISH from a device, forwarded to the observer
 * (subscribed at QoS 2), with both QoS flows completed before virtual time moves on. Here
 * the same flows run through aedes with nothing else in the process: the device and the
 * observer are pre-encoded packets answered after one event-loop turn (the least the soak's
 * settling spends per hop), over the same kind of in-memory `Duplex` the soak's network
 * hands aedes. The time per reading, and the device-days per second it allows at one
 * reading every 10 s, bound any soak against aedes on one core, whatever the simulated
 * devices cost.
 *
 * Usage: node --import tsx bench/broker-floor.ts [--readings 20000]
 * Prints one row per QoS: µs per reading and the device-days per wall second it caps.
 */
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import { Duplex } from "node:stream";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { readings: { type: "string", default: "20000" } } });
const readings = Number(values.readings);
/** Readings per device-day at one every 10 s. */
const READINGS_PER_DAY = 8640;

const require = createRequire(import.meta.url);
const createBroker = require("aedes") as (options?: object) => { handle(stream: Duplex): void; close(done?: () => void): void };

/** A client end: bytes the broker writes arrive at `onBytes`; `send` hands bytes to the broker after one event-loop turn. */
class Peer {
  readonly stream: Duplex;
  onBytes: (bytes: Buffer) => void = () => {};

  constructor() {
    this.stream = new Duplex({
      read() {},
      write: (chunk: Buffer, _encoding, callback) => {
        this.onBytes(chunk);
        callback();
      },
    });
  }

  send(bytes: Buffer): void {
    setImmediate(() => this.stream.push(bytes));
  }
}

/** Fixed-header packets of MQTT 3.1.1 (§3), encoded by hand so the peers cost nothing. */
function connect(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const variable = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 0]);
  return Buffer.concat([Buffer.from([0x10, variable.length + 2 + id.length]), variable, Buffer.from([0, id.length]), id]);
}

function subscribe(filter: string, qos: number): Buffer {
  const topic = Buffer.from(filter);
  return Buffer.concat([Buffer.from([0x82, 2 + 2 + topic.length + 1, 0, 1, 0, topic.length]), topic, Buffer.from([qos])]);
}

function publish(topic: string, payload: Buffer, qos: number, packetId: number): Buffer {
  const name = Buffer.from(topic);
  const id = qos > 0 ? Buffer.from([packetId >> 8, packetId & 0xff]) : Buffer.alloc(0);
  const length = 2 + name.length + id.length + payload.length;
  return Buffer.concat([Buffer.from([0x30 | (qos << 1), length]), Buffer.from([0, name.length]), name, id, payload]);
}

function ack(type: number, packetId: number): Buffer {
  return Buffer.from([type, 2, packetId >> 8, packetId & 0xff]);
}

const PUBACK = 0x40;
const PUBREC = 0x50;
const PUBREL = 0x62;
const PUBCOMP = 0x70;

/** Splits a stream of bytes into packets (one-byte remaining lengths suffice here). */
function packets(onPacket: (type: number, packetId: number) => void): (bytes: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (bytes) => {
    pending = pending.length === 0 ? bytes : Buffer.concat([pending, bytes]);
    while (pending.length >= 2 && pending.length >= 2 + pending[1]) {
      const type = pending[0] >> 4;
      const qos = (pending[0] >> 1) & 3;
      // PUBLISH: the packet id follows the topic; acks: it is the variable header
      const idAt = type === 3 ? 4 + pending.readUInt16BE(2) : 2;
      const packetId = type === 3 && qos === 0 ? 0 : pending.readUInt16BE(idAt);
      onPacket(type, packetId);
      pending = pending.subarray(2 + pending[1]);
    }
  };
}

/** Runs `readings` readings at `qos`, one at a time; returns µs per reading. */
async function measure(qos: number): Promise<number> {
  const broker = createBroker();
  const device = new Peer();
  const observer = new Peer();
  broker.handle(device.stream);
  broker.handle(observer.stream);
  const payload = Buffer.from('{"seq":1234,"temperature_c":21.53,"moisture_pct":42,"uptime_s":12345}');
  let sent = 0;
  let start = 0;
  let deviceDone = false;
  let observed = false;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const next = (): void => {
    if (!deviceDone || !observed) return;
    if (sent === readings) return finish();
    deviceDone = qos === 0;
    observed = false;
    sent++;
    device.send(publish("devices/bench-1/telemetry", payload, qos, (sent % 65535) + 1));
  };
  observer.onBytes = packets((type, packetId) => {
    if (type === 9) {
      // SUBACK: now the device may connect
      device.send(connect("bench-1"));
    } else if (type === 3) {
      if (packetId !== 0) observer.send(ack(qos === 1 ? PUBACK : PUBREC, packetId));
      if (qos < 2) {
        observed = true;
        next();
      }
    } else if (type === PUBREL >> 4) {
      observer.send(ack(PUBCOMP, packetId));
      observed = true;
      next();
    }
  });
  device.onBytes = packets((type, packetId) => {
    if (type === 2) {
      start = performance.now();
      deviceDone = true;
      observed = true;
      next();
    } else if (type === PUBREC >> 4) {
      device.send(ack(PUBREL, packetId));
    } else if (type === PUBACK >> 4 || type === PUBCOMP >> 4) {
      deviceDone = true;
      next();
    }
  });
  observer.send(Buffer.concat([connect("observer"), subscribe("devices/+/telemetry", 2)]));
  await finished;
  const micros = ((performance.now() - start) * 1000) / readings;
  await new Promise<void>((resolve) => broker.close(resolve));
  return micros;
}

console.log(`aedes alone, ${readings} readings one at a time, observer subscribed at QoS 2`);
console.log("qos   µs/reading   device-days/s at most (a reading every 10 s)");
for (const qos of [0, 1, 2]) {
  const micros = await measure(qos);
  console.log(`${qos}     ${micros.toFixed(1).padStart(9)}   ${(1e6 / micros / READINGS_PER_DAY).toFixed(2).padStart(6)}`);
}
