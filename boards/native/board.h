/*
 * The telemetry firmware's hardware, behind two calls: the module's adcRead and
 * gpioWrite imports land here. On Linux (board-linux.c) readings come from a file or
 * stdin and writes are printed; on a microcontroller they are the ADC and GPIO drivers.
 */
#ifndef WASMQTT_BOARD_H
#define WASMQTT_BOARD_H

#include <stdint.h>

/** A raw reading of logical ADC channel `channel` (boards/README.md, "Logical ADC channels"). */
uint32_t board_adc_read(uint32_t channel);

/** Drives GPIO `pin` to `level` (0 or 1). */
void board_gpio_write(uint32_t pin, uint32_t level);

#endif
