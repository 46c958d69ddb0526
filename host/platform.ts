/**
 * What the Node host provides that a browser provides differently: the transport for each
 * broker URL scheme. The browser build (scripts/build.mjs) puts host/platform.browser.ts
 * in this file's place; both export the same names.
 *
 * @example
 * const transport = createTransport(parseBrokerTarget("mqtts://broker.example"), { ca });
 */
import WebSocket from "ws";
import type { BrokerTarget, TlsOptions } from "./broker-url.ts";
import { TlsTransport } from "./tls.ts";
import { TcpTransport, type Transport } from "./transport.ts";
import { type WebSocketLike, WebSocketTransport } from "./websocket.ts";

/** TCP for mqtt://, node:tls for mqtts://, the `ws` package's WebSocket (with the TLS options) for ws:// and wss://. */
export function createTransport(target: BrokerTarget, tls: TlsOptions): Transport {
  switch (target.scheme) {
    case "mqtt":
      return new TcpTransport(target.host, target.port);
    case "mqtts":
      return new TlsTransport(target.host, target.port, tls);
    case "ws":
    case "wss":
      return new WebSocketTransport(
        webSocketUrl(target),
        (url, protocols) => new WebSocket(url, protocols, { ...(tls as WebSocket.ClientOptions), perMessageDeflate: false }) as unknown as WebSocketLike,
      );
  }
}

/** The URL the WebSocket opens: scheme, host, port and path, without the user info (that goes in CONNECT). */
export function webSocketUrl(target: BrokerTarget): string {
  const host = target.host.includes(":") ? `[${target.host}]` : target.host;
  return `${target.scheme}://${host}:${target.port}${target.path}`;
}
