// The imports of the board ABI (boards/ABI.md): everything the module asks of its host.

// @ts-ignore: decorator
@external("host", "netOpen") export declare function netOpen(): void;
// @ts-ignore: decorator
@external("host", "netSend") export declare function netSend(ptr: usize, len: u32): u32;
// @ts-ignore: decorator
@external("host", "netClose") export declare function netClose(): void;
// @ts-ignore: decorator
@external("host", "onMessage") export declare function onMessage(topicPtr: usize, topicLen: u32, payloadPtr: usize, payloadLen: u32, flags: u32): void;
// @ts-ignore: decorator
@external("host", "onEvent") export declare function onEvent(kind: u32, code: i32, arg: u32): void;
// @ts-ignore: decorator
@external("host", "onPacket") export declare function onPacket(direction: u32, header: u32, packetId: u32, remainingLength: u32): void;
// @ts-ignore: decorator
@external("host", "random") export declare function random(): u32;

/** onEvent kinds. */
export const EVENT_CONNECTED: u32 = 1;
export const EVENT_CONNECT_FAILED: u32 = 2;
export const EVENT_CONNECTION_LOST: u32 = 3;
export const EVENT_RECONNECTING: u32 = 4;
export const EVENT_PUBLISH_DONE: u32 = 5;
export const EVENT_SUBACK: u32 = 6;
export const EVENT_UNSUBACK: u32 = 7;
export const EVENT_CLOSED: u32 = 8;
export const EVENT_BACKOFF: u32 = 9;
export const EVENT_MESSAGE_DROPPED: u32 = 10;
export const EVENT_AUTH: u32 = 11;
/** Telemetry firmware only: the device asks to deep-sleep (code: the save image's sequence number, arg: ms). */
export const EVENT_SLEEP: u32 = 12;

/** onPacket directions. */
export const PACKET_IN: u32 = 0;
export const PACKET_OUT: u32 = 1;
