// Build profile "nodemcu": the capacities every region of the module is sized from.
// Only assembly/config.ts reads these names; change a size here and nowhere else.

// @ts-ignore: decorator
@global @inline const PROFILE_RX_CAPACITY: i32 = 1536;
// @ts-ignore: decorator
@global @inline const PROFILE_TX_CAPACITY: i32 = 1024;
// @ts-ignore: decorator
@global @inline const PROFILE_OUTBOX_CAPACITY: i32 = 3072;
// @ts-ignore: decorator
@global @inline const PROFILE_STAGING_CAPACITY: i32 = 1024;
// @ts-ignore: decorator
@global @inline const PROFILE_INFLIGHT_SLOTS: i32 = 8;
// @ts-ignore: decorator
@global @inline const PROFILE_SUBSCRIPTION_SLOTS: i32 = 6;
// @ts-ignore: decorator
@global @inline const PROFILE_INBOUND_QOS2_SLOTS: i32 = 32;
// @ts-ignore: decorator
@global @inline const PROFILE_MAX_TOPIC_LENGTH: i32 = 64;
// @ts-ignore: decorator
@global @inline const PROFILE_CONNECT_CAPACITY: i32 = 320;
// @ts-ignore: decorator
@global @inline const PROFILE_TOPIC_ALIAS_SLOTS: i32 = 4;
// @ts-ignore: decorator
@global @inline const PROFILE_REQUEST_PROPERTY_BYTES: i32 = 32;
/** The profile's number in the persistent block's header (boards/ABI.md, "Persistent state"). */
// @ts-ignore: decorator
@global @inline const PROFILE_ID: u32 = 3;
