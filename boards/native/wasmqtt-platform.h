/*
 * What a platform gives the wasmqtt glue (link.c) and runtime (wasm-rt-static.c): a
 * clock, entropy, a byte-stream connection to the broker and a way to stop on a trap.
 * posix.c implements it with POSIX sockets and clock_gettime; a microcontroller port
 * implements the same five functions over its UART / modem / TCP stack and its timer.
 */
#ifndef WASMQTT_PLATFORM_H
#define WASMQTT_PLATFORM_H

#include <stdint.h>

/** A wrapping millisecond counter; the module only subtracts two readings. */
uint32_t wasmqtt_now_ms(void);

/** 32 bits of entropy for the module's backoff jitter. */
uint32_t wasmqtt_random(void);

/**
 * Begins opening the connection to the broker. The platform answers later, outside any
 * module call, with link_net_up() or link_net_down() (link.h).
 */
void wasmqtt_net_open(void);

/** Writes up to `len` bytes; returns how many were accepted (0 = try again later). */
uint32_t wasmqtt_net_send(const uint8_t* bytes, uint32_t len);

/** Closes the connection; no link_net_down() follows for it. */
void wasmqtt_net_close(void);

/** The module trapped (a bug, or less memory than it needs): report `why` and stop. */
__attribute__((noreturn)) void wasmqtt_trap(const char* why);

/** The size of the module's linear memory in bytes (wasm-rt-static.c). */
uint32_t wasmqtt_memory_bytes(void);

#endif
