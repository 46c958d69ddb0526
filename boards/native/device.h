/*
 * The platform of a board that reaches the broker through a byte stream (stream.h):
 * device.c implements wasmqtt-platform.h on it and gives the board's main loop one call.
 */
#ifndef WASMQTT_DEVICE_H
#define WASMQTT_DEVICE_H

#include <stdint.h>

/**
 * One turn of the device's loop: reports what the stream did (netUp / netDown), moves
 * received bytes into the module, runs tick. Returns the ms until the module needs the
 * next turn; call again earlier when the stream has bytes or changed state.
 */
uint32_t device_step(void);

#endif
