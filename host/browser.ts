/**
 * wasmqtt in the browser (`import { connect } from "wasmqtt/browser"`): the same client API
 * and module as in Node, over the browser's WebSocket (ws:// and wss://) with
 * `performance.now()` as its clock. The module is fetched from `wasmUrl` (default:
 * build/client-<profile>.wasm of the package, next to the bundle's dist/).
 *
 * @example
 * import { connect } from "wasmqtt/browser";
 * const client = await connect("ws://127.0.0.1:8080/mqtt", { wasmUrl: "/client-desktop.wasm" });
 * client.on("message", (topic, payload) => console.log(topic, payload.toString()));
 * await client.subscribe("devices/#");
 */
export {
  connect,
  createClient,
  WasmqttClient,
  type ClientEvents,
  type ClientOptions,
  type Granted,
  type MessageMeta,
  type PacketTrace,
  type PublishAck,
  type PublishOptions,
  type QoS,
  type ReconnectOptions,
  type SubscribeOptions,
  type SubscriptionRequest,
  type Unsubscribed,
  type Will,
} from "./client.ts";
export { Status, WasmqttError, describeStatus, statusName, type ErrorCode, type HostErrorCode, type StatusName } from "./status.ts";
export { PROFILES, type ClientState, type ModuleStats, type PacketType, type Profile, type RegionStats } from "./module.ts";
export { WebSocketTransport, type WebSocketFactory, type WebSocketLike } from "./websocket.ts";
export type { CloseReason, Transport, TransportHandlers } from "./transport.ts";
export { systemClock, type Clock, type SystemClockOptions } from "./clock.ts";
