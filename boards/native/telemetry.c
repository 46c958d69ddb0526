/*
 * telemetry-<profile>: the telemetry firmware module, compiled by wasm2c, as a Linux
 * process: the board's ADC and GPIO from board-linux.c, the network from posix.c, and
 * the board and app configured from the command line as host/sim/device.ts configures
 * them from the board file. Runs until SIGINT / SIGTERM, then stops cleanly (retained
 * `offline`, DISCONNECT) and exits 0. Usage errors exit 1. With --state FILE the session
 * (readings not yet delivered, the subscription) is saved to FILE and restored at boot.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "board-linux.h"
#include "firmware.h"
#include "link.h"
#include "persist-posix.h"
#include "persist.h"
#include "posix.h"
#include "wasmqtt-platform.h"

#ifndef WASMQTT_PROFILE
#error "define WASMQTT_PROFILE: the module's profile name"
#endif

static const char* const HELP =
    "telemetry-" WASMQTT_PROFILE ": the wasmqtt telemetry firmware (" WASMQTT_PROFILE " profile), compiled to native code by wasm2c.\n\n"
    "Usage: telemetry-" WASMQTT_PROFILE " --id ID --board BITS,REF_MV,DIVIDER_PERMILLE,TMP36_CH,MOISTURE_CH,DRY_RAW,WET_RAW,LED_GPIO,RELAY_GPIO,FLAGS\n"
    "                 [-h host] [-p port] [--adc FILE|-] [--interval SEC] [--qos 0|1|2] [-k keepalive]\n"
    "                 [--deadband CENTI_C,PERCENT] [--state FILE] [-d]\n"
    "       telemetry-" WASMQTT_PROFILE " --memory\n\n"
    " -h, --host HOST        broker host (default localhost)\n"
    " -p, --port PORT        broker port (default 1883)\n"
    "     --id ID            device id: 1-32 of A-Z a-z 0-9 - _ (topics devices/ID/...)\n"
    "     --board LIST       boardConfigure's ten arguments from the board file (boards/ABI.md):\n"
    "                        adc.bits, adc.referenceMv, adc.dividerRatio x 1000, the TMP36 and moisture\n"
    "                        channels, calibration dryRaw and wetRaw, the LED and relay GPIOs, and\n"
    "                        flags (1 LED active low, 2 relay active low)\n"
    "     --adc FILE|-       raw readings, one per logical channel separated by spaces: a file re-read\n"
    "                        at every reading, or - for lines on stdin (default: all 0)\n"
    "     --interval SEC     seconds between readings (default 60)\n"
    "     --qos 0|1|2        QoS of the telemetry (default 1)\n"
    " -k, --keepalive SEC    keepalive (default 60)\n"
    "     --deadband C,P     publish only when the temperature moved C hundredths of a degree or\n"
    "                        the moisture P percent (default 0,0: every reading)\n"
    "     --state FILE       keep the session in FILE (two slots, fsynced at each change): readings\n"
    "                        not yet delivered survive a crash or power loss and go after the restart\n"
    " -d, --debug            print the module's events on stderr\n"
    "     --memory           print the linear memory size and the module's static data end\n\n"
    "GPIO writes are printed on stdout as \"gpio PIN LEVEL\".";

static bool debug;

__attribute__((noreturn, format(printf, 1, 2))) static void usage_error(const char* format, ...) {
  va_list arguments;
  va_start(arguments, format);
  fputs("Error: ", stderr);
  vfprintf(stderr, format, arguments);
  va_end(arguments);
  fprintf(stderr, "\n\nUse 'telemetry-%s --help' to see usage.\n", WASMQTT_PROFILE);
  exit(1);
}

/** `count` comma-separated whole numbers into `values`; a usage error naming the flag otherwise. */
static void number_list(const char* text, const char* name, uint32_t* values, int count) {
  const char* cursor = text;
  for (int i = 0; i < count; i++) {
    char* end;
    if (*cursor < '0' || *cursor > '9') usage_error("Invalid --%s '%s': expected %d comma-separated whole numbers.", name, text, count);
    unsigned long value = strtoul(cursor, &end, 10);
    if (value > UINT32_MAX || (i < count - 1 ? *end != ',' : *end != '\0')) {
      usage_error("Invalid --%s '%s': expected %d comma-separated whole numbers.", name, text, count);
    }
    values[i] = (uint32_t)value;
    cursor = end + 1;
  }
}

void app_event(uint32_t kind, int32_t code, uint32_t arg) {
  if (debug) fprintf(stderr, "event %u code %d (%s) arg %u\n", (unsigned)kind, (int)code, wasmqtt_status_name(code), (unsigned)arg);
}

void app_message(const uint8_t* topic, uint32_t topic_len, const uint8_t* payload, uint32_t payload_len, uint32_t flags) {
  (void)flags;
  if (debug) fprintf(stderr, "message %.*s %.*s\n", (int)topic_len, (const char*)topic, (int)payload_len, (const char*)payload);
}

void app_packet(uint32_t direction, uint32_t header, uint32_t packet_id, uint32_t remaining_length) {
  (void)direction;
  (void)header;
  (void)packet_id;
  (void)remaining_length;
}

/** Restores the session saved in `path` before the firmware configures itself; warns when it was refused (it then starts empty). */
static void restore_session(const char* path) {
  posix_set_state_file(path);
  int32_t status = persist_restore();
  if (posix_state_error() != NULL) fprintf(stderr, "Warning: %s.\n", posix_state_error());
  if (status < 0) fprintf(stderr, "Warning: %s: %s (%s).\n", path, wasmqtt_status_text(status), wasmqtt_status_name(status));
  if (status == WASMQTT_OK && debug) fprintf(stderr, "restored sequence %u\n", (unsigned)persist_sequence());
}

/** After module calls: saves the session when it changed; a failure is reported once until a save works again. */
static void save_session(void) {
  static bool failing;
  int32_t saved = persist_save_if_changed();
  if (saved > 0 && debug) fprintf(stderr, "saved sequence %u, outbox %u bytes\n", (unsigned)persist_sequence(), (unsigned)link_stat(STAT_OUTBOX_USED));
  if (saved < 0 && !failing) fprintf(stderr, "Warning: the session was not saved: %s.\n", posix_state_error());
  if (saved != 0) failing = saved < 0;
}

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "--memory") == 0) {
    link_open();
    printf("linear memory %u bytes, __heap_base %u, staticDataEnd() %u\n", (unsigned)wasmqtt_memory_bytes(),
           (unsigned)*Z_wasmqttZ___heap_base(link_module()), (unsigned)Z_wasmqttZ_staticDataEnd(link_module()));
    return 0;
  }
  const char* host = "localhost";
  const char* port = "1883";
  const char* id = NULL;
  const char* board_text = NULL;
  const char* state = NULL;
  uint32_t interval = 60, qos = 1, keepalive = 60, deadband[2] = {0, 0};
  static const struct option LONG_OPTIONS[] = {
      {"help", no_argument, NULL, 'H'},  {"host", required_argument, NULL, 'h'},     {"port", required_argument, NULL, 'p'},
      {"id", required_argument, NULL, 'i'}, {"board", required_argument, NULL, 'b'}, {"adc", required_argument, NULL, 'a'},
      {"interval", required_argument, NULL, 'I'}, {"qos", required_argument, NULL, 'q'}, {"keepalive", required_argument, NULL, 'k'},
      {"deadband", required_argument, NULL, 'D'}, {"debug", no_argument, NULL, 'd'}, {"state", required_argument, NULL, 'S'},
      {NULL, 0, NULL, 0},
  };
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":h:p:k:d", LONG_OPTIONS, NULL)) != -1) {
    switch (c) {
      case 'H': puts(HELP); return 0;
      case 'h': host = optarg; break;
      case 'p': number_list(optarg, "port", (uint32_t[1]){0}, 1); port = optarg; break;
      case 'i': id = optarg; break;
      case 'b': board_text = optarg; break;
      case 'a': board_linux_set_adc_source(optarg); break;
      case 'I': number_list(optarg, "interval", &interval, 1); break;
      case 'q': number_list(optarg, "qos", &qos, 1); break;
      case 'k': number_list(optarg, "keepalive", &keepalive, 1); break;
      case 'D': number_list(optarg, "deadband", deadband, 2); break;
      case 'd': debug = true; break;
      case 'S':
        if (optarg[0] == '\0') usage_error("The state file (--state) cannot be empty.");
        state = optarg;
        break;
      case ':': usage_error("Option '%s' needs a value.", argv[optind - 1]);
      default: usage_error("Unknown option '%s'.", argv[optind - 1]);
    }
  }
  if (optind < argc) usage_error("Unexpected argument '%s'.", argv[optind]);
  if (id == NULL) usage_error("The device id (--id) is required.");
  if (board_text == NULL) usage_error("The board (--board) is required.");
  uint32_t b[10];
  number_list(board_text, "board", b, 10);
  struct board_config board = {b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9]};
  struct app_config app = {id, interval, deadband[0], deadband[1], keepalive, qos};

  posix_set_broker(host, port);
  posix_catch_signals();
  link_open();
  if (state != NULL) restore_session(state);
  int32_t status = firmware_start(&board, &app);
  if (status < 0 && firmware_refused_by == 1) {
    usage_error("boardConfigure refused --board '%s' (%s): inconsistent ADC, calibration or wiring.", board_text, wasmqtt_status_name(status));
  }
  if (status < 0 && firmware_refused_by == 2) {
    usage_error("appConfigure refused --id '%s' --interval %u --qos %u (%s): the id must be 1-32 of A-Z a-z 0-9 - _, the interval 1-86400 s, the QoS 0-2.",
                id, (unsigned)interval, (unsigned)qos, wasmqtt_status_name(status));
  }
  if (status < 0) usage_error("appStart refused (%s).", wasmqtt_status_name(status));
  struct pollfd input = {.fd = STDIN_FILENO, .events = POLLIN, .revents = 0};
  bool reading_stdin = board_linux_reads_stdin();
  while (!posix_interrupted()) {
    posix_step(&input, reading_stdin ? 1 : 0, UINT32_MAX);
    if (state != NULL) save_session();
    if (reading_stdin && (input.revents & (POLLIN | POLLHUP)) != 0) reading_stdin = board_linux_read_stdin();
  }
  // appStop writes `offline` and DISCONNECT and closes the connection: nothing is left to drive
  firmware_stop();
  if (state != NULL) save_session();
  return 0;
}
