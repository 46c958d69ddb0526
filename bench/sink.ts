/**
 * The benchmark's subscriber, in a child process of its own (so the publisher's process
 * measures only the publisher's CPU): a raw socket (bench/raw.ts) subscribed at the
 * round's QoS, acknowledging every message, that reports when it has seen the count.
 *
 * Messages from the parent: `{ port, topic, qos, count }` starts a round; the sink answers
 * `{ ready: true }` after its SUBACK and `{ done: true, received }` once `count` PUBLISHes
 * arrived, then disconnects. `{ exit: true }` ends the process.
 */
import { PacketReader, PacketType, encodeSubscribe, packetIdOf, rawConnect, writeAck } from "./raw.ts";

interface Round {
  port: number;
  topic: string;
  qos: number;
  count: number;
}

let rounds = 0;

process.on("message", (message: Round & { exit?: boolean }) => {
  if (message.exit) process.exit(0);
  void run(message);
});

async function run(round: Round): Promise<void> {
  let received = 0;
  let finished = false;
  let subscribed: () => void = () => {};
  const suback = new Promise<void>((resolve) => (subscribed = resolve));
  let acks = Buffer.alloc(0);
  let ackBytes = 0;
  const reader = new PacketReader((header, bytes, bodyStart) => {
    const type = header & 0xf0;
    if (type === PacketType.SUBACK) return subscribed();
    if (type === PacketType.PUBLISH) {
      received++;
      const qos = (header >> 1) & 3;
      if (qos > 0) ack(qos === 1 ? PacketType.PUBACK : PacketType.PUBREC, packetIdOf(header, bytes, bodyStart));
    } else if (header === PacketType.PUBREL) {
      ack(PacketType.PUBCOMP, packetIdOf(header, bytes, bodyStart));
    }
  });
  const ack = (header: number, packetId: number) => {
    if (ackBytes + 4 > acks.length) {
      const next = Buffer.alloc(Math.max(4096, acks.length * 2));
      acks.copy(next, 0, 0, ackBytes);
      acks = next;
    }
    writeAck(acks, ackBytes, header, packetId);
    ackBytes += 4;
  };
  const socket = await rawConnect(round.port, `bench-sink-${process.pid}-${rounds++}`, reader);
  socket.on("error", () => {}); // the broker may reset a connection the sink is done with
  socket.on("data", () => {
    // after the reader took the chunk: its acknowledgements leave in one write
    if (ackBytes > 0 && !finished) {
      socket.write(Buffer.from(acks.subarray(0, ackBytes)));
      ackBytes = 0;
    }
    if (received >= round.count && !finished) {
      finished = true;
      process.send!({ done: true, received });
      socket.end();
    }
  });
  socket.write(encodeSubscribe(1, round.topic, round.qos));
  await suback;
  process.send!({ ready: true });
}
