/**
 * Joins the MPS2 AN386 image's UART0 (a QEMU serial chardev connecting here over TCP) to
 * an MQTT broker, speaking the framing of board-mps2.c: ESC (0x7E) 'O' / 'C' from the
 * device open / close the broker connection, ESC 'U' / 'D' to the device say it is up /
 * failed or ended, ESC ESC is a data byte 0x7E. It moves bytes only; the firmware does
 * all of MQTT.
 *
 * Usage: node boards/native/mps2-an386/bridge.mjs --broker HOST:PORT [--listen PORT] [--down]
 * Prints "listening <port>" once QEMU may connect: -chardev socket,id=mqtt,host=127.0.0.1,
 * port=<port>,nodelay=on -serial chardev:mqtt (without nodelay, Nagle holds each small
 * write for the peer's delayed ACK, ~40 ms). SIGUSR1 drops every broker connection, as a
 * modem losing its network does: the device sees ESC 'D' and reconnects on its own.
 * SIGUSR2 takes the network away until the next SIGUSR2 (prints "down" / "up"): the
 * broker connections are dropped and every open is answered ESC 'D'; --down starts so.
 */
import net from "node:net";
import { parseArgs } from "node:util";

const ESC = 0x7e;
const OPEN = 0x4f; // 'O'
const CLOSE = 0x43; // 'C'
const UP = 0x55; // 'U'
const DOWN = 0x44; // 'D'

const { values } = parseArgs({
  options: { broker: { type: "string" }, listen: { type: "string", default: "0" }, down: { type: "boolean", default: false } },
  strict: true,
});
const match = /^(.+):(\d+)$/.exec(values.broker ?? "");
if (match === null) {
  process.stderr.write("Error: --broker HOST:PORT is required\n");
  process.exit(1);
}
const [, brokerHost, brokerPort] = match;

/** The broker connections open now, one per device, so SIGUSR1 can drop them. */
const connections = new Set();
/** While true (SIGUSR2, --down) no broker can be reached. */
let networkDown = values.down;

/** One device on the serial line: at most one broker connection at a time. */
function serve(serial) {
  serial.setNoDelay(true);
  let broker;
  let escaped = false;

  const control = (code) => serial.write(Buffer.from([ESC, code]));
  const open = () => {
    broker?.destroy();
    if (networkDown) {
      broker = undefined;
      control(DOWN);
      return;
    }
    const connection = net.connect(Number(brokerPort), brokerHost);
    connection.setNoDelay(true);
    broker = connection;
    connections.add(connection);
    let up = false;
    connection.on("connect", () => {
      up = true;
      control(UP);
    });
    connection.on("data", (bytes) => serial.write(escape(bytes)));
    connection.on("error", () => {});
    connection.on("close", () => {
      connections.delete(connection);
      if (broker !== connection) return; // closed by the device, or replaced: it knows
      broker = undefined;
      control(DOWN);
      if (!up) process.stderr.write(`bridge: cannot connect to ${values.broker}\n`);
    });
  };
  const close = () => {
    const connection = broker;
    broker = undefined;
    connection?.destroy();
  };

  serial.on("data", (bytes) => {
    const data = [];
    for (const byte of bytes) {
      if (escaped) {
        escaped = false;
        if (byte === ESC) data.push(ESC);
        else {
          if (data.length > 0 && broker !== undefined) broker.write(Buffer.from(data.splice(0)));
          if (byte === OPEN) open();
          else if (byte === CLOSE) close();
        }
      } else if (byte === ESC) {
        escaped = true;
      } else {
        data.push(byte);
      }
    }
    if (data.length > 0 && broker !== undefined) broker.write(Buffer.from(data));
  });
  serial.on("error", () => {});
  serial.on("close", close);
}

/** Doubles every ESC so data never reads as a control code. */
function escape(bytes) {
  const out = [];
  for (const byte of bytes) {
    if (byte === ESC) out.push(ESC);
    out.push(byte);
  }
  return Buffer.from(out);
}

const server = net.createServer(serve);
server.listen(Number(values.listen), "127.0.0.1", () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
/** Drops every broker connection: each device sees ESC 'D'. */
function dropAll() {
  for (const connection of connections) connection.destroy();
}
process.on("SIGUSR1", () => {
  dropAll();
  process.stdout.write("dropped\n");
});
process.on("SIGUSR2", () => {
  networkDown = !networkDown;
  if (networkDown) dropAll();
  process.stdout.write(networkDown ? "down\n" : "up\n");
});
