/**
 * Publish flow control: `publish(…, { whenFull: "wait" })` waits for outbox room instead
 * of rejecting OUTBOX_FULL, in order; the module still decides what fits. A transport that
 * takes no bytes until the test opens it stands in for a socket that does not drain.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { connect, type Transport, type TransportHandlers, WasmqttError } from "../../host/index.ts";
import { PacketSplitter, PacketType, connack, parsePublish } from "./support/mqtt-packets.ts";

/** CONNACKs the CONNECT; then takes bytes only while `open`, and says so with onWritable when opened. */
class ValveTransport implements Transport {
  private handlers: TransportHandlers | undefined;
  private connected = false;
  private flowing = true;
  private readonly splitter = new PacketSplitter();
  readonly payloads: string[] = [];

  open(handlers: TransportHandlers): void {
    this.handlers = handlers;
    setImmediate(() => handlers.onOpen());
  }

  send(bytes: Uint8Array): number {
    if (!this.connected) {
      this.connected = true;
      setImmediate(() => this.handlers?.onData(connack(false, 0)));
      return bytes.length;
    }
    if (!this.flowing) return 0;
    for (const packet of this.splitter.push(bytes)) {
      if (packet.type === PacketType.PUBLISH) this.payloads.push(Buffer.from(parsePublish(packet).payload).toString());
    }
    return bytes.length;
  }

  close(): void {}

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
