/*
 * The telemetry board on Linux: ADC readings from a file (re-read at every reading) or
 * from stdin (each line replaces the readings), GPIO writes printed as `gpio <pin> <level>`.
 * A line or file holds one raw reading per logical channel, separated by spaces:
 * "1059 2400" is channel 0 (TMP36) = 1059, channel 1 (moisture) = 2400.
 */
#include "board-linux.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "board.h"

/** The most logical channels a board has (boards/README.md: the NodeMCU's mux has 8). */
#define CHANNELS 8

static const char* source_path;
static uint32_t readings[CHANNELS];
static char line[256];
static size_t line_used;

void board_linux_set_adc_source(const char* path) {
  source_path = path;
}

bool board_linux_reads_stdin(void) {
  return source_path != NULL && strcmp(source_path, "-") == 0;
}

/** Parses up to CHANNELS whitespace-separated readings from `text` into readings[]. */
static void parse_readings(const char* text) {
  for (int channel = 0; channel < CHANNELS; channel++) {
    char* end;
    unsigned long value = strtoul(text, &end, 10);
    if (end == text) break;
    readings[channel] = (uint32_t)value;
    text = end;
  }
}

bool board_linux_read_stdin(void) {
  ssize_t n = read(STDIN_FILENO, line + line_used, sizeof line - 1 - line_used);
  if (n <= 0) return false;
  line_used += (size_t)n;
  char* newline;
  while ((newline = memchr(line, '\n', line_used)) != NULL) {
    *newline = '\0';
    parse_readings(line);
    line_used -= (size_t)(newline + 1 - line);
    memmove(line, newline + 1, line_used);
  }
  if (line_used == sizeof line - 1) line_used = 0;  // a line too long to be readings: dropped
  return true;
}

uint32_t board_adc_read(uint32_t channel) {
  if (source_path != NULL && !board_linux_reads_stdin()) {
    FILE* file = fopen(source_path, "r");
    if (file != NULL) {
      char text[256];
      size_t n = fread(text, 1, sizeof text - 1, file);
      fclose(file);
      text[n] = '\0';
      parse_readings(text);
    }
  }
  return channel < CHANNELS ? readings[channel] : 0;
}

void board_gpio_write(uint32_t pin, uint32_t level) {
  printf("gpio %u %u\n", (unsigned)pin, (unsigned)level);
  fflush(stdout);
}
