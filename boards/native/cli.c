/*
 * wasmqtt-<profile>: `pub` and `sub` with the flags and exit statuses of the Node CLI
 * (host/cli/), on the client module compiled by wasm2c. This file parses the command
 * line, stages strings into the module, calls its exports and prints what it reports;
 * posix.c moves the bytes, persist.c keeps the session in the --state file. Exit
 * statuses: 0 done, 1 usage or runtime error, 1-5 the broker's CONNACK refusal code, 27
 * sub -W timed out.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "link.h"
#include "persist-posix.h"
#include "persist.h"
#include "posix.h"
#include "wasmqtt-platform.h"

#ifndef WASMQTT_PROFILE
#error "define WASMQTT_PROFILE: the module's profile name"
#endif

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_TIMEOUT = 27 };
/** CONNACK refusals are CONNACK_REFUSED_BASE - return code (boards/ABI.md). */
enum { CONNACK_REFUSED_BASE = -20 };
/** `configure` flags (boards/ABI.md). */
enum { CONFIGURE_CLEAN = 1, CONFIGURE_USERNAME = 2, CONFIGURE_PASSWORD = 4, CONFIGURE_WILL = 8, CONFIGURE_WILL_RETAIN = 16, CONFIGURE_WILL_QOS_SHIFT = 5 };
/** `onMessage` flags: bit 0 retain. */
enum { MESSAGE_RETAIN = 1 };
/** MQTT 3.1.1 §3.1.3.1: servers must accept client ids of 1-23 characters. */
enum { MAX_PORTABLE_CLIENT_ID = 23 };
/** The most filters one `sub` takes. */
enum { MAX_FILTERS = 16 };
/** SUBACK failure return code (MQTT 3.1.1 §3.9.3). */
enum { SUBACK_FAILURE = 0x80 };
/** How long the module may take for TCP connect + CONNACK before CONNECT_TIMEOUT (its default). */
enum { CONNECT_TIMEOUT_MS = 10000 };
/** The longest line `pub -l` reads; a longer one is an error naming its number. */
enum { MAX_LINE = 65536 };

/** What the command line asked for. */
static struct {
  bool is_pub;
  const char* host;
  const char* port;
  const char* id;
  const char* id_prefix;
  uint32_t keepalive;
  bool clean;
  const char* username;
  const char* password;
  const char* will_topic;
  const char* will_payload;
  uint32_t will_qos;
  bool will_retain;
  uint32_t qos;
  bool debug;
  bool quiet;
  const char* state;
  // pub
  const char* topic;
  const char* message;
  const char* file;
  bool stdin_file;
  bool stdin_line;
  bool null_message;
  bool retain;
  // sub
  const char* filters[MAX_FILTERS];
  uint32_t filter_count;
  uint64_t count;
  uint32_t timeout_sec;
  bool verbose;
  bool eol;
  bool skip_retained;
  bool exit_on_subscribed;
} options = {.host = "localhost", .port = "1883", .keepalive = 60, .clean = true, .eol = true};

static char client_id[64];

/** What the module reported during the last step. */
static struct {
  bool ever_connected;
  uint32_t connects;
  int32_t failure;  // CONNECT_FAILED on the first attempt, or CLOSED with reconnect off
  uint32_t failure_arg;
  bool closed;
  int32_t published_id;
  bool published;
  uint32_t granted[MAX_FILTERS];
  uint32_t granted_count;
  uint64_t received;
} seen;

// ---- messages --------------------------------------------------------------------

static const char* command_name(void) {
  return options.is_pub ? "pub" : "sub";
}

__attribute__((noreturn, format(printf, 1, 2))) static void usage_error(const char* format, ...) {
  va_list arguments;
  va_start(arguments, format);
  fputs("Error: ", stderr);
  vfprintf(stderr, format, arguments);
  va_end(arguments);
  fprintf(stderr, "\n\nUse 'wasmqtt-%s %s --help' to see usage.\n", WASMQTT_PROFILE, command_name());
  exit(EXIT_ERROR);
}

__attribute__((format(printf, 1, 2))) static void runtime_error(const char* format, ...) {
  if (options.quiet) return;
  va_list arguments;
  va_start(arguments, format);
  fputs("Error: ", stderr);
  vfprintf(stderr, format, arguments);
  va_end(arguments);
  fputc('\n', stderr);
}

/** Prints why the connection could not be made and returns the exit status for it. */
static int connect_failure(int32_t status, uint32_t return_code) {
  const char* broker = posix_broker_name();
  if (status == WASMQTT_CONNECTION_REFUSED) {
    const char* detail = posix_last_error();
    runtime_error("cannot connect to %s%s%s (%s)", broker, detail ? ": " : "", detail ? detail : "", wasmqtt_status_name(status));
  } else if (status == WASMQTT_CONNECT_TIMEOUT) {
    runtime_error("no CONNACK from %s within %d ms (%s)", broker, CONNECT_TIMEOUT_MS, wasmqtt_status_name(status));
  } else if (status <= CONNACK_REFUSED_BASE - 1 && status >= CONNACK_REFUSED_BASE - 255) {
    runtime_error("%s: %s (CONNACK return code %u) (%s)", broker, wasmqtt_status_text(status), (unsigned)return_code, wasmqtt_status_name(status));
    return CONNACK_REFUSED_BASE - status;
  } else {
    runtime_error("the connection to %s ended: %s (%s)", broker, wasmqtt_status_text(status), wasmqtt_status_name(status));
  }
  return EXIT_ERROR;
}

static const char* const PUB_HELP =
    "wasmqtt-" WASMQTT_PROFILE " pub: publish a message to an MQTT 3.1.1 broker and exit (native build).\n\n"
    "Usage: wasmqtt-" WASMQTT_PROFILE " pub [-h host] [-p port] [-u username [-P password]] -t topic\n"
    "                   {-m message | -f file | -s | -l | -n} [-q qos] [-r] [-c] [-i id | -I id-prefix]\n"
    "                   [-k keepalive] [-d] [--quiet] [--state file]\n"
    "                   [--will-topic topic [--will-payload payload] [--will-qos qos] [--will-retain]]\n\n"
    " -t, --topic TOPIC      topic to publish to (no wildcards)\n"
    " -m, --message TEXT     the message\n"
    " -f, --file FILE        send the contents of FILE as the message\n"
    " -s, --stdin-file       send all of stdin as one message\n"
    " -l, --stdin-line       send each line of stdin as a message, queued as it is read; exits\n"
    "                        once stdin ended and every message is delivered\n"
    " -n, --null-message     send a zero-length message\n"
    " -q, --qos 0|1|2        quality of service (default 0); exits once the flow is complete\n"
    " -r, --retain           ask the broker to retain the message\n";

static const char* const SUB_HELP =
    "wasmqtt-" WASMQTT_PROFILE " sub: subscribe to MQTT 3.1.1 topic filters and print the messages (native build).\n\n"
    "Usage: wasmqtt-" WASMQTT_PROFILE " sub [-h host] [-p port] [-u username [-P password]] -t topic ...\n"
    "                   [-q qos] [-v] [-N] [-R] [-C count] [-W timeout] [-E] [-c] [-i id | -I id-prefix]\n"
    "                   [-k keepalive] [-d] [--quiet] [--state file]\n"
    "                   [--will-topic topic [--will-payload payload] [--will-qos qos] [--will-retain]]\n\n"
    " -t, --topic FILTER     topic filter to subscribe to (\"+\" and \"#\" wildcards); repeatable\n"
    " -q, --qos 0|1|2        maximum QoS to receive (default 0)\n"
    " -v, --verbose          print \"topic payload\" instead of the payload alone\n"
    " -N, --no-eol           print no newline after each payload\n"
    " -R, --no-retained      skip (and do not count) retained messages\n"
    " -C, --count N          exit after N messages\n"
    " -W, --timeout SEC      exit with status 27 if the messages have not all arrived after SEC\n"
    "                        seconds (counted from the first CONNACK)\n"
    " -E, --exit-on-subscribed\n"
    "                        exit once the broker has acknowledged the subscriptions\n";

static const char* const CONNECTION_HELP =
    " -h, --host HOST        broker host (default localhost)\n"
    " -p, --port PORT        broker port (default 1883)\n"
    " -i, --id ID            client id (default wasmqtt- and random characters)\n"
    " -I, --id-prefix PREFIX client id is PREFIX followed by the process id\n"
    " -k, --keepalive SEC    keepalive in seconds, 0 to disable (default 60)\n"
    " -u, --username NAME    username\n"
    " -P, --pw PASSWORD      password (needs -u)\n"
    " -c, --disable-clean-session\n"
    "                        keep the session on the broker after disconnecting (needs -i or -I)\n"
    " -d, --debug            print every MQTT packet sent and received (on stderr)\n"
    "     --quiet            print no runtime errors (usage errors are still printed)\n"
    "     --will-topic TOPIC, --will-payload TEXT, --will-qos 0|1|2, --will-retain\n"
    "                        the message the broker publishes if this client disconnects\n"
    "                        unexpectedly\n"
    "     --state FILE       keep the session in FILE: what is not yet delivered (and,\n"
    "                        with -c, the broker session's packet ids) survives this process\n"
    "                        and is sent by the next run with the same FILE\n"
    "     --help             this text\n\n"
    "Exit status: 0 done, 1 usage or runtime error, 1-5 the broker's CONNACK refusal code";

// ---- the command line --------------------------------------------------------------

/** A whole number in [min, max]; a usage error naming the flag and the value otherwise. */
static uint64_t whole_number(const char* text, const char* name, uint64_t min, uint64_t max) {
  bool digits = text[0] != '\0';
  for (const char* c = text; *c != '\0'; c++) digits = digits && *c >= '0' && *c <= '9';
  errno = 0;
  unsigned long long value = digits ? strtoull(text, NULL, 10) : 0;
  if (!digits || errno != 0 || value < min || value > max) {
    usage_error("Invalid --%s '%s': it must be a whole number from %llu to %llu.", name, text, (unsigned long long)min,
                (unsigned long long)max);
  }
  return value;
}

enum { OPT_HELP = 256, OPT_QUIET, OPT_WILL_TOPIC, OPT_WILL_PAYLOAD, OPT_WILL_QOS, OPT_WILL_RETAIN, OPT_STATE };

static const struct option LONG_OPTIONS[] = {
    {"help", no_argument, NULL, OPT_HELP},
    {"host", required_argument, NULL, 'h'},
    {"port", required_argument, NULL, 'p'},
    {"id", required_argument, NULL, 'i'},
    {"id-prefix", required_argument, NULL, 'I'},
    {"keepalive", required_argument, NULL, 'k'},
    {"username", required_argument, NULL, 'u'},
    {"pw", required_argument, NULL, 'P'},
    {"disable-clean-session", no_argument, NULL, 'c'},
    {"qos", required_argument, NULL, 'q'},
    {"debug", no_argument, NULL, 'd'},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"will-topic", required_argument, NULL, OPT_WILL_TOPIC},
    {"will-payload", required_argument, NULL, OPT_WILL_PAYLOAD},
    {"will-qos", required_argument, NULL, OPT_WILL_QOS},
    {"will-retain", no_argument, NULL, OPT_WILL_RETAIN},
    {"state", required_argument, NULL, OPT_STATE},
    {"topic", required_argument, NULL, 't'},
    {"message", required_argument, NULL, 'm'},
    {"file", required_argument, NULL, 'f'},
    {"stdin-file", no_argument, NULL, 's'},
    {"stdin-line", no_argument, NULL, 'l'},
    {"null-message", no_argument, NULL, 'n'},
    {"retain", no_argument, NULL, 'r'},
    {"count", required_argument, NULL, 'C'},
    {"verbose", no_argument, NULL, 'v'},
    {"timeout", required_argument, NULL, 'W'},
    {"no-eol", no_argument, NULL, 'N'},
    {"no-retained", no_argument, NULL, 'R'},
    {"exit-on-subscribed", no_argument, NULL, 'E'},
    {NULL, 0, NULL, 0},
};

/** True when flag `c` belongs to the other command. */
static bool foreign_flag(int c) {
  const char* pub_only = "mfslnr";
  const char* sub_only = "CvWNRE";
  return strchr(options.is_pub ? sub_only : pub_only, c) != NULL;
}

static void parse(int argc, char** argv) {
  bool will_flags = false;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":h:p:i:I:k:u:P:cq:dt:m:f:slnrC:vW:NRE", LONG_OPTIONS, NULL)) != -1) {
    if (c != '?' && c != ':' && c < 256 && foreign_flag(c)) usage_error("Unknown option '%s'.", argv[optind - 1]);
    switch (c) {
      case OPT_HELP:
        printf("%s%s.\n", options.is_pub ? PUB_HELP : SUB_HELP, CONNECTION_HELP);
        exit(EXIT_OK);
      case 'h': options.host = optarg; break;
      case 'p': options.port = optarg; whole_number(optarg, "port", 1, 65535); break;
      case 'i': options.id = optarg; break;
      case 'I': options.id_prefix = optarg; break;
      case 'k': options.keepalive = (uint32_t)whole_number(optarg, "keepalive", 0, 65535); break;
      case 'u': options.username = optarg; break;
      case 'P': options.password = optarg; break;
      case 'c': options.clean = false; break;
      case 'q': options.qos = (uint32_t)whole_number(optarg, "qos", 0, 2); break;
      case 'd': options.debug = true; break;
      case OPT_QUIET: options.quiet = true; break;
      case OPT_WILL_TOPIC: options.will_topic = optarg; break;
      case OPT_WILL_PAYLOAD: options.will_payload = optarg; will_flags = true; break;
      case OPT_WILL_QOS: options.will_qos = (uint32_t)whole_number(optarg, "will-qos", 0, 2); will_flags = true; break;
      case OPT_WILL_RETAIN: options.will_retain = true; will_flags = true; break;
      case OPT_STATE:
        if (optarg[0] == '\0') usage_error("The state file (--state) cannot be empty.");
        options.state = optarg;
        break;
      case 't':
        if (options.is_pub) {
          options.topic = optarg;
        } else {
          bool again = false;  // a filter given twice is subscribed once, as the Node CLI does
          for (uint32_t i = 0; i < options.filter_count; i++) again = again || strcmp(options.filters[i], optarg) == 0;
          if (again) break;
          if (options.filter_count == MAX_FILTERS) usage_error("At most %d topic filters (-t): '%s' is one too many.", MAX_FILTERS, optarg);
          options.filters[options.filter_count++] = optarg;
        }
        break;
      case 'm': options.message = optarg; break;
      case 'f': options.file = optarg; break;
      case 's': options.stdin_file = true; break;
      case 'l': options.stdin_line = true; break;
      case 'n': options.null_message = true; break;
      case 'r': options.retain = true; break;
      case 'C': options.count = whole_number(optarg, "count", 1, UINT64_MAX >> 11); break;
      case 'v': options.verbose = true; break;
      case 'W': options.timeout_sec = (uint32_t)whole_number(optarg, "timeout", 1, 2000000); break;
      case 'N': options.eol = false; break;
      case 'R': options.skip_retained = true; break;
      case 'E': options.exit_on_subscribed = true; break;
      case ':': usage_error("Option '%s' needs a value.", argv[optind - 1]);
      default: usage_error("Unknown option '%s'.", argv[optind - 1]);
    }
  }
  if (optind < argc) usage_error("Unexpected argument '%s'.", argv[optind]);
  if (options.password != NULL && options.username == NULL) {
    usage_error("A password (-P) needs a username (-u): MQTT 3.1.1 §3.1.2.9.");
  }
  if (options.will_topic == NULL && will_flags) usage_error("--will-payload, --will-qos and --will-retain need --will-topic.");
  if (options.id != NULL && options.id_prefix != NULL) usage_error("-i and -I cannot be used together.");
  if (!options.clean && options.id == NULL && options.id_prefix == NULL) {
    usage_error("You must provide a client id (-i or -I) if you are using the -c option.");
  }
  if (options.id != NULL && options.id[0] == '\0') usage_error("The client id (-i) cannot be empty.");
  if (options.is_pub) {
    int sources = (options.message != NULL) + (options.file != NULL) + options.stdin_file + options.stdin_line + options.null_message;
    if (options.topic == NULL || sources == 0) usage_error("Both topic and message must be supplied.");
    if (sources > 1) usage_error("Only one type of message can be sent at once (-m, -f, -s, -l or -n).");
  } else if (options.filter_count == 0) {
    usage_error("You must specify a topic to subscribe to.");
  }
}

/** -i, -I + pid, or wasmqtt- and 12 random characters (20 in all, within 23). */
static const char* choose_client_id(void) {
  if (options.id != NULL) return options.id;
  if (options.id_prefix != NULL) {
    snprintf(client_id, sizeof client_id, "%s%ld", options.id_prefix, (long)getpid());
    return client_id;
  }
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  strcpy(client_id, "wasmqtt-");
  size_t length = strlen(client_id);
  while (length < 20) client_id[length++] = alphabet[wasmqtt_random() % (sizeof alphabet - 1)];
  client_id[length < MAX_PORTABLE_CLIENT_ID ? length : MAX_PORTABLE_CLIENT_ID] = '\0';
  return client_id;
}

// ---- staging strings into the module ------------------------------------------------

/** Appends `len` bytes to the staging buffer at `*used`; false when they do not fit. */
static bool stage(uint8_t* staging, uint32_t capacity, uint32_t* used, const void* bytes, size_t len) {
  if (len > capacity - *used) return false;
  memcpy(staging + *used, bytes, len);
  *used += (uint32_t)len;
  return true;
}

/** Reads all of `file` (already open) into the staging buffer after `*used`; -1 on a read error, -2 when it does not fit. */
static int stage_stream(FILE* file, uint8_t* staging, uint32_t capacity, uint32_t* used) {
  for (;;) {
    size_t room = capacity - *used;
    size_t n = fread(staging + *used, 1, room, file);
    *used += (uint32_t)n;
    if (n < room) return ferror(file) ? -1 : 0;
    if (fgetc(file) != EOF) return -2;
    return 0;
  }
}

static void configure(uint32_t reconnect_min_ms, uint32_t reconnect_max_ms, bool reconnect) {
  uint32_t capacity;
  uint8_t* staging = link_staging(&capacity);
  const char* fields[5] = {choose_client_id(), options.username ? options.username : "", options.password ? options.password : "",
                           options.will_topic ? options.will_topic : "", options.will_payload ? options.will_payload : ""};
  uint32_t lengths[5];
  uint32_t used = 0;
  for (int i = 0; i < 5; i++) {
    lengths[i] = (uint32_t)strlen(fields[i]);
    if (!stage(staging, capacity, &used, fields[i], lengths[i])) {
      runtime_error("client id, username, password and will together exceed the %s profile's staging buffer of %u bytes (PACKET_TOO_LARGE)",
                    WASMQTT_PROFILE, (unsigned)capacity);
      exit(EXIT_ERROR);
    }
  }
  uint32_t flags = options.clean ? CONFIGURE_CLEAN : 0;
  if (options.username != NULL) flags |= CONFIGURE_USERNAME;
  if (options.password != NULL) flags |= CONFIGURE_PASSWORD;
  if (options.will_topic != NULL) {
    flags |= CONFIGURE_WILL | (options.will_retain ? CONFIGURE_WILL_RETAIN : 0) | options.will_qos << CONFIGURE_WILL_QOS_SHIFT;
  }
  int32_t status = (int32_t)Z_wasmqttZ_configure(link_module(), lengths[0], lengths[1], lengths[2], lengths[3], lengths[4], flags,
                                                 options.keepalive);
  if (status < 0) {
    runtime_error("the module refused the CONNECT fields: %s (%s)", wasmqtt_status_text(status), wasmqtt_status_name(status));
    exit(EXIT_ERROR);
  }
  Z_wasmqttZ_setReconnect(link_module(), reconnect_min_ms, reconnect_max_ms, reconnect ? 1 : 0);
}

// ---- what the module reports (called inside module calls: record, print, never call back) ----

static const char* const PACKET_TYPES[16] = {
    "RESERVED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
    "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH",
};

void app_packet(uint32_t direction, uint32_t header, uint32_t packet_id, uint32_t remaining_length) {
  if (!options.debug) return;
  fprintf(stderr, "Client %s %s %s (m%u, flags %u, %u bytes)\n", client_id[0] ? client_id : options.id,
          direction == 0 ? "received" : "sending", PACKET_TYPES[(header >> 4) & 15], (unsigned)packet_id, (unsigned)(header & 15),
          (unsigned)remaining_length);
}

void app_message(const uint8_t* topic, uint32_t topic_len, const uint8_t* payload, uint32_t payload_len, uint32_t flags) {
  if (options.is_pub || (options.skip_retained && (flags & MESSAGE_RETAIN) != 0)) return;
  if (options.count != 0 && seen.received >= options.count) return;
  if (options.verbose) {
    fwrite(topic, 1, topic_len, stdout);
    fputc(' ', stdout);
  }
  fwrite(payload, 1, payload_len, stdout);
  if (options.eol) fputc('\n', stdout);
  fflush(stdout);
  seen.received++;
}

void app_event(uint32_t kind, int32_t code, uint32_t arg) {
  switch (kind) {
    case EVENT_CONNECTED:
      seen.connects++;
      if (options.debug || (seen.connects > 1 && !options.quiet)) {
        fprintf(stderr, "%s (session present: %u).\n", seen.connects > 1 ? "Reconnected" : "Connected", (unsigned)arg);
      }
      seen.ever_connected = true;
      return;
    case EVENT_CONNECT_FAILED:
      if (!seen.ever_connected && seen.failure == 0) {
        seen.failure = code;
        seen.failure_arg = arg;
      }
      return;
    case EVENT_CONNECTION_LOST:
      if (!options.quiet && !options.is_pub) {
        fprintf(stderr, "Warning: connection to %s lost: %s (%s); reconnecting.\n", posix_broker_name(), wasmqtt_status_text(code),
                wasmqtt_status_name(code));
      }
      return;
    case EVENT_PUBLISH_DONE:
      if ((int32_t)arg == seen.published_id) seen.published = true;
      return;
    case EVENT_SUBACK: {
      uint32_t index = arg >> 16;
      if (index < options.filter_count && seen.granted_count < options.filter_count) {
        seen.granted[index] = (uint32_t)code;
        seen.granted_count++;
      }
      return;
    }
    case EVENT_CLOSED:
      seen.closed = true;
      if (code != WASMQTT_CLIENT_STOPPED && seen.failure == 0) seen.failure = code;
      return;
    default:
      return;
  }
}

// ---- the saved session (--state) -----------------------------------------------------

/** True while saves fail, so a failing disk is reported once, not at every turn. */
static bool save_failing;

/** The client id as packets name it. */
static const char* shown_id(void) {
  return client_id[0] ? client_id : options.id;
}

/** Restores the session saved in the --state file, before configure; warns when it was refused (the client then starts empty). */
static void restore_session(void) {
  if (options.state == NULL) return;
  posix_set_state_file(options.state);
  int32_t status = persist_restore();
  const char* error = posix_state_error();
  if (error != NULL && !options.quiet) fprintf(stderr, "Warning: %s.\n", error);
  if (status < 0 && !options.quiet) {
    fprintf(stderr, "Warning: %s: %s (%s).\n", options.state, wasmqtt_status_text(status), wasmqtt_status_name(status));
  }
  if (status == WASMQTT_OK && options.debug) {
    fprintf(stderr, "Restored the session from %s (sequence %u, outbox %u bytes).\n", options.state, (unsigned)persist_sequence(),
            (unsigned)link_stat(STAT_OUTBOX_USED));
  }
}

/** After module calls: saves the session to the --state file when it changed. */
static void save_session(void) {
  if (options.state == NULL) return;
  int32_t saved = persist_save_if_changed();
  if (saved > 0) {
    save_failing = false;
    if (options.debug) {
      fprintf(stderr, "Client %s saved the session (sequence %u, slot %c).\n", shown_id(), (unsigned)persist_sequence(),
              (persist_sequence() & 1) != 0 ? 'B' : 'A');
    }
  } else if (saved < 0 && !save_failing) {
    save_failing = true;
    if (!options.quiet) fprintf(stderr, "Warning: the session was not saved: %s.\n", posix_state_error());
  }
}

// ---- the commands --------------------------------------------------------------------

/** Ends cleanly (DISCONNECT when connected), saves the session and exits with `status`. */
__attribute__((noreturn)) static void finish(int status) {
  Z_wasmqttZ_stop(link_module(), wasmqtt_now_ms());
  save_session();
  exit(status);
}

/** Stages the topic and `len` payload bytes and hands them to publish; its status, or PACKET_TOO_LARGE when they exceed staging. */
static int32_t publish_bytes(const uint8_t* payload, uint32_t len) {
  uint32_t capacity;
  uint8_t* staging = link_staging(&capacity);
  uint32_t used = 0;
  size_t topic_len = strlen(options.topic);
  if (!stage(staging, capacity, &used, options.topic, topic_len) || !stage(staging, capacity, &used, payload, len)) {
    return WASMQTT_PACKET_TOO_LARGE;
  }
  return (int32_t)Z_wasmqttZ_publish(link_module(), (uint32_t)topic_len, len, options.qos, options.retain ? 1 : 0, wasmqtt_now_ms());
}

/** `-l`: stdin read into lines, each published as it is complete. */
static struct {
  uint8_t bytes[MAX_LINE];
  uint32_t used;
  /** Lines published so far. */
  uint32_t published;
  bool ended;
} input;

/** The length of the first whole line in the buffer (without its newline), or -1; at the end of stdin the rest is a line. */
static int64_t first_line(void) {
  const uint8_t* newline = memchr(input.bytes, '\n', input.used);
  if (newline != NULL) return newline - input.bytes;
  return input.ended && input.used > 0 ? (int64_t)input.used : -1;
}

/** Publishes the whole lines read, in order, until none is left or the outbox is full (the line then waits for room). */
static void offer_lines(void) {
  for (int64_t length = first_line(); length >= 0; length = first_line()) {
    uint32_t payload_len = (uint32_t)length;
    if (payload_len > 0 && input.bytes[payload_len - 1] == '\r') payload_len--;
    int32_t result = publish_bytes(input.bytes, payload_len);
    if (result == WASMQTT_OUTBOX_FULL) return;
    if (result < 0) {
      runtime_error("line %u of stdin, topic '%s': %s (%s)", (unsigned)input.published + 1, options.topic, wasmqtt_status_text(result),
                    wasmqtt_status_name(result));
      finish(EXIT_ERROR);
    }
    input.published++;
    uint32_t consumed = (uint32_t)length < input.used ? (uint32_t)length + 1 : input.used;
    memmove(input.bytes, input.bytes + consumed, input.used - consumed);
    input.used -= consumed;
  }
}

/** Reads what stdin has (poll said it is ready). */
static void read_stdin(void) {
  if (input.used == sizeof input.bytes) {
    runtime_error("line %u of stdin is longer than %d bytes", (unsigned)input.published + 1, MAX_LINE);
    finish(EXIT_ERROR);
  }
  ssize_t n = read(STDIN_FILENO, input.bytes + input.used, sizeof input.bytes - input.used);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n < 0) {
    runtime_error("cannot read stdin: %s", strerror(errno));
    finish(EXIT_ERROR);
  }
  if (n == 0) input.ended = true;
  input.used += (uint32_t)n;
}

/** `pub -l`: lines queued as they are read, while the client connects; done when stdin ended and the outbox is empty. */
static int run_pub_lines(void) {
  Z_wasmqttZ_start(link_module(), wasmqtt_now_ms());
  bool end_reported = false;
  for (;;) {
    offer_lines();
    save_session();
    if (input.ended && !end_reported && first_line() < 0) {
      end_reported = true;
      if (options.debug) fprintf(stderr, "Client %s read %u lines; stdin ended.\n", shown_id(), (unsigned)input.published);
    }
    bool reading = !input.ended && first_line() < 0;
    struct pollfd ready = {.fd = STDIN_FILENO, .events = POLLIN, .revents = 0};
    posix_step(&ready, reading ? 1 : 0, UINT32_MAX);
    save_session();
    if (seen.failure != 0) finish(connect_failure(seen.failure, seen.failure_arg));
    if (reading && (ready.revents & (POLLIN | POLLHUP | POLLERR)) != 0) read_stdin();
    if (end_reported && seen.ever_connected && link_stat(STAT_OUTBOX_USED) == 0) finish(EXIT_OK);
  }
}

static int run_pub(void) {
  configure(1000, 60000, false);
  if (options.stdin_line) return run_pub_lines();
  uint32_t capacity;
  uint8_t* staging = link_staging(&capacity);
  uint32_t used = 0;
  size_t topic_len = strlen(options.topic);
  bool fits = stage(staging, capacity, &used, options.topic, topic_len);
  if (fits && options.message != NULL) fits = stage(staging, capacity, &used, options.message, strlen(options.message));
  if (fits && (options.file != NULL || options.stdin_file)) {
    FILE* file = options.file != NULL ? fopen(options.file, "rb") : stdin;
    if (file == NULL) usage_error("Unable to read file '%s': %s.", options.file, strerror(errno));
    int read = stage_stream(file, staging, capacity, &used);
    if (read == -1) usage_error("Unable to read file '%s': %s.", options.file ? options.file : "-", strerror(errno));
    fits = read == 0;
    if (file != stdin) fclose(file);
  }
  if (!fits) {
    runtime_error("topic and payload exceed the %s profile's staging buffer of %u bytes (PACKET_TOO_LARGE)", WASMQTT_PROFILE,
                  (unsigned)capacity);
    return EXIT_ERROR;
  }
  // handed to the module before connecting: it checks the topic now and sends the PUBLISH after the CONNACK
  int32_t result = (int32_t)Z_wasmqttZ_publish(link_module(), (uint32_t)topic_len, used - (uint32_t)topic_len, options.qos,
                                               options.retain ? 1 : 0, wasmqtt_now_ms());
  if (result < 0) {
    runtime_error("topic '%s': %s (%s)", options.topic, wasmqtt_status_text(result), wasmqtt_status_name(result));
    return EXIT_ERROR;
  }
  seen.published_id = result;
  save_session();
  Z_wasmqttZ_start(link_module(), wasmqtt_now_ms());
  for (;;) {
    posix_step(NULL, 0, UINT32_MAX);
    save_session();
    if (seen.failure != 0) {
      int status = connect_failure(seen.failure, seen.failure_arg);
      finish(status);
    }
    bool done = options.qos == 0 ? seen.ever_connected && link_stat(STAT_MESSAGES_ACKNOWLEDGED) >= 1 : seen.published;
    // with --state the messages restored from the file go too before the exit
    if (options.state != NULL) done = done && link_stat(STAT_OUTBOX_USED) == 0;
    if (done) finish(EXIT_OK);
  }
}

/** After the SUBACK: a warning per refused filter; exits when all were refused, or with -E. */
static void report_granted(void) {
  uint32_t refused = 0;
  for (uint32_t i = 0; i < options.filter_count; i++) {
    if (options.debug) fprintf(stderr, "Subscribed: %s (granted %s%u)\n", options.filters[i], seen.granted[i] == SUBACK_FAILURE ? "failure 0x" : "QoS ", (unsigned)(seen.granted[i] == SUBACK_FAILURE ? 80 : seen.granted[i]));
    if (seen.granted[i] != SUBACK_FAILURE) continue;
    refused++;
    if (!options.quiet) fprintf(stderr, "Warning: the broker refused the subscription to \"%s\".\n", options.filters[i]);
  }
  if (refused == options.filter_count) {
    if (!options.quiet) fprintf(stderr, "Error: All subscription requests were denied.\n");
    finish(EXIT_ERROR);
  }
  if (options.exit_on_subscribed) finish(EXIT_OK);
}

static int run_sub(void) {
  configure(1000, 30000, true);
  uint32_t capacity;
  uint8_t* staging = link_staging(&capacity);
  uint32_t used = 0;
  for (uint32_t i = 0; i < options.filter_count; i++) {
    size_t len = strlen(options.filters[i]);
    uint8_t header[2] = {(uint8_t)len, (uint8_t)(len >> 8)};  // u16 length, little-endian (boards/ABI.md)
    uint8_t qos = (uint8_t)options.qos;
    if (len > 0xffff || !stage(staging, capacity, &used, header, 2) || !stage(staging, capacity, &used, options.filters[i], len) ||
        !stage(staging, capacity, &used, &qos, 1)) {
      runtime_error("the topic filters exceed the %s profile's staging buffer of %u bytes (PACKET_TOO_LARGE)", WASMQTT_PROFILE,
                    (unsigned)capacity);
      return EXIT_ERROR;
    }
  }
  // handed to the module before connecting: it checks the filters now and subscribes after the CONNACK
  int32_t result = (int32_t)Z_wasmqttZ_subscribe(link_module(), options.filter_count, wasmqtt_now_ms());
  if (result < 0) {
    runtime_error("cannot subscribe to the topic filters: %s (%s)", wasmqtt_status_text(result), wasmqtt_status_name(result));
    return EXIT_ERROR;
  }
  save_session();
  posix_catch_signals();
  Z_wasmqttZ_start(link_module(), wasmqtt_now_ms());
  bool granted_reported = false;
  bool deadline_set = false;
  uint32_t deadline = 0;
  for (;;) {
    uint32_t wait = UINT32_MAX;
    if (deadline_set) {
      int32_t left = (int32_t)(deadline - wasmqtt_now_ms());
      if (left <= 0) {
        if (!options.quiet) fprintf(stderr, "Timed out\n");
        finish(EXIT_TIMEOUT);
      }
      wait = (uint32_t)left;
    }
    posix_step(NULL, 0, wait);
    save_session();
    if (seen.failure != 0) finish(connect_failure(seen.failure, seen.failure_arg));
    if (seen.ever_connected && options.timeout_sec != 0 && !deadline_set) {
      deadline = wasmqtt_now_ms() + options.timeout_sec * 1000u;
      deadline_set = true;
    }
    if (!granted_reported && seen.granted_count == options.filter_count) {
      granted_reported = true;
      report_granted();
    }
    if (options.count != 0 && seen.received >= options.count) finish(EXIT_OK);
    if (posix_interrupted()) finish(EXIT_OK);
  }
}

int main(int argc, char** argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0) {
    printf("wasmqtt-%s: MQTT 3.1.1 publish / subscribe on the %s client module, compiled to native code by wasm2c.\n\n"
           "Usage: wasmqtt-%s pub|sub [flags]\n       wasmqtt-%s {pub|sub} --help\n       wasmqtt-%s --memory\n",
           WASMQTT_PROFILE, WASMQTT_PROFILE, WASMQTT_PROFILE, WASMQTT_PROFILE, WASMQTT_PROFILE);
    return argc < 2 ? EXIT_ERROR : EXIT_OK;
  }
  if (strcmp(argv[1], "--memory") == 0) {
    link_open();
    printf("linear memory %u bytes, __heap_base %u, staticDataEnd() %u\n", (unsigned)wasmqtt_memory_bytes(),
           (unsigned)*Z_wasmqttZ___heap_base(link_module()), (unsigned)Z_wasmqttZ_staticDataEnd(link_module()));
    return EXIT_OK;
  }
  if (strcmp(argv[1], "pub") == 0) {
    options.is_pub = true;
  } else if (strcmp(argv[1], "sub") != 0) {
    fprintf(stderr, "Error: Unknown command '%s' (pub or sub).\n\nUse 'wasmqtt-%s --help' to see usage.\n", argv[1], WASMQTT_PROFILE);
    return EXIT_ERROR;
  }
  parse(argc - 1, argv + 1);
  posix_set_broker(options.host, options.port);
  link_open();
  restore_session();
  return options.is_pub ? run_pub() : run_sub();
}
