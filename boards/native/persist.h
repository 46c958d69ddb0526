/*
 * The module's persistent state (boards/ABI.md, "Persistent state") kept in two slots,
 * for any platform: at boot the newest slot that checks is restored before the client
 * starts; after export calls the block is saved to the slot its sequence number names
 * whenever persistGeneration() moved. The platform only stores bytes (the two functions
 * below); which bytes are a session, and whether an image is good, is the module's.
 */
#ifndef WASMQTT_PERSIST_H
#define WASMQTT_PERSIST_H

#include <stdbool.h>
#include <stdint.h>

/** persist_restore() found no saved slot: the client is as after init(). */
enum { PERSIST_NOTHING_SAVED = 1 };

/**
 * Platform: copies slot `slot` (0 = A, 1 = B) into `into`, `len` bytes. Returns false when
 * the slot holds nothing yet (never written), true when `into` holds its bytes.
 */
bool wasmqtt_slot_load(uint32_t slot, uint8_t* into, uint32_t len);

/** Platform: writes `len` bytes to slot `slot`; returns true once they would survive a power loss, false on a write error. */
bool wasmqtt_slot_save(uint32_t slot, const uint8_t* image, uint32_t len);

/**
 * Restores the newest saved slot that persistCheck accepts into the module (just after
 * link_open(), before configure / start) and turns persistHoldPubrel on. Returns OK
 * (WASMQTT_OK), PERSIST_NOTHING_SAVED, or the PERSIST_* status of a refused image (slot
 * A's when both were refused): then the client starts empty.
 */
int32_t persist_restore(void);

/**
 * Call after export calls: when persistGeneration() moved since the last save or the
 * restore, makes the block an image (persistPrepare) and writes it to its slot. Returns
 * 0 when nothing was due, 1 when it saved (run tick next: a held PUBREL may go now), -1
 * when the platform could not write the slot (the next change tries again).
 */
int32_t persist_save_if_changed(void);

/** The sequence number of the last image saved or restored (0 before any). */
uint32_t persist_sequence(void);

#endif
