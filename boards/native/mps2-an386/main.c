/*
 * The telemetry firmware on the MPS2 AN386 (QEMU -M mps2-an386): the wasm2c-compiled
 * module, the device glue over UART0 (board-mps2.c, bridged to a broker by bridge.mjs),
 * configured as a nodemcu-v3 board. Publishes every WASMQTT_INTERVAL_SEC seconds to
 * devices/WASMQTT_DEVICE_ID/telemetry and obeys devices/WASMQTT_DEVICE_ID/cmd. The
 * session is saved in RAM that survives a reset (persist-mps2.c) whenever it changed,
 * and restored at boot: readings queued while the broker was away are sent after a reset.
 */
#include "../device.h"
#include "../firmware.h"
#include "../link.h"
#include "../persist.h"
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

/** Restores the newest saved slot before the firmware configures itself; the console says what came back: "restored <sequence> outbox <bytes>", "restore <STATUS>" or "nothing saved". */
static void restore(void) {
  int32_t status = persist_restore();
  if (status == WASMQTT_OK) {
    board_print("restored ");
    board_print_uint(persist_sequence());
    board_print(" outbox ");
    board_print_uint(link_stat(STAT_OUTBOX_USED));
  } else if (status == PERSIST_NOTHING_SAVED) {
    board_print("nothing saved");
  } else {
    board_print("restore ");
    board_print(wasmqtt_status_name(status));
  }
  board_print("\n");
}

/** Saves the session when the step changed it ("saved <sequence>"); returns true when it did (a held PUBREL may go at once), false when nothing was due or the save failed. */
static bool save(void) {
  int32_t saved = persist_save_if_changed();
  if (saved < 0) board_print("save failed: the slots are not persistLength() bytes\n");
  if (saved <= 0) return false;
  board_print("saved ");
  board_print_uint(persist_sequence());
  board_print("\n");
  return true;
}

int main(void) {
  board_init();
  board_print("wasmqtt telemetry on mps2-an386\n");
  link_open();
  restore();
  if (firmware_start(&BOARD, &APP) < 0) {
    board_print("firmware_start refused the configuration\n");
    return 1;
  }
  for (;;) {
    // armed first, so what UART0 brings while the step runs cuts the sleep after it short
    board_arm_wait();
    uint32_t delay = device_step();
    report_stack();
    // after a save the next step comes at once: a PUBREL held for it may go now
    if (!save()) board_wait(delay);
  }
}
