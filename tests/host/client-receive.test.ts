/**
 * Inbound messages through the host: each "message" event carries its own topic. The host
 * hands the last topic's string again when a message's topic bytes repeat it
 * (ModuleInstance.topic), so topics of one length that differ in any byte, UTF-8 included,
 * must still come out as they were sent.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { connect, type Transport, type TransportHandlers } from "../../host/index.ts";
import { concat, connack, publish } from "./support/mqtt-packets.ts";

/** CONNACKs the CONNECT and drops everything else; the test feeds bytes with `receive`. */
class ScriptedTransport implements Transport {
  private handlers: TransportHandlers | undefined;
  private connected = false;

  open(handlers: TransportHandlers): void {
    this.handlers = handlers;
    setImmediate(() => handlers.onOpen());
  }

  send(bytes: Uint8Array): number {
    if (!this.connected) {
      this.connected = true;
      setImmediate(() => this.handlers?.onData(connack(false, 0)));
    }
    return bytes.length;
  }

  close(): void {}

  receive(bytes: Uint8Array): void {
    this.handlers?.onData(bytes);
  }
}

test("each message keeps its own topic when consecutive topics have the same length", async (t) => {
  const transport = new ScriptedTransport();
  const client = await connect("mqtt://127.0.0.1:1", { transport, keepalive: 0 });
  t.after(() => client.end());
  // "ä/b" is 4 bytes in UTF-8, like "a/b1"; "a/b1" and "a/c1" differ in the middle
  const topics = ["a/b1", "a/b2", "a/b2", "a/b1", "ä/b", "a/c1", "a/b1", "a/b1x", "a/b1"];
  const received: string[] = [];
  const all = new Promise<void>((resolve) => {
    client.on("message", (topic) => {
      received.push(topic);
      if (received.length === topics.length) resolve();
    });
  });
  transport.receive(concat(topics.map((topic, i) => publish({ topic, payload: `${i}`, qos: 0 }))));
  await all;
  assert.deepEqual(received, topics);
});
