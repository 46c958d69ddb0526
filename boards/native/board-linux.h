/*
 * Where the Linux board (board-linux.c) takes its ADC readings from.
 */
#ifndef WASMQTT_BOARD_LINUX_H
#define WASMQTT_BOARD_LINUX_H

#include <stdbool.h>

/** `path`: a file re-read at every reading, or "-" for lines on stdin; NULL reads 0. */
void board_linux_set_adc_source(const char* path);

/** True when readings come from stdin (the caller polls it and calls board_linux_read_stdin). */
bool board_linux_reads_stdin(void);

/** Reads what stdin has; complete lines replace the readings. False at end of input or on error. */
bool board_linux_read_stdin(void);

#endif
