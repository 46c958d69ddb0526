/*
 * The two-slot rule of boards/ABI.md ("Two slots") over the platform's slot storage.
 * See persist.h. No second block of RAM: each slot is checked in the block itself.
 */
#include "persist.h"

#include "link.h"
#include "wasmqtt-platform.h"

/** 31-bit sequence numbers: b is newer than a when (b - a) & 0x7fffffff is below 2^30 (boards/ABI.md). */
enum { SEQUENCE_MASK = 0x7fffffff, SEQUENCE_HALF = 0x40000000 };

static uint32_t saved_generation;
static uint32_t sequence;

static bool newer(uint32_t a, uint32_t b) {
  uint32_t ahead = (a - b) & SEQUENCE_MASK;
  return ahead != 0 && ahead < SEQUENCE_HALF;
}

/**
 * Copies slot `slot` into the block and checks it there. Returns false when the slot
 * holds nothing; else true, `*checked` its sequence number (≥ 0) or a PERSIST_* status.
 */
static bool load_and_check(uint32_t slot, uint32_t base, uint32_t length, int32_t* checked) {
  uint8_t* block = link_bytes(base, length);
  if (block == NULL || !wasmqtt_slot_load(slot, block, length)) return false;
  *checked = (int32_t)Z_wasmqttZ_persistCheck(link_module(), base, length);
  return true;
}

int32_t persist_restore(void) {
  Z_wasmqtt_instance_t* module = link_module();
  uint32_t base = Z_wasmqttZ_persistBase(module);
  uint32_t length = Z_wasmqttZ_persistLength(module);
  int32_t checked[2] = {0, 0};
  int best = -1;
  int32_t refusal = WASMQTT_OK;
  for (int slot = 0; slot < 2; slot++) {
    if (!load_and_check((uint32_t)slot, base, length, &checked[slot])) continue;
    if (checked[slot] < 0) {
      if (refusal == WASMQTT_OK) refusal = checked[slot];
    } else if (best < 0 || newer((uint32_t)checked[slot], (uint32_t)checked[best])) {
      best = slot;
    }
  }
  int32_t status;
  if (best < 0) {
    Z_wasmqttZ_init(module);  // the block holds the last slot's bytes: start empty
    status = refusal == WASMQTT_OK ? PERSIST_NOTHING_SAVED : refusal;
  } else {
    load_and_check((uint32_t)best, base, length, &checked[best]);
    status = (int32_t)Z_wasmqttZ_persistRestore(module, wasmqtt_now_ms());
    if (status == WASMQTT_OK) sequence = (uint32_t)checked[best];
  }
  Z_wasmqttZ_persistHoldPubrel(module, 1);
  saved_generation = Z_wasmqttZ_persistGeneration(module);
  return status;
}

int32_t persist_save_if_changed(void) {
  Z_wasmqtt_instance_t* module = link_module();
  uint32_t generation = Z_wasmqttZ_persistGeneration(module);
  if (generation == saved_generation) return 0;
  uint32_t prepared = Z_wasmqttZ_persistPrepare(module);
  uint32_t length = Z_wasmqttZ_persistLength(module);
  const uint8_t* image = link_bytes(Z_wasmqttZ_persistBase(module), length);
  if (image == NULL || !wasmqtt_slot_save(prepared & 1u, image, length)) return -1;
  saved_generation = generation;
  sequence = prepared;
  return 1;
}

uint32_t persist_sequence(void) {
  return sequence;
}
