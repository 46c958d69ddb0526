/*
 * persist.h's slot storage on the MPS2 AN386: two slots of WASMQTT_PERSIST_LENGTH bytes
 * (the module's persistLength(), passed by the build) in .retained, RAM that neither the
 * reset handler nor QEMU's system reset writes (mps2-an386.ld, README.md). A save is a
 * copy into its slot; a reset during the copy leaves that slot torn, and its CRC-32 makes
 * the restore take the other one.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../persist.h"

#ifndef WASMQTT_PERSIST_LENGTH
#error "define WASMQTT_PERSIST_LENGTH: the module's persistLength()"
#endif

__attribute__((section(".retained"))) static uint8_t slots[2][WASMQTT_PERSIST_LENGTH];

/** A slot of zero bytes only was never written: QEMU starts with RAM zeroed, and a save always writes the magic. */
static bool never_written(const uint8_t* slot) {
  for (uint32_t i = 0; i < WASMQTT_PERSIST_LENGTH; i++) {
    if (slot[i] != 0) return false;
  }
  return true;
}

bool wasmqtt_slot_load(uint32_t slot, uint8_t* into, uint32_t len) {
  if (slot > 1 || len != WASMQTT_PERSIST_LENGTH || never_written(slots[slot])) return false;
  memcpy(into, slots[slot], len);
  return true;
}

bool wasmqtt_slot_save(uint32_t slot, const uint8_t* image, uint32_t len) {
  if (slot > 1 || len != WASMQTT_PERSIST_LENGTH) return false;
  memcpy(slots[slot], image, len);
  return true;
}
