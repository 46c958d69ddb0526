/*
 * A libFuzzer target of the client module as native code: the wasm2c output of
 * build/client-<profile>.wasm (with its name section, see tests/fuzz/native/build.ts) and
 * boards/native/wasm-rt-static.c, the runtime every native build uses (static memory of
 * exactly __heap_base bytes, explicit bounds checks).
 *
 * One input: the module as after init() (memory image and instance restored), configured,
 * started, connected (netUp, a CONNACK), then the input's bytes as broker → client bytes
 * through rxBuffer / rxSpace / rxCommit, in chunks and with ticks the input's header
 * chooses; at the end netDown and a reconnect, so resends run too, or stop().
 *
 *   byte 0  mode: bit 0 the input brings its own CONNACK; bit 1 persistent session and a
 *           CONNACK with session present; bit 2 requests queued before start (QoS 1 and 2
 *           publishes, ids 1 and 2; a SUBSCRIBE of two filters, 3; an UNSUBSCRIBE, 4);
 *           bit 3 netSend takes at most THROTTLE_BYTES per call; bits 4–7 the seconds
 *           each tick advances the clock
 *   byte 1  first chunk size, byte 2 second chunk size (alternating; 0 = all that fits)
 *   byte 3  bits 0–2: a tick after every (n + 1) chunks; bit 3: the input ends with stop()
 *           (DISCONNECT) instead of a dropped connection and a reconnect; bit 4: the
 *           application publishes after every tick (QoS 0, 1, 2 in turn, ids from 1 or 5
 *           up, the payload as long as 4 × the chunk's size byte), so the broker's acks
 *           in the input meet a filling and wrapping outbox; bit 5: MQTT 5.0
 *           (setProtocol(5) before configure, a 5.0 CONNACK), bit 6 with it: Topic
 *           Aliases assigned to outbound PUBLISHes; bit 7: a host that saves the
 *           session (persistHoldPubrel(1), persistPrepare after every tick) and loses
 *           power before the end (the image kept, the module as after init(), a copy of
 *           the image with one byte changed and its CRC-32 made good again restored,
 *           then the image itself checked and restored, start), so the resends after it
 *           run from a restored session and crafted images meet the module's checks
 *   rest    the broker's bytes
 *
 * Findings abort(), so libFuzzer reports them: a wasm trap (wasm_rt_trap → wasmqtt_trap:
 * an out-of-bounds access, above __heap_base included, unreachable, call stack exhausted)
 * and each invariant below (`require`): the stats block (constant capacities, used ≤ high
 * water ≤ capacity, counters never going back, messagesDelivered = onMessage calls,
 * persistGeneration moved whenever a message was published or acknowledged),
 * rxSpace() within the buffer, the memory never moved or resized, at most
 * 2 × rxCapacity + 1000 import calls per export call, rxSpace() never stuck at 0, pointers
 * the module hands over inside its memory, delivered topics non-empty without U+0000 or
 * wildcards, events of a known kind, and the outbound stream framed as client packets
 * (MQTT 3.1.1 §2.2: CONNECT first, known types, fixed flags, no five-byte Remaining Length;
 * under 5.0 the acks and DISCONNECT may carry a Reason Code and properties, MQTT 5.0 §3.4.2)
 * sent only while the connection is up.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasmqtt.h"
#include "wasmqtt-platform.h"

/** Stats block indexes (boards/ABI.md, "Stats block"). */
enum {
  STAT_STATIC_BYTES = 0, STAT_RX_CAPACITY = 1, STAT_RX_HIGH_WATER = 2, STAT_TX_CAPACITY = 3, STAT_TX_HIGH_WATER = 4,
  STAT_TX_USED = 5, STAT_OUTBOX_CAPACITY = 6, STAT_OUTBOX_USED = 7, STAT_OUTBOX_HIGH_WATER = 8, STAT_OUTBOX_REJECTED = 9,
  STAT_INFLIGHT_CAPACITY = 10, STAT_INFLIGHT_USED = 11, STAT_SUBSCRIPTION_CAPACITY = 12, STAT_SUBSCRIPTION_USED = 13,
  STAT_INBOUND_QOS2_CAPACITY = 14, STAT_INBOUND_QOS2_USED = 15, STAT_PACKETS_SENT = 16, STAT_PACKETS_RECEIVED = 17,
  STAT_MESSAGES_PUBLISHED = 18, STAT_MESSAGES_ACKNOWLEDGED = 19, STAT_MESSAGES_DELIVERED = 20, STAT_RECONNECTS = 21,
  STAT_BYTES_SENT = 22, STAT_BYTES_RECEIVED = 23, STAT_STATE = 24, STAT_STAGING_CAPACITY = 25, STAT_MAX_TOPIC_LENGTH = 26,
  STAT_PROTOCOL_ERRORS = 27, STATS_FIELDS = 30,
};
/** The largest `state` (5 stopped) and event kind (11 AUTH), boards/ABI.md. */
enum { STATE_LAST = 5, EVENT_LAST = 11 };

static const int CONSTANT[] = {
  STAT_STATIC_BYTES, STAT_RX_CAPACITY, STAT_TX_CAPACITY, STAT_OUTBOX_CAPACITY, STAT_INFLIGHT_CAPACITY,
  STAT_SUBSCRIPTION_CAPACITY, STAT_INBOUND_QOS2_CAPACITY, STAT_STAGING_CAPACITY, STAT_MAX_TOPIC_LENGTH,
};
static const int MONOTONIC[] = {
  STAT_RX_HIGH_WATER, STAT_TX_HIGH_WATER, STAT_OUTBOX_HIGH_WATER, STAT_OUTBOX_REJECTED, STAT_PACKETS_SENT,
  STAT_PACKETS_RECEIVED, STAT_MESSAGES_PUBLISHED, STAT_MESSAGES_ACKNOWLEDGED, STAT_MESSAGES_DELIVERED, STAT_RECONNECTS,
  STAT_BYTES_SENT, STAT_BYTES_RECEIVED, STAT_PROTOCOL_ERRORS,
};
static const int BOUNDED[][2] = {
  {STAT_RX_HIGH_WATER, STAT_RX_CAPACITY}, {STAT_TX_USED, STAT_TX_HIGH_WATER}, {STAT_TX_HIGH_WATER, STAT_TX_CAPACITY},
  {STAT_OUTBOX_USED, STAT_OUTBOX_HIGH_WATER}, {STAT_OUTBOX_HIGH_WATER, STAT_OUTBOX_CAPACITY},
  {STAT_INFLIGHT_USED, STAT_INFLIGHT_CAPACITY}, {STAT_SUBSCRIPTION_USED, STAT_SUBSCRIPTION_CAPACITY},
  {STAT_INBOUND_QOS2_USED, STAT_INBOUND_QOS2_CAPACITY},
};

enum { MODE_OWN_CONNACK = 1, MODE_SESSION = 2, MODE_REQUESTS = 4, MODE_THROTTLE = 8 };
enum { HEADER_BYTES = 4, THROTTLE_BYTES = 16, KEEPALIVE_SEC = 10, CONNECT_TIMEOUT_MS = 5000, RECONNECT_MIN_MS = 100, RECONNECT_MAX_MS = 1000 };
enum { END_WITH_STOP = 8, PUBLISH_ON_TICK = 16, MQTT_5 = 32, TOPIC_ALIASES = 64, POWER_LOSS = 128 };
/** Statuses persistCheck may refuse an image with (boards/ABI.md, "Persistent state"). */
enum { STATUS_PERSIST_CORRUPT = -50, STATUS_PERSIST_VERSION = -51, STATUS_PERSIST_PROFILE = -52 };
/** The save image's header (boards/ABI.md, "Persistent state"): the CRC-32 field's offset, after it the rest. */
enum { IMAGE_CRC_AT = 16, IMAGE_HEADER_BYTES = 20 };
/** Statuses publish() may refuse an application's valid message with (boards/ABI.md, "Status codes"). */
enum { STATUS_PACKET_TOO_LARGE = -3, STATUS_OUTBOX_FULL = -4, STATUS_NO_PACKET_ID = -10 };
/** Ticks a reconnect may take before netOpen (each advances the clock past the backoff's maximum). */
enum { RECONNECT_TICKS = 8 };

#define require(condition, ...)                  \
  do {                                           \
    if (!(condition)) {                          \
      fprintf(stderr, "native fuzz: " __VA_ARGS__); \
      fputc('\n', stderr);                       \
      abort();                                   \
    }                                            \
  } while (0)

struct Z_host_instance_t {
  int unused;
};

static struct Z_host_instance_t host;
static Z_wasmqtt_instance_t instance;
/** The instance and its memory right after init(): every input starts from them. */
static Z_wasmqtt_instance_t initial_instance;
static uint8_t* initial_memory;
static uint8_t* memory_data;
static uint32_t memory_size;
static uint32_t staging, staging_capacity;
/** The persistent block, and room for one save image of it. */
static uint32_t persist_base, persist_length;
static uint8_t* saved_image;

/** The harness's view of one input's run. */
static struct {
  uint32_t now;
  uint32_t tick_ms;
  uint8_t mode;
  /** The input asked for MQTT 5.0 (byte 3, bit 5). */
  bool v5;
  uint32_t send_limit;
  bool open_requested;
  bool link_up;
  uint32_t imports;
  uint32_t import_limit;
  uint32_t messages;
  uint32_t stats[STATS_FIELDS];
  /** persistGeneration() at the last check. */
  uint32_t generation;
  /** Byte 3, bit 7: the session is saved after every tick. */
  bool saving;
} run;

/** The outbound stream's framing, per connection. */
static struct {
  enum { AT_HEADER, AT_LENGTH, AT_BODY } phase;
  uint8_t header;
  uint32_t length;
  uint32_t shift;
  uint32_t body;
  uint32_t packets;
} out;

void wasmqtt_trap(const char* why) {
  fprintf(stderr, "native fuzz: wasm trap: %s\n", why);
  abort();
}

/** True when [ptr, ptr + len) lies inside the module's memory. */
static bool inside(uint32_t ptr, uint32_t len) {
  return (uint64_t)ptr + len <= memory_size;
}

static uint32_t load_u32(uint32_t ptr) {
  uint32_t value;
  memcpy(&value, memory_data + ptr, 4);  // little-endian host, as the module's memory
  return value;
}

/** Counts an import call of the current export call and stops a runaway. */
static void imported(void) {
  run.imports++;
  require(run.imports <= run.import_limit, "more than %u import calls in one export call", run.import_limit);
}

/** Begins an export call: the import count starts again. */
static Z_wasmqtt_instance_t* call(void) {
  run.imports = 0;
  return &instance;
}

// ---- the module's imports ---------------------------------------------------------

void Z_hostZ_netOpen(struct Z_host_instance_t* self) {
  (void)self;
  imported();
  require(!run.link_up, "netOpen while the connection is up");
  run.open_requested = true;
  memset(&out, 0, sizeof out);
}

void Z_hostZ_netClose(struct Z_host_instance_t* self) {
  (void)self;
  imported();
  run.link_up = false;
  run.open_requested = false;  // a connection being opened is given up too
}

/** A client packet's fixed header byte (§2.2): its type and the flags fixed for it. */
static bool client_header(uint8_t header) {
  uint8_t type = header >> 4;
  uint8_t flags = header & 15;
  switch (type) {
    case 3: {  // PUBLISH: QoS 0–2, no DUP at QoS 0 (§3.3.1)
      uint8_t qos = (flags >> 1) & 3;
      return qos != 3 && !(qos == 0 && (flags & 8) != 0);
    }
    case 6: case 8: case 10: return flags == 2;  // PUBREL, SUBSCRIBE, UNSUBSCRIBE
    case 1: case 4: case 5: case 7: case 12: case 14: return flags == 0;  // CONNECT, PUBACK, PUBREC, PUBCOMP, PINGREQ, DISCONNECT
    default: return false;
  }
}

/**
 * The body length a packet of this type must have, or -1 when it varies. Under 5.0 an
 * ack's body is its packet id and optionally a Reason Code and properties, DISCONNECT's
 * optionally a Reason Code and properties (MQTT 5.0 §3.4.2.1, §3.14.2.1): at least 2 and 0.
 */
static int32_t fixed_length(uint8_t header) {
  switch (header >> 4) {
    case 4: case 5: case 6: case 7: return run.v5 ? -1 : 2;
    case 12: return 0;
    case 14: return run.v5 ? -1 : 0;
    default: return -1;
  }
}

static void packet_framed(void) {
  int32_t expected = fixed_length(out.header);
  require(expected < 0 || out.length == (uint32_t)expected, "outbound packet 0x%02x with Remaining Length %u", out.header, out.length);
  uint8_t type = out.header >> 4;
  require(type < 4 || type > 7 || out.length >= 2, "outbound ack 0x%02x with Remaining Length %u", out.header, out.length);
  out.packets++;
}

static void outbound(const uint8_t* bytes, uint32_t len) {
  for (uint32_t i = 0; i < len; i++) {
    uint8_t b = bytes[i];
    switch (out.phase) {
      case AT_HEADER:
        require(client_header(b), "outbound packet with fixed header byte 0x%02x", b);
        require(out.packets > 0 || b == 0x10, "first outbound packet 0x%02x, not CONNECT", b);
        out.header = b;
        out.length = 0;
        out.shift = 0;
        out.phase = AT_LENGTH;
        break;
      case AT_LENGTH:
        require(out.shift < 28, "outbound Remaining Length of five bytes");
        out.length |= (uint32_t)(b & 0x7f) << out.shift;
        out.shift += 7;
        if ((b & 0x80) == 0) {
          out.body = out.length;
          if (out.body == 0) {
            packet_framed();
            out.phase = AT_HEADER;
          } else {
            out.phase = AT_BODY;
          }
        }
        break;
      case AT_BODY: {
        uint32_t skip = len - i < out.body ? len - i : out.body;
        out.body -= skip;
        i += skip - 1;
        if (out.body == 0) {
          packet_framed();
          out.phase = AT_HEADER;
        }
        break;
      }
    }
  }
}

u32 Z_hostZ_netSend(struct Z_host_instance_t* self, u32 ptr, u32 len) {
  (void)self;
  imported();
  require(run.link_up, "netSend of %u bytes while the connection is not up", len);
  require(inside(ptr, len), "netSend(%u, %u) outside the memory of %u bytes", ptr, len, memory_size);
  uint32_t taken = run.send_limit != 0 && len > run.send_limit ? run.send_limit : len;
  outbound(memory_data + ptr, taken);
  return taken;
}

void Z_hostZ_onMessage(struct Z_host_instance_t* self, u32 topic_ptr, u32 topic_len, u32 payload_ptr, u32 payload_len, u32 flags) {
  (void)self;
  imported();
  require(inside(topic_ptr, topic_len) && inside(payload_ptr, payload_len), "onMessage pointers outside the memory");
  require(topic_len > 0, "a message with an empty topic");
  require(topic_len <= run.stats[STAT_RX_CAPACITY], "a topic of %u bytes, more than the receive buffer", topic_len);
  for (uint32_t i = 0; i < topic_len; i++) {
    uint8_t c = memory_data[topic_ptr + i];
    require(c != 0 && c != '+' && c != '#', "a delivered topic with byte 0x%02x (§4.7.1, §1.5.3)", c);
  }
  require(flags < 16 && ((flags >> 2) & 3) != 3, "onMessage flags 0x%x", flags);
  run.messages++;
}

void Z_hostZ_onEvent(struct Z_host_instance_t* self, u32 kind, u32 code, u32 arg) {
  (void)self;
  (void)code;
  (void)arg;
  imported();
  require(kind >= 1 && kind <= EVENT_LAST, "event of kind %u", kind);
}

void Z_hostZ_onPacket(struct Z_host_instance_t* self, u32 direction, u32 header, u32 packet_id, u32 remaining_length) {
  (void)self;
  (void)header;
  (void)packet_id;
  (void)remaining_length;
  imported();
  require(direction <= 1, "onPacket direction %u", direction);
}

/** Fixed entropy: the backoff's jitter plays no part in what an input does. */
u32 Z_hostZ_random(struct Z_host_instance_t* self) {
  (void)self;
  imported();
  return 0x9e3779b9u;
}

// ---- invariants -------------------------------------------------------------------

/** Reads the stats block and checks it against the previous one. */
static void check(void) {
  uint32_t ptr = Z_wasmqttZ_statsBuffer(call());
  require(inside(ptr, STATS_FIELDS * 4), "statsBuffer() %u outside the memory", ptr);
  wasm_rt_memory_t* memory = Z_wasmqttZ_memory(&instance);
  require(memory->data == memory_data && memory->size == memory_size, "the memory moved or changed size");
  uint32_t now[STATS_FIELDS];
  for (int i = 0; i < STATS_FIELDS; i++) now[i] = load_u32(ptr + 4 * (uint32_t)i);
  for (size_t i = 0; i < sizeof CONSTANT / sizeof *CONSTANT; i++) {
    require(now[CONSTANT[i]] == run.stats[CONSTANT[i]], "stats field %d changed from %u to %u", CONSTANT[i], run.stats[CONSTANT[i]], now[CONSTANT[i]]);
  }
  for (size_t i = 0; i < sizeof MONOTONIC / sizeof *MONOTONIC; i++) {
    require(now[MONOTONIC[i]] >= run.stats[MONOTONIC[i]], "stats field %d went back from %u to %u", MONOTONIC[i], run.stats[MONOTONIC[i]], now[MONOTONIC[i]]);
  }
  for (size_t i = 0; i < sizeof BOUNDED / sizeof *BOUNDED; i++) {
    int used = BOUNDED[i][0], capacity = BOUNDED[i][1];
    require(now[used] <= now[capacity], "stats field %d = %u > field %d = %u", used, now[used], capacity, now[capacity]);
  }
  require(now[STAT_STATE] <= STATE_LAST, "state %u", now[STAT_STATE]);
  require(now[STAT_MESSAGES_DELIVERED] == run.messages, "messagesDelivered %u, onMessage called %u times", now[STAT_MESSAGES_DELIVERED], run.messages);
  uint32_t generation = Z_wasmqttZ_persistGeneration(call());
  bool outboxChanged = now[STAT_MESSAGES_PUBLISHED] != run.stats[STAT_MESSAGES_PUBLISHED] || now[STAT_MESSAGES_ACKNOWLEDGED] != run.stats[STAT_MESSAGES_ACKNOWLEDGED];
  require(!outboxChanged || generation != run.generation, "a message published or acknowledged, persistGeneration still %u", generation);
  run.generation = generation;
  uint32_t space = Z_wasmqttZ_rxSpace(call());
  require(space <= now[STAT_RX_CAPACITY], "rxSpace() %u > rxCapacity %u", space, now[STAT_RX_CAPACITY]);
  memcpy(run.stats, now, sizeof now);
}

// ---- driving the module -----------------------------------------------------------

/** Runs the module's timers at the harness's clock, then checks the invariants. */
static void tick(void) {
  Z_wasmqttZ_tick(call(), run.now);
  check();
  if (run.saving) require((int32_t)Z_wasmqttZ_persistPrepare(call()) >= 0, "persistPrepare refused");
}

/** Free receive space; while it is 0 (a packet waits for room in the tx ring) ticks so the module can send. */
static uint32_t rx_space(void) {
  uint32_t space = Z_wasmqttZ_rxSpace(call());
  // each tick hands at least one byte to netSend, so the tx ring drains within txCapacity ticks
  for (uint32_t i = 0; space == 0 && i <= run.stats[STAT_TX_CAPACITY]; i++) {
    tick();
    space = Z_wasmqttZ_rxSpace(call());
  }
  require(space > 0, "rxSpace() stuck at 0");
  return space;
}

/** One rxCommit of n ≤ rxSpace() bytes; returns its status. */
static int32_t commit(const uint8_t* bytes, uint32_t n) {
  uint32_t into = Z_wasmqttZ_rxBuffer(call());
  require(inside(into, n), "rxBuffer() %u + %u bytes outside the memory", into, n);
  memcpy(memory_data + into, bytes, n);
  int32_t status = (int32_t)Z_wasmqttZ_rxCommit(call(), n, run.now);
  check();
  return status;
}

/** Answers a netOpen: netUp, then the harness's CONNACK unless the input brings its own. */
static void answer_open(void) {
  run.open_requested = false;
  run.link_up = true;
  Z_wasmqttZ_netUp(call(), run.now);
  check();
  if ((run.mode & MODE_OWN_CONNACK) == 0) {
    // 3.1.1: flags, return code; 5.0: flags, Reason Code, an empty property block
    const uint8_t connack[] = {0x20, run.v5 ? 0x03 : 0x02, (run.mode & MODE_SESSION) != 0 ? 1 : 0, 0x00, 0x00};
    commit(connack, run.v5 ? 5 : 4);
  }
}

/** Lets the backoff run out until the module asks for a connection, and answers it. */
static void reconnect(void) {
  for (int i = 0; i < RECONNECT_TICKS && !run.open_requested; i++) {
    run.now += RECONNECT_MAX_MS + 1;
    tick();
  }
  require(run.open_requested, "no netOpen after %d ticks past the backoff", RECONNECT_TICKS);
  answer_open();
}

/** Writes len bytes at the start of the staging buffer. */
static void stage(const void* bytes, uint32_t len) {
  memcpy(memory_data + staging, bytes, len);
}

/**
 * Requests that leave acks to answer: QoS 1 and 2 publishes (ids 1, 2), a SUBSCRIBE (3), an
 * UNSUBSCRIBE (4), each of those two asked twice (the second joins the first); in 5.0 the
 * SUBSCRIBE with a Subscription Identifier and both with a User Property.
 */
static void queue_requests(void) {
  stage("a/bhello", 8);
  require(Z_wasmqttZ_publish(call(), 3, 5, 1, 0, run.now) == 1, "publish QoS 1 refused");
  require(Z_wasmqttZ_publish(call(), 3, 5, 2, 1, run.now) == 2, "publish QoS 2 refused");
  // the entries, then (5.0) a property block: User Property "k" = "v"
  const uint8_t filters[] = {3, 0, 'a', '/', '#', 1, 1, 0, 'b', 2, 7, 0x26, 0, 1, 'k', 0, 1, 'v'};
  const uint32_t entries = 10;
  stage(filters, sizeof filters);
  uint32_t id = run.v5 ? Z_wasmqttZ_subscribeWithProperties(call(), 2, 7, sizeof filters - entries, run.now) : Z_wasmqttZ_subscribe(call(), 2, run.now);
  require(id == 3, "subscribe refused");
  stage(filters, sizeof filters);  // the same request again joins the pending one
  id = run.v5 ? Z_wasmqttZ_subscribeWithProperties(call(), 2, 7, sizeof filters - entries, run.now) : Z_wasmqttZ_subscribe(call(), 2, run.now);
  require(id == 3, "a repeated subscribe returned %d, not the pending request's id", (int32_t)id);
  const uint8_t gone[] = {1, 0, 'c', 7, 0x26, 0, 1, 'k', 0, 1, 'v'};
  stage(gone, sizeof gone);
  id = run.v5 ? Z_wasmqttZ_unsubscribeWithProperties(call(), 1, sizeof gone - 3, run.now) : Z_wasmqttZ_unsubscribe(call(), 1, run.now);
  require(id == 4, "unsubscribe refused");
  stage(gone, sizeof gone);
  id = run.v5 ? Z_wasmqttZ_unsubscribeWithProperties(call(), 1, sizeof gone - 3, run.now) : Z_wasmqttZ_unsubscribe(call(), 1, run.now);
  require(id == 4, "a repeated unsubscribe returned %d, not the pending request's id", (int32_t)id);
  check();
}

/** The application publishes message `n`: QoS n mod 3 to a/b, retained when n is odd, `payload_len` bytes. */
static void publish_message(uint32_t n, uint32_t payload_len) {
  const uint32_t topic_len = 3;
  if (payload_len > staging_capacity - topic_len) payload_len = staging_capacity - topic_len;
  stage("a/b", topic_len);
  memset(memory_data + staging + topic_len, 'p', payload_len);
  uint32_t qos = n % 3;
  int32_t result = (int32_t)Z_wasmqttZ_publish(call(), topic_len, payload_len, qos, n & 1, run.now);
  if (result >= 0) {
    require((result == 0) == (qos == 0), "publish at QoS %u returned %d", qos, result);
  } else {
    require(result == STATUS_OUTBOX_FULL || result == STATUS_PACKET_TOO_LARGE || result == STATUS_NO_PACKET_ID, "publish of a valid message returned %d", result);
  }
  check();
}

/** CRC-32 (IEEE, reflected 0xEDB88320) of n bytes, continuing from the register `crc`. */
static uint32_t crc32_update(uint32_t crc, const uint8_t* bytes, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    crc ^= bytes[i];
    for (int bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
  }
  return crc;
}

/**
 * The device loses power and boots again: the session saved (persistPrepare), the module
 * as after init(); a copy of the image with one byte changed (where and how from what the
 * input made the client do: the header too) and its CRC-32 made good, so the module's
 * checks of the tables see it, must be refused with a PERSIST_* status or taken; then the
 * real image is checked (its own sequence number) and restored and the client started again.
 */
static void power_loss(void) {
  int32_t sequence = (int32_t)Z_wasmqttZ_persistPrepare(call());
  require(sequence >= 0, "persistPrepare returned %d", sequence);
  memcpy(saved_image, memory_data + persist_base, persist_length);
  uint32_t delivered = run.messages;
  memcpy(memory_data, initial_memory, memory_size);
  instance = initial_instance;
  run.link_up = false;
  run.open_requested = false;

  uint8_t* block = memory_data + persist_base;
  memcpy(block, saved_image, persist_length);
  uint32_t at = (run.stats[STAT_BYTES_SENT] * 7 + run.stats[STAT_BYTES_RECEIVED]) % persist_length;
  block[at] ^= (uint8_t)(run.stats[STAT_PACKETS_RECEIVED] | 1);
  uint32_t crc = crc32_update(0xffffffffu, block, IMAGE_CRC_AT);
  crc = crc32_update(crc, block + IMAGE_HEADER_BYTES, persist_length - IMAGE_HEADER_BYTES) ^ 0xffffffffu;
  memcpy(block + IMAGE_CRC_AT, &crc, 4);
  int32_t crafted = (int32_t)Z_wasmqttZ_persistRestore(call(), run.now);
  require(crafted == 0 || crafted == STATUS_PERSIST_CORRUPT || crafted == STATUS_PERSIST_VERSION || crafted == STATUS_PERSIST_PROFILE,
          "persistRestore of a changed image returned %d", crafted);

  memcpy(block, saved_image, persist_length);
  int32_t checked = (int32_t)Z_wasmqttZ_persistCheck(call(), persist_base, persist_length);
  require(checked == sequence, "persistCheck of the saved image returned %d, persistPrepare %d", checked, sequence);
  int32_t restored = (int32_t)Z_wasmqttZ_persistRestore(call(), run.now);
  require(restored == 0, "persistRestore of a saved image returned %d", restored);
  // the connection's figures (tx high water, state) start again; the session's came back
  uint32_t ptr = Z_wasmqttZ_statsBuffer(call());
  for (int i = 0; i < STATS_FIELDS; i++) run.stats[i] = load_u32(ptr + 4 * (uint32_t)i);
  run.generation = Z_wasmqttZ_persistGeneration(call());
  require(run.stats[STAT_MESSAGES_DELIVERED] == delivered, "messagesDelivered %u after the restore, %u before", run.stats[STAT_MESSAGES_DELIVERED], delivered);
  check();
  require(Z_wasmqttZ_start(call(), run.now) == 0, "start after the restore refused");
  require(run.open_requested, "start without netOpen");
  answer_open();
}

/** Once per process: instantiates the module, calls init() and keeps the memory image and instance it left. */
static void setup(void) {
  wasm_rt_init();
  Z_wasmqtt_init_module();
  Z_wasmqtt_instantiate(&instance, &host);
  Z_wasmqttZ_init(&instance);
  wasm_rt_memory_t* memory = Z_wasmqttZ_memory(&instance);
  memory_data = memory->data;
  memory_size = memory->size;
  require(memory_size == wasmqtt_memory_bytes(), "memory of %u bytes, the runtime has %u", memory_size, wasmqtt_memory_bytes());
  initial_memory = malloc(memory_size);
  require(initial_memory != NULL, "no memory for the initial image");
  memcpy(initial_memory, memory_data, memory_size);
  initial_instance = instance;
  staging = Z_wasmqttZ_stagingBuffer(&instance);
  staging_capacity = Z_wasmqttZ_stagingCapacity(&instance);
  require(inside(staging, staging_capacity) && staging_capacity >= 16, "staging buffer %u + %u", staging, staging_capacity);
  persist_base = Z_wasmqttZ_persistBase(&instance);
  persist_length = Z_wasmqttZ_persistLength(&instance);
  require(inside(persist_base, persist_length) && persist_length > IMAGE_HEADER_BYTES, "persistent block %u + %u", persist_base, persist_length);
  saved_image = malloc(persist_length);
  require(saved_image != NULL, "no memory for a save image");
}

/** The module as after init(), and a new run. */
static void reset(const uint8_t* header) {
  memcpy(memory_data, initial_memory, memory_size);
  instance = initial_instance;
  memset(&run, 0, sizeof run);
  memset(&out, 0, sizeof out);
  run.now = 0xfffff000u;  // near the wrap: the module only subtracts times
  run.mode = header[0];
  run.v5 = (header[3] & MQTT_5) != 0;
  run.tick_ms = (uint32_t)(header[0] >> 4) * 1000;
  run.send_limit = (header[0] & MODE_THROTTLE) != 0 ? THROTTLE_BYTES : 0;
  run.import_limit = 1000;  // until the stats block gives rxCapacity
  uint32_t ptr = Z_wasmqttZ_statsBuffer(call());
  require(inside(ptr, STATS_FIELDS * 4), "statsBuffer() %u outside the memory", ptr);
  for (int i = 0; i < STATS_FIELDS; i++) run.stats[i] = load_u32(ptr + 4 * (uint32_t)i);
  run.import_limit = 2 * run.stats[STAT_RX_CAPACITY] + 1000;
  run.generation = Z_wasmqttZ_persistGeneration(call());
  run.saving = (header[3] & POWER_LOSS) != 0;
}

/** libFuzzer's entry: plays one input (format at the top of this file); returns 0, or aborts on a finding. */
int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (initial_memory == NULL) setup();
  uint8_t header[HEADER_BYTES] = {0};
  size_t header_len = size < HEADER_BYTES ? size : HEADER_BYTES;
  memcpy(header, data, header_len);
  data += header_len;
  size -= header_len;
  reset(header);

  stage("fuzz", 4);
  if (run.v5) {
    // the largest limits the caller may ask for: the module lowers each to its buffers
    uint32_t protocol_flags = (header[3] & TOPIC_ALIASES) != 0 ? 1 : 0;
    require(Z_wasmqttZ_setProtocol(call(), 5, 0xffff, 0xffffffffu, 0xffff, 0, protocol_flags) == 0, "setProtocol refused");
  }
  uint32_t flags = (run.mode & MODE_SESSION) != 0 ? 0 : 1;  // clean session unless a persistent one
  require(Z_wasmqttZ_configure(call(), 4, 0, 0, 0, 0, flags, KEEPALIVE_SEC) == 0, "configure refused");
  require(Z_wasmqttZ_setReconnect(call(), RECONNECT_MIN_MS, RECONNECT_MAX_MS, 1) == 0, "setReconnect refused");
  require(Z_wasmqttZ_setTimeouts(call(), CONNECT_TIMEOUT_MS) == 0, "setTimeouts refused");
  require(Z_wasmqttZ_persistHoldPubrel(call(), run.saving ? 1 : 0) == 0, "persistHoldPubrel refused");
  if ((run.mode & MODE_REQUESTS) != 0) queue_requests();
  require(Z_wasmqttZ_start(call(), run.now) == 0, "start refused");
  require(run.open_requested, "start without netOpen");
  answer_open();

  const uint32_t chunk[2] = {header[1], header[2]};
  const uint32_t tick_every = (uint32_t)(header[3] & 7) + 1;
  for (uint32_t n = 0; size > 0; n++) {
    uint32_t space = rx_space();
    uint32_t want = chunk[n & 1] == 0 ? space : chunk[n & 1];
    uint32_t len = want < space ? want : space;
    if (len > size) len = (uint32_t)size;
    int32_t status = commit(data, len);
    data += len;
    size -= len;
    if ((n + 1) % tick_every == 0) {
      run.now += run.tick_ms;
      tick();
      if ((header[3] & PUBLISH_ON_TICK) != 0) publish_message(n, 4 * chunk[n & 1]);
    }
    // closed because of the input, or by a timeout: connect again and go on
    if (status < 0 || run.open_requested || !run.link_up) reconnect();
  }

  if ((header[3] & POWER_LOSS) != 0) power_loss();
  if ((header[3] & END_WITH_STOP) != 0) {
    // 5.0: DISCONNECT 0x04 with a Reason String "bye"
    const uint8_t reason[] = {6, 0x1f, 0, 3, 'b', 'y', 'e'};
    stage(reason, sizeof reason);
    uint32_t stopped = run.v5 ? Z_wasmqttZ_disconnectWithProperties(call(), 4, sizeof reason, run.now) : Z_wasmqttZ_stop(call(), run.now);
    require(stopped == 0, "stop refused");
    check();
    require(!run.link_up && !run.open_requested, "the connection still open after stop()");
    run.now += RECONNECT_MAX_MS + 1;
    tick();
    require(!run.open_requested, "netOpen after stop()");
    return 0;
  }
  // the connection drops: reconnecting resends what is unfinished
  if (run.link_up) {
    run.link_up = false;
    Z_wasmqttZ_netDown(call(), run.now, 0);
    check();
  }
  reconnect();
  tick();
  return 0;
}
