/**
 * Write batching (host/write-batch.ts) and what it and the link save on the publish path:
 * one socket write per turn, copies taken at once, the high water mark respected, the tick
 * timer re-armed only when the module's deadline moves earlier, packet traces still
 * reaching a listener now that they are recorded only while one exists. No timing:
 * writes, timers and traces are counted.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { type AddressInfo, Socket, createServer } from "node:net";
import { Writable } from "node:stream";
import { test } from "node:test";
import { type Clock, connect, TcpTransport } from "../../host/index.ts";
import { WriteBatch } from "../../host/write-batch.ts";
import { AcceptingTransport } from "./support/accepting-transport.ts";

const turnEnd = () => new Promise<void>((resolve) => process.nextTick(resolve));

/** A writable that records each write it gets. */
function recorder(highWaterMark = 16 * 1024): { stream: Writable; writes: Buffer[] } {
  const writes: Buffer[] = [];
  const stream = new Writable({
    highWaterMark,
    write(chunk: Buffer, _encoding, done) {
      writes.push(Buffer.from(chunk));
      done();
    },
  });
  return { stream, writes };
}

test("the sends of one turn leave in one write, in order, copied when taken", async () => {
  const { stream, writes } = recorder();
  const batch = new WriteBatch(stream);
  const source = Uint8Array.from([1, 2, 3]);
  assert.equal(batch.take(source), 3);
  source.fill(9); // the caller's bytes (module memory) change after the send
  assert.equal(batch.take(Uint8Array.from([4, 5])), 2);
  assert.equal(batch.take(Uint8Array.from([6])), 1);
  assert.equal(writes.length, 0, "nothing is written before the turn ends");
  await turnEnd();
  assert.deepEqual(writes, [Buffer.from([1, 2, 3, 4, 5, 6])]);
  assert.equal(batch.take(Uint8Array.from([7])), 1);
  await turnEnd();
  assert.deepEqual(writes, [Buffer.from([1, 2, 3, 4, 5, 6]), Buffer.from([7])]);
});

test("a turn that outgrows the high water mark is written as it fills, nothing lost or reordered", async () => {
  const { stream, writes } = recorder(64);
  const batch = new WriteBatch(stream);
  const sent: number[] = [];
  for (let i = 0; i < 100; i++) {
    const packet = Uint8Array.from({ length: 10 }, (_, j) => (i * 10 + j) & 0xff);
    assert.equal(batch.take(packet), 10);
    sent.push(...packet);
  }
  await turnEnd();
  assert.ok(writes.length > 1 && writes.length < 100, `${writes.length} writes for 100 packets`);
  assert.ok(writes.every((chunk) => chunk.length <= 64 + 10), "no write is much larger than the high water mark");
  assert.deepEqual([...Buffer.concat(writes)], sent);
});

test("nothing is taken while the stream needs a drain", async () => {
  const stream = new Writable({ highWaterMark: 4, write() {} }); // never completes: stays full
  const batch = new WriteBatch(stream);
  assert.equal(batch.take(new Uint8Array(8)), 8);
  await turnEnd();
  assert.equal(stream.writableNeedDrain, true);
  assert.equal(batch.take(new Uint8Array(1)), 0);
});

test("TcpTransport writes a turn's sends with one socket write", async (t) => {
  const server = createServer();
  const received: Buffer[] = [];
  server.on("connection", (socket: Socket) => socket.on("data", (chunk: Buffer) => received.push(chunk)));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => server.close());
  const transport = new TcpTransport("127.0.0.1", (server.address() as AddressInfo).port);
  const opened = new Promise<void>((resolve) => transport.open({ onOpen: resolve, onData() {}, onClose() {} }));
  await opened;
  const socketProto = Socket.prototype;
  const write = socketProto.write;
  let writes = 0;
  socketProto.write = function (this: Socket, ...args: Parameters<Socket["write"]>) {
    writes++;
    return write.apply(this, args);
  } as Socket["write"];
  try {
    for (let i = 0; i < 50; i++) assert.equal(transport.send(Uint8Array.from([0xe0, 0])), 2);
    await turnEnd();
  } finally {
    socketProto.write = write;
  }
  assert.equal(writes, 1, "50 sends in one turn, one write");
  while (Buffer.concat(received).length < 100) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(Buffer.concat(received).length, 100);
  await transport.close();
});

/** The system clock's time with counted timers that never fire by themselves. */
function countingClock(): Clock & { armed: number } {
  const clock = {
    armed: 0,
    nowU32: () => Math.floor(performance.now()) >>> 0,
    after: () => {
      clock.armed++;
      return clock.armed;
    },
    clearTimer: () => {},
  };
  return clock;
}

test("publishing does not re-arm the tick timer while the module's deadline does not move earlier", async () => {
  const clock = countingClock();
  const client = await connect("mqtt://127.0.0.1:1", { transport: new AcceptingTransport(), clock, keepalive: 60 });
  const before = clock.armed;
  for (let i = 0; i < 100; i++) await client.publish("t", "x");
  assert.ok(clock.armed - before <= 2, `${clock.armed - before} timers armed for 100 publishes`);
  await client.end();
});

test("a \"packet\" listener sees the packets of the time it listens (traces are recorded only then)", async () => {
  const client = await connect("mqtt://127.0.0.1:1", { transport: new AcceptingTransport(), keepalive: 60 });
  const traces: string[] = [];
  await client.publish("t", "before");
  await new Promise((resolve) => setImmediate(resolve));
  const listener = (trace: { type: string }) => traces.push(trace.type);
  client.on("packet", listener);
  await client.publish("t", "during");
  await new Promise((resolve) => setImmediate(resolve));
  client.off("packet", listener);
  await client.publish("t", "after");
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(traces, ["PUBLISH"]);
  await client.end();
});
