/**
 * MQTT over TLS (`mqtts://`): a {@link TcpTransport} whose socket is a node:tls one. The
 * connection counts as open once the handshake is done and the broker's certificate was
 * verified (`secureConnect`); a certificate the options do not trust closes it before
 * that, so the module sees a refused connection and the client names the TLS failure
 * (host/tls-errors.ts).
 *
 * @example
 * const tls = new TlsTransport("broker.example", 8883, { ca: readFileSync("ca.crt") });
 */
import { type ConnectionOptions, type TLSSocket, connect as connectTls } from "node:tls";
import type { Socket } from "node:net";
import type { TlsOptions } from "./broker-url.ts";
import { tlsFailure } from "./tls-errors.ts";
import { TcpTransport } from "./transport.ts";

/** A TLS connection to `host:port` (Nagle off), opened afresh on every `open`. */
export class TlsTransport extends TcpTransport {
  protected override readonly openEvent = "secureConnect";
  /** Sockets whose TCP connection is up (the handshake runs or ran on them). */
  private readonly handshaking = new WeakSet<Socket>();

  constructor(
    host: string,
    port: number,
    private readonly tls: TlsOptions = {},
  ) {
    super(host, port);
  }

  override get label(): string {
    return `mqtts://${super.label}`;
  }

  /** Starts the TCP connection and the handshake (node:tls sends SNI for a host name, not for an IP address). */
  protected override dial(): TLSSocket {
    // the options were checked (host/broker-url.ts) to be of the types node:tls takes
    const socket = connectTls({ host: this.host, port: this.port, ...(this.tls as ConnectionOptions) });
    socket.setNoDelay(true);
    socket.once("connect", () => this.handshaking.add(socket));
    return socket;
  }

  /**
   * A connection that ends while the handshake runs, with no TLS alert (a broker that does
   * not speak TLS on that port resets it), is reported as a failed handshake
   * (`ERR_TLS_HANDSHAKE_ABORTED`, the socket error as its cause).
   */
  protected override failure(socket: Socket, error: Error, opened: boolean): Error {
    if (opened || !this.handshaking.has(socket) || tlsFailure(error) !== undefined) return error;
    const aborted = new Error(`the connection ended during the TLS handshake (${error.message}); is ${super.label} a TLS port?`, { cause: error });
    return Object.assign(aborted, { code: "ERR_TLS_HANDSHAKE_ABORTED" });
  }
}

