// Compile-time capacities. The build profile (assembly/profiles/<name>.ts, the first
// entry of every asconfig target) defines the PROFILE_* globals; this file is the only
// place the module reads them, and the only place a size is chosen.

// @ts-ignore: decorator
@inline export const RX_CAPACITY: i32 = PROFILE_RX_CAPACITY;
// @ts-ignore: decorator
@inline export const TX_CAPACITY: i32 = PROFILE_TX_CAPACITY;
// @ts-ignore: decorator
@inline export const OUTBOX_CAPACITY: i32 = PROFILE_OUTBOX_CAPACITY;
// @ts-ignore: decorator
@inline export const STAGING_CAPACITY: i32 = PROFILE_STAGING_CAPACITY;
// @ts-ignore: decorator
@inline export const INFLIGHT_SLOTS: i32 = PROFILE_INFLIGHT_SLOTS;
// @ts-ignore: decorator
@inline export const SUBSCRIPTION_SLOTS: i32 = PROFILE_SUBSCRIPTION_SLOTS;
// @ts-ignore: decorator
@inline export const INBOUND_QOS2_SLOTS: i32 = PROFILE_INBOUND_QOS2_SLOTS;
// @ts-ignore: decorator
@inline export const MAX_TOPIC_LENGTH: i32 = PROFILE_MAX_TOPIC_LENGTH;
// @ts-ignore: decorator
@inline export const CONNECT_CAPACITY: i32 = PROFILE_CONNECT_CAPACITY;
/** MQTT 5 inbound Topic Aliases the module keeps (its Topic Alias Maximum, MQTT 5.0 §3.1.2.11.5), each up to MAX_TOPIC_LENGTH bytes. */
// @ts-ignore: decorator
@inline export const TOPIC_ALIAS_SLOTS: i32 = PROFILE_TOPIC_ALIAS_SLOTS;
/** MQTT 5: bytes of User Properties each subscription slot keeps for its SUBSCRIBE or UNSUBSCRIBE (MQTT 5.0 §3.8.2.1.3, §3.10.2.1.2), sent again with every resend and resubscription. */
// @ts-ignore: decorator
@inline export const REQUEST_PROPERTY_BYTES: i32 = PROFILE_REQUEST_PROPERTY_BYTES;

/** The build profile's number (desktop 1, esp32 2, nodemcu 3): a saved session restores only into its own profile. */
// @ts-ignore: decorator
@inline export const PROFILE_NUMBER: u32 = PROFILE_ID;

/** Milliseconds allowed for TCP connect + CONNACK unless setTimeouts says otherwise. */
// @ts-ignore: decorator
@inline export const DEFAULT_CONNECT_TIMEOUT_MS: u32 = 10000;
/** Reconnect backoff bounds unless setReconnect says otherwise. */
// @ts-ignore: decorator
@inline export const DEFAULT_RECONNECT_MIN_MS: u32 = 1000;
// @ts-ignore: decorator
@inline export const DEFAULT_RECONNECT_MAX_MS: u32 = 60000;
/** Longest sleep tick() asks for when no timer is due sooner (a board sleeps between ticks). */
// @ts-ignore: decorator
@inline export const MAX_TICK_DELAY_MS: u32 = 60000;
/**
 * Bytes of the persistent block kept for the application (boards/ABI.md, "Persistent
 * state"): the telemetry firmware's board, device and counters, so that a wake from deep
 * sleep needs nothing but the block. The same in every module kind, so an image moves
 * between them; the client module leaves it zero.
 */
// @ts-ignore: decorator
@inline export const APP_STATE_BYTES: u32 = 204;
