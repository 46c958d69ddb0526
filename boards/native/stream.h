/*
 * The broker connection of a board without sockets, as a byte stream: a UART to a
 * bridge, a modem in transparent mode, a vendor TCP stack. A board implements these and
 * the hardware calls below; device.c turns them into the platform the glue needs
 * (wasmqtt-platform.h). Every call returns at once (no blocking).
 */
#ifndef WASMQTT_STREAM_H
#define WASMQTT_STREAM_H

#include <stdint.h>

/** Where the connection stands. */
enum stream_state { STREAM_CLOSED, STREAM_OPENING, STREAM_OPEN };

/** Asks for a connection to the broker: stream_poll_state() goes OPENING, then OPEN or CLOSED (refused). */
void stream_open(void);

/** The connection's state now; OPEN → CLOSED means the peer closed it. */
enum stream_state stream_poll_state(void);

/** Writes up to `len` bytes; returns how many were accepted (0 = none now). */
uint32_t stream_write(const uint8_t* bytes, uint32_t len);

/** Reads up to `room` received bytes into `into`; returns how many (0 = none now). */
uint32_t stream_read(uint8_t* into, uint32_t room);

/** Closes the connection. */
void stream_close(void);

/** A wrapping millisecond counter (a timer tick, SysTick). */
uint32_t board_millis(void);

/** 32 bits of entropy (a hardware RNG, ADC noise, an uninitialised-RAM hash). */
uint32_t board_entropy(void);

/** Reports a trap and stops (or resets) the device; never returns. */
__attribute__((noreturn)) void board_halt(const char* why);

#endif
