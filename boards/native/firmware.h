/*
 * The telemetry firmware module's own calls (boards/ABI.md, the *firmware* rows), for
 * any platform: its adcRead / gpioWrite imports go to board.h, and firmware_start()
 * configures the board and the application and starts them, as host/sim/device.ts does.
 */
#ifndef WASMQTT_FIRMWARE_H
#define WASMQTT_FIRMWARE_H

#include <stdint.h>

/** boardConfigure's arguments, in its order (boards/ABI.md), from the board file. */
struct board_config {
  uint32_t adc_bits;
  uint32_t reference_mv;
  uint32_t divider_permille;
  uint32_t tmp36_channel;
  uint32_t moisture_channel;
  uint32_t dry_raw;
  uint32_t wet_raw;
  uint32_t led_gpio;
  uint32_t relay_gpio;
  /** bit 0 LED active low, bit 1 relay active low. */
  uint32_t output_flags;
};

/** appConfigure's arguments. */
struct app_config {
  const char* device_id;
  uint32_t interval_sec;
  uint32_t deadband_centi;
  uint32_t deadband_percent;
  uint32_t keepalive_sec;
  uint32_t telemetry_qos;
};

/** Which call refused: 1 boardConfigure, 2 appConfigure, 3 appStart (0 when none did). */
extern int firmware_refused_by;

/**
 * boardConfigure, appConfigure (the device id staged), appStart. Returns OK (0) or the
 * first negative status; firmware_refused_by names the call. Call after link_open().
 */
int32_t firmware_start(const struct board_config* board, const struct app_config* app);

/** appStop: publishes the retained `offline` status when connected, DISCONNECT, netClose. */
int32_t firmware_stop(void);

#endif
