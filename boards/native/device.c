/*
 * wasmqtt-platform.h over a byte stream (stream.h): the board's timer is the clock, its
 * entropy source the jitter, its stream the connection. device_step() is the main loop's
 * one call (device.h). Like posix.c it only moves bytes and tells the time.
 */
#include "device.h"

#include <stdbool.h>

#include "link.h"
#include "stream.h"
#include "wasmqtt-platform.h"

/** What the module believes about the connection, to tell the stream's changes apart. */
static enum { NET_IDLE, NET_OPENING, NET_UP } net = NET_IDLE;

uint32_t wasmqtt_now_ms(void) {
  return board_millis();
}

uint32_t wasmqtt_random(void) {
  return board_entropy();
}

__attribute__((noreturn)) void wasmqtt_trap(const char* why) {
  board_halt(why);
}

void wasmqtt_net_open(void) {
  stream_open();
  net = NET_OPENING;
}

uint32_t wasmqtt_net_send(const uint8_t* bytes, uint32_t len) {
  return net == NET_UP ? stream_write(bytes, len) : 0;
}

void wasmqtt_net_close(void) {
  stream_close();
  net = NET_IDLE;
}

/** Moves what the stream has into the module's receive buffer, as far as it has room. */
static void receive(void) {
  while (net == NET_UP) {
    uint8_t* into;
    uint32_t space = link_rx_window(&into);
    if (space == 0) return;
    uint32_t n = stream_read(into, space);
    if (n == 0) return;
    link_rx_commit(n);
  }
}

uint32_t device_step(void) {
  enum stream_state state = stream_poll_state();
  if (net == NET_OPENING && state == STREAM_OPEN) {
    net = NET_UP;
    link_net_up();
  } else if (net == NET_OPENING && state == STREAM_CLOSED) {
    net = NET_IDLE;
    link_net_down(NET_DOWN_REFUSED);
  }
  receive();
  if (net == NET_UP && stream_poll_state() == STREAM_CLOSED) {
    net = NET_IDLE;
    link_net_down(NET_DOWN_CLOSED);
  }
  return link_tick();
}
