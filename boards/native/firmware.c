/*
 * The telemetry firmware module's imports and its start/stop sequence (firmware.h).
 */
#include "firmware.h"

#include <string.h>

#include "board.h"
#include "link.h"
#include "wasmqtt-platform.h"

int firmware_refused_by;

int32_t firmware_start(const struct board_config* board, const struct app_config* app) {
  Z_wasmqtt_instance_t* module = link_module();
  firmware_refused_by = 1;
  int32_t status = (int32_t)Z_wasmqttZ_boardConfigure(module, board->adc_bits, board->reference_mv, board->divider_permille,
                                                      board->tmp36_channel, board->moisture_channel, board->dry_raw,
                                                      board->wet_raw, board->led_gpio, board->relay_gpio, board->output_flags);
  if (status < 0) return status;
  firmware_refused_by = 2;
  uint32_t capacity;
  uint8_t* staging = link_staging(&capacity);
  size_t id_len = strlen(app->device_id);
  if (id_len > capacity) return WASMQTT_INVALID_ARGUMENT;
  memcpy(staging, app->device_id, id_len);
  status = (int32_t)Z_wasmqttZ_appConfigure(module, (uint32_t)id_len, app->interval_sec, app->deadband_centi,
                                            app->deadband_percent, app->keepalive_sec, app->telemetry_qos);
  if (status < 0) return status;
  firmware_refused_by = 3;
  status = (int32_t)Z_wasmqttZ_appStart(module, wasmqtt_now_ms());
  if (status < 0) return status;
  firmware_refused_by = 0;
  return WASMQTT_OK;
}

int32_t firmware_stop(void) {
  return (int32_t)Z_wasmqttZ_appStop(link_module(), wasmqtt_now_ms());
}

u32 Z_hostZ_adcRead(struct Z_host_instance_t* self, u32 channel) {
  (void)self;
  return board_adc_read(channel);
}

void Z_hostZ_gpioWrite(struct Z_host_instance_t* self, u32 pin, u32 level) {
  (void)self;
  board_gpio_write(pin, level);
}
