/**
 * Inbound messages through the host: each "message" event carries its own topic. The host
 * hands the last topic's string again when a message's topic bytes repeat it
 * (ModuleInstance.topic), so topics of one length that differ in any byte, UTF-8 included,
 * must still come out as they were sent.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { connect } from "../../host/index.ts";
import { AcceptingTransport } from "./support/accepting-transport.ts";
import { concat, publish } from "./support/mqtt-packets.ts";

test("each message keeps its own topic when consecutive topics have the same length", async (t) => {
  const transport = new AcceptingTransport();
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
