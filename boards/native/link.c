/*
 * The module's `host` imports and the byte-moving calls of link.h. See link.h.
 */
#include "link.h"

#include <stdbool.h>
#include <string.h>

#include "wasmqtt-platform.h"

/** What the generated code hands every import: this glue keeps its state in statics. */
struct Z_host_instance_t {
  Z_wasmqtt_instance_t* module;
};

static Z_wasmqtt_instance_t instance;
static struct Z_host_instance_t host = {&instance};
static bool opened;

Z_wasmqtt_instance_t* link_open(void) {
  if (opened) return &instance;
  wasm_rt_init();
  Z_wasmqtt_init_module();
  Z_wasmqtt_instantiate(&instance, &host);
  Z_wasmqttZ_init(&instance);
  opened = true;
  return &instance;
}

Z_wasmqtt_instance_t* link_module(void) {
  return &instance;
}

uint8_t* link_bytes(uint32_t ptr, uint32_t len) {
  wasm_rt_memory_t* memory = Z_wasmqttZ_memory(&instance);
  if ((uint64_t)ptr + len > memory->size) return NULL;
  return memory->data + ptr;
}

uint8_t* link_staging(uint32_t* capacity) {
  *capacity = Z_wasmqttZ_stagingCapacity(&instance);
  return link_bytes(Z_wasmqttZ_stagingBuffer(&instance), *capacity);
}

uint32_t link_stat(uint32_t index) {
  const uint8_t* field = link_bytes(Z_wasmqttZ_statsBuffer(&instance) + index * 4, 4);
  if (field == NULL) return 0;
  return (uint32_t)field[0] | (uint32_t)field[1] << 8 | (uint32_t)field[2] << 16 | (uint32_t)field[3] << 24;
}

uint32_t link_tick(void) {
  return Z_wasmqttZ_tick(&instance, wasmqtt_now_ms());
}

void link_net_up(void) {
  Z_wasmqttZ_netUp(&instance, wasmqtt_now_ms());
}

void link_net_down(uint32_t reason) {
  Z_wasmqttZ_netDown(&instance, wasmqtt_now_ms(), reason);
}

uint32_t link_rx_window(uint8_t** into) {
  uint32_t space = Z_wasmqttZ_rxSpace(&instance);
  if (space == 0) {
    // a packet waits for room in the transmit ring: let the module send, then ask again
    link_tick();
    space = Z_wasmqttZ_rxSpace(&instance);
  }
  *into = space == 0 ? NULL : link_bytes(Z_wasmqttZ_rxBuffer(&instance), space);
  return *into == NULL ? 0 : space;
}

int32_t link_rx_commit(uint32_t n) {
  return (int32_t)Z_wasmqttZ_rxCommit(&instance, n, wasmqtt_now_ms());
}

uint32_t link_receive(const uint8_t* bytes, uint32_t len) {
  uint32_t taken = 0;
  while (taken < len) {
    uint8_t* into;
    uint32_t space = link_rx_window(&into);
    if (space == 0) break;
    uint32_t n = len - taken < space ? len - taken : space;
    memcpy(into, bytes + taken, n);
    taken += n;
    if (link_rx_commit(n) < 0) break;  // the module closed the connection because of this input
  }
  return taken;
}

// ---- the module's imports (module "host"), called from inside an export ----------

void Z_hostZ_netOpen(struct Z_host_instance_t* self) {
  (void)self;
  wasmqtt_net_open();
}

u32 Z_hostZ_netSend(struct Z_host_instance_t* self, u32 ptr, u32 len) {
  (void)self;
  const uint8_t* bytes = link_bytes(ptr, len);
  return bytes == NULL ? 0 : wasmqtt_net_send(bytes, len);
}

void Z_hostZ_netClose(struct Z_host_instance_t* self) {
  (void)self;
  wasmqtt_net_close();
}

void Z_hostZ_onMessage(struct Z_host_instance_t* self, u32 topic_ptr, u32 topic_len, u32 payload_ptr, u32 payload_len, u32 flags) {
  (void)self;
  const uint8_t* topic = link_bytes(topic_ptr, topic_len);
  const uint8_t* payload = link_bytes(payload_ptr, payload_len);
  if (topic != NULL && payload != NULL) app_message(topic, topic_len, payload, payload_len, flags);
}

void Z_hostZ_onEvent(struct Z_host_instance_t* self, u32 kind, u32 code, u32 arg) {
  (void)self;
  app_event(kind, (int32_t)code, arg);
}

void Z_hostZ_onPacket(struct Z_host_instance_t* self, u32 direction, u32 header, u32 packet_id, u32 remaining_length) {
  (void)self;
  app_packet(direction, header, packet_id, remaining_length);
}

u32 Z_hostZ_random(struct Z_host_instance_t* self) {
  (void)self;
  return wasmqtt_random();
}
