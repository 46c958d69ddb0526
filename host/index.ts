/**
 * wasmqtt: an MQTT 3.1.1 client whose protocol engine is a static-memory WebAssembly
 * module (the same one that runs on ESP32 / NodeMCU boards), behind an MQTT.js-like API.
 *
 * @example
 * import { connect } from "wasmqtt";
 * const client = await connect("mqtt://127.0.0.1:1883", { clientId: "demo" });
 * client.on("message", (topic, payload) => console.log(topic, payload.toString()));
 * await client.subscribe("demo/#", { qos: 1 });
 * await client.publish("demo/hello", "world", { qos: 1 });
 * await client.end();
 */
export {
  connect,
  createClient,
  WasmqttClient,
  type AuthPacket,
  type ClientEvents,
  type ClientOptions,
  type ConnectProperties,
  type DecodedProperties,
  type DisconnectProperties,
  type EndOptions,
  type Granted,
  type MessageMeta,
  type PacketTrace,
  type PublishAck,
  type PublishOptions,
  type PublishProperties,
  type QoS,
  type ReconnectOptions,
  type SubscribeOptions,
  type SubscriptionOptions,
  type SubscriptionRequest,
  type TraceOptions,
  type Unsubscribed,
  type UnsubscribeOptions,
  type UserProperties,
  type Will,
  type WillProperties,
} from "./client.ts";
export { Status, WasmqttError, describeStatus, statusName, type ErrorCode, type HostErrorCode, type StatusName } from "./status.ts";
export {
  MODULE_KINDS, PROFILES, loadModule, wasmName, wasmPath, type ClientState, type ModuleKind, type ModuleStats, type PacketType, type Profile, type RegionStats,
} from "./module.ts";
export { TcpTransport, type CloseReason, type Transport, type TransportHandlers } from "./transport.ts";
export { TlsTransport } from "./tls.ts";
export { WebSocketTransport, type WebSocketFactory, type WebSocketLike } from "./websocket.ts";
export type { PemInput, TlsOptions } from "./broker-url.ts";
export { systemClock, type Clock, type SystemClockOptions } from "./clock.ts";
