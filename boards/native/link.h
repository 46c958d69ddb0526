/*
 * The byte-moving glue between the wasm2c-compiled module and a platform, as
 * host/link.ts is for the TypeScript host: the module's `host` imports call the platform
 * (wasmqtt-platform.h) and the application's three hooks below; the platform feeds
 * received bytes into rxBuffer()/rxSpace()/rxCommit() and reports the connection with
 * netUp/netDown; `tick` runs again when it asked to. No MQTT here: keepalive, retries,
 * resends and parsing are the module's.
 *
 * The application hooks are called from inside a module call and must not call back
 * into the module: they record, and the application acts once the call returned.
 * wasmqtt-abi.h (generated from assembly/status.ts and assembly/host.ts) names the
 * status codes and event kinds.
 */
#ifndef WASMQTT_LINK_H
#define WASMQTT_LINK_H

#include <stdint.h>

#include "wasmqtt.h"
#include "wasmqtt-abi.h"

/** `netDown` reasons (informational to the module). */
enum { NET_DOWN_CLOSED = 0, NET_DOWN_RESET = 1, NET_DOWN_REFUSED = 2 };

/** Stats block fields the hosts read (boards/ABI.md, "Stats block"). */
enum { STAT_OUTBOX_USED = 7, STAT_MESSAGES_ACKNOWLEDGED = 19, STAT_STATE = 24 };

/** The application's hooks, defined by the program that uses the link. */
void app_event(uint32_t kind, int32_t code, uint32_t arg);
/** An application message; the pointers are valid only during the call. */
void app_message(const uint8_t* topic, uint32_t topic_len, const uint8_t* payload, uint32_t payload_len, uint32_t flags);
void app_packet(uint32_t direction, uint32_t header, uint32_t packet_id, uint32_t remaining_length);

/** Instantiates the module (once per process) and calls its init(); returns the instance. */
Z_wasmqtt_instance_t* link_open(void);

/** The instance link_open() made. */
Z_wasmqtt_instance_t* link_module(void);

/** `len` bytes of module memory at `ptr`, or NULL when they are not all inside it. */
uint8_t* link_bytes(uint32_t ptr, uint32_t len);

/** The staging buffer; `*capacity` receives its size. */
uint8_t* link_staging(uint32_t* capacity);

/** One u32 of the stats block (statsBuffer(), refreshed by this call). */
uint32_t link_stat(uint32_t index);

/** Runs the module's timers now; returns the ms until it needs to run again. */
uint32_t link_tick(void);

/** The connection wasmqtt_net_open() asked for is up. */
void link_net_up(void);

/** The connection failed or the peer closed it (`reason`: NET_DOWN_*). */
void link_net_down(uint32_t reason);

/**
 * Where the next received bytes go: sets `*into` and returns how many fit (0 while a
 * packet waits for room in the transmit ring, after one tick to let it drain).
 */
uint32_t link_rx_window(uint8_t** into);

/** The platform wrote `n` bytes at the window; returns rxCommit's status (< 0: the module closed the connection). */
int32_t link_rx_commit(uint32_t n);

/** Copies `len` received bytes into the module as far as it has room; returns how many it took. */
uint32_t link_receive(const uint8_t* bytes, uint32_t len);

#endif
