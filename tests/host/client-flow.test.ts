/**
 * Publish flow control: `publish(…, { whenFull: "wait" })` waits for outbox room instead
 * of rejecting OUTBOX_FULL, in order; the module still decides what fits. A transport that
 * takes no bytes until the test opens it stands in for a socket that does not drain. The
 * in-flight window (`maxInflight`, `setMaxInflight`) over a broker that never acknowledges.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { connect, WasmqttError } from "../../host/index.ts";
import { AcceptingTransport } from "./support/accepting-transport.ts";
import { PacketSplitter, PacketType, parsePublish } from "./support/mqtt-packets.ts";
import { connack5, parsePublish5, prop } from "./support/mqtt5-packets.ts";

/** CONNACKs the CONNECT; then takes bytes only while `open`, and says so with onWritable when opened. */
class ValveTransport extends AcceptingTransport {
  private flowing = true;
  private readonly splitter = new PacketSplitter();
  readonly payloads: string[] = [];

  /** `answer`: the CONNACK to send (default: a 3.1.1 one accepting a clean session); `v5`: PUBLISHes carry properties. */
  constructor(answer?: Uint8Array, private readonly v5 = false) {
    super(answer);
  }

  protected override sent(bytes: Uint8Array): number {
    if (!this.flowing) return 0;
    for (const packet of this.splitter.push(bytes)) {
      if (packet.type === PacketType.PUBLISH) this.payloads.push(Buffer.from((this.v5 ? parsePublish5 : parsePublish)(packet).payload).toString());
    }
    return bytes.length;
  }

  shut(): void {
    this.flowing = false;
  }

  /** Takes bytes again, a turn later, as a socket's "drain". */
  reopen(): void {
    this.flowing = true;
    setImmediate(() => this.handlers?.onWritable?.());
  }
}

const COUNT = 1000; // 64-byte payloads: far more than the desktop outbox (16 KiB) holds

test('whenFull "wait": publishes beyond the outbox wait for room and leave in order', async (t) => {
  const transport = new ValveTransport();
  const client = await connect("mqtt://127.0.0.1:1", { transport, keepalive: 0 });
  t.after(() => client.end());
  transport.shut();
  const payload = (i: number) => `${i}`.padStart(64, "0");
  const done = Array.from({ length: COUNT }, (_, i) => client.publish("flow", payload(i), { whenFull: "wait" }));
  let settled = 0;
  for (const flow of done) void flow.then(() => settled++);
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(settled > 0 && settled < COUNT, `${settled} of ${COUNT} settled while the transport took nothing`);
  transport.reopen();
  await Promise.all(done);
  assert.deepEqual(transport.payloads, Array.from({ length: COUNT }, (_, i) => payload(i)));
});

test('without whenFull "wait" the same publishes are refused with OUTBOX_FULL', async (t) => {
  const transport = new ValveTransport();
  const client = await connect("mqtt://127.0.0.1:1", { transport, keepalive: 0 });
  t.after(() => client.end());
  transport.shut();
  const results = await Promise.allSettled(Array.from({ length: COUNT }, () => client.publish("flow", "x".repeat(64))));
  const refused = results.filter((r) => r.status === "rejected" && (r.reason as WasmqttError).code === "OUTBOX_FULL");
  assert.ok(refused.length > 0, "some publishes are refused");
});

test('waiting publishes reject with CLIENT_STOPPED at end(); a bad whenFull is named', async () => {
  const transport = new ValveTransport();
  const client = await connect("mqtt://127.0.0.1:1", { transport, keepalive: 0 });
  transport.shut();
  const done = Array.from({ length: COUNT }, () => client.publish("flow", "x".repeat(64), { whenFull: "wait" }));
  await assert.rejects(client.publish("flow", "x", { whenFull: "later" as "wait" }), (error: WasmqttError) => {
    assert.equal(error.code, "INVALID_ARGUMENT");
    assert.match(error.message, /whenFull must be "reject" or "wait" \(got "later"\)/);
    return true;
  });
  await client.end();
  const results = await Promise.allSettled(done);
  const stopped = results.filter((r) => r.status === "rejected" && (r.reason as WasmqttError).code === "CLIENT_STOPPED");
  assert.ok(stopped.length > 0, "the waiting publishes are rejected");
  assert.equal(stopped.length + results.filter((r) => r.status === "fulfilled").length, COUNT);
});

test("maxInflight bounds the QoS 1 publishes awaiting a PUBACK; setMaxInflight changes it at run time", async (t) => {
  const transport = new ValveTransport();
  const client = await connect("mqtt://127.0.0.1:1", { transport, keepalive: 0, maxInflight: 2 });
  t.after(() => client.end());
  for (let i = 0; i < 10; i++) void client.publish("flow", `${i}`, { qos: 1 }).catch(() => {});
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(transport.payloads, ["0", "1"], "two on the wire, the broker acknowledging none");
  assert.equal(client.setMaxInflight(6), 6);
  assert.deepEqual(transport.payloads, ["0", "1", "2", "3", "4", "5"], "the larger window sends at once, in order");
  assert.equal(client.setMaxInflight(1), 1);
  assert.equal(transport.payloads.length, 6, "a smaller window takes nothing back");
  for (const bad of [0, 17, 1.5]) {
    assert.throws(() => client.setMaxInflight(bad), (error: WasmqttError) => {
      assert.equal(error.code, "INVALID_ARGUMENT");
      assert.match(error.message, new RegExp(`maxInflight ${bad} must be a whole number from 1 to the desktop profile's 16 in-flight slots`));
      return true;
    });
  }
  await assert.rejects(connect("mqtt://127.0.0.1:1", { transport: new ValveTransport(), maxInflight: 0 }), /maxInflight 0 must be a whole number/);
});

test("MQTT 5: the broker's Receive Maximum lowers the window setMaxInflight asks for", async (t) => {
  const transport = new ValveTransport(connack5({ properties: [prop.receiveMaximum(3)] }), true);
  const client = await connect("mqtt://127.0.0.1:1", { transport, keepalive: 0, protocolVersion: 5 });
  t.after(() => client.end());
  assert.equal(client.setMaxInflight(10), 3);
  for (let i = 0; i < 10; i++) void client.publish("flow", `${i}`, { qos: 1 }).catch(() => {});
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(transport.payloads, ["0", "1", "2"]);
  assert.equal(client.setMaxInflight(2), 2);
});
