/*
 * The POSIX platform (posix.c): wasmqtt-platform.h over a non-blocking TCP socket,
 * CLOCK_MONOTONIC and getrandom(), and the event loop that drives the link.
 */
#ifndef WASMQTT_POSIX_H
#define WASMQTT_POSIX_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

/** Where wasmqtt_net_open() connects. Both strings must outlive the program's run. */
void posix_set_broker(const char* host, const char* port);

/** "host:port" of the broker, for messages. */
const char* posix_broker_name(void);

/** Why the last connection failed or ended, as strerror() text, or NULL. */
const char* posix_last_error(void);

/**
 * One turn of the event loop: reports what the connection did since the last turn
 * (netUp / netDown), runs tick, then waits until the socket is ready, one of the
 * `extra` descriptors is (their revents are filled in), a signal arrives, or the
 * delay tick asked for has passed, and moves the received bytes into the module.
 * `max_wait_ms` caps the wait (the caller's own deadline).
 */
void posix_step(struct pollfd* extra, int extra_count, uint32_t max_wait_ms);

/** True once SIGINT or SIGTERM arrived (posix_catch_signals installs the handler). */
bool posix_interrupted(void);

/** Installs SIGINT / SIGTERM handlers that set posix_interrupted(); ignores SIGPIPE. */
void posix_catch_signals(void);

#endif
