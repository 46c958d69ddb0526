/*
 * The telemetry firmware on the MPS2 AN386 (QEMU -M mps2-an386): the wasm2c-compiled
 * module, the device glue over UART0 (board-mps2.c, bridged to a broker by bridge.mjs),
 * configured as a nodemcu-v3 board. Publishes every WASMQTT_INTERVAL_SEC seconds to
 * devices/WASMQTT_DEVICE_ID/telemetry and obeys devices/WASMQTT_DEVICE_ID/cmd.
 */
#include "../device.h"
#include "../firmware.h"
#include "../link.h"
#include "board-mps2.h"

#ifndef WASMQTT_DEVICE_ID
#define WASMQTT_DEVICE_ID "mps2-an386"
#endif
#ifndef WASMQTT_INTERVAL_SEC
#define WASMQTT_INTERVAL_SEC 5
#endif

/** boards/nodemcu-v3.json as boardConfigure takes it (boards/native/README.md). */
static const struct board_config BOARD = {10, 1000, 3200, 0, 1, 767, 352, 2, 5, 1};
static const struct app_config APP = {WASMQTT_DEVICE_ID, WASMQTT_INTERVAL_SEC, 0, 0, 60, 1};

/** Prints the C stack's high-water mark when it rose since the last print: "stack <bytes>". */
static void report_stack(void) {
  static uint32_t reported;
  uint32_t used = stack_high_water();
  if (used <= reported) return;
  reported = used;
  board_print("stack ");
  board_print_uint(used);
  board_print("\n");
}

void app_event(uint32_t kind, int32_t code, uint32_t arg) {
  (void)code;
  (void)arg;
  if (kind == EVENT_CONNECTED) board_print("connected\n");
  if (kind == EVENT_CONNECTION_LOST) board_print("connection lost\n");
  report_stack();
}

/** Called from inside the module's receive path, at its deepest: a good moment to read the stack's mark. */
void app_message(const uint8_t* topic, uint32_t topic_len, const uint8_t* payload, uint32_t payload_len, uint32_t flags) {
  (void)topic;
  (void)topic_len;
  (void)payload;
  (void)payload_len;
  (void)flags;
  report_stack();
}

void app_packet(uint32_t direction, uint32_t header, uint32_t packet_id, uint32_t remaining_length) {
  (void)direction;
  (void)header;
  (void)packet_id;
  (void)remaining_length;
}

int main(void) {
  board_init();
  board_print("wasmqtt telemetry on mps2-an386\n");
  link_open();
  if (firmware_start(&BOARD, &APP) < 0) {
    board_print("firmware_start refused the configuration\n");
    return 1;
  }
  for (;;) {
    // armed first, so what UART0 brings while the step runs cuts the sleep after it short
    board_arm_wait();
    uint32_t delay = device_step();
    report_stack();
    board_wait(delay);
  }
}
