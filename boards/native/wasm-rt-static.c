/*
 * The wasm2c runtime for wasmqtt: what the generated module code calls (wasm-rt.h),
 * with no allocator, no mmap and no signal handler, so the same file builds for Linux
 * and for a microcontroller.
 *
 * - Linear memory is one static array of WASMQTT_MEMORY_BYTES: the module's
 *   __heap_base (= staticDataEnd()), the first byte it never uses. The module declares
 *   one 64 KiB page (min = max = 1); wasm_rt_allocate_memory points the memory at the
 *   array and sets its size to the array's size, so every load and store, checked
 *   against that size (WASM_RT_MEMCHECK_SIGNAL_HANDLER=0: explicit bounds checks),
 *   traps at or above it. The module never executes memory.size or memory.grow
 *   (tests/host/portability.test.ts), so the declared page count is never observed.
 * - The function table is a static array of WASMQTT_TABLE_ELEMENTS entries.
 * - Function types are kept in a static table of WASMQTT_FUNC_TYPES entries of up to
 *   WASMQTT_FUNC_VALUES parameters + results (call_indirect compares their indices).
 * - A trap is fatal: wasmqtt_trap() (the platform's) reports it and never returns.
 *   The module is written never to trap, so a trap means a bug or too little memory.
 *
 * Build with -DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0 and the four sizes
 * (scripts/build-native.mjs reads them from the generated C).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "wasm-rt.h"
#include "wasmqtt-platform.h"

#if WASM_RT_MEMCHECK_SIGNAL_HANDLER
#error "build with -DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0: memory accesses must be bounds-checked"
#endif
#ifndef WASMQTT_MEMORY_BYTES
#error "define WASMQTT_MEMORY_BYTES: the module's __heap_base"
#endif
#ifndef WASMQTT_TABLE_ELEMENTS
#error "define WASMQTT_TABLE_ELEMENTS: the module's table size"
#endif
#if !defined(WASMQTT_FUNC_TYPES) || !defined(WASMQTT_FUNC_VALUES)
#error "define WASMQTT_FUNC_TYPES and WASMQTT_FUNC_VALUES: the module's function types and their widest arity"
#endif

/** The module's whole RAM. Aligned for the widest access the module makes (i64). */
static uint8_t linear_memory[WASMQTT_MEMORY_BYTES] __attribute__((aligned(8)));
static bool memory_taken;

static wasm_rt_funcref_t table_elements[WASMQTT_TABLE_ELEMENTS];
static bool table_taken;

typedef struct {
  uint8_t params;
  uint8_t results;
  uint8_t types[WASMQTT_FUNC_VALUES];
} func_type_t;

static func_type_t func_types[WASMQTT_FUNC_TYPES];
static uint32_t func_type_count;
static bool initialized;

#if WASM_RT_USE_STACK_DEPTH_COUNT
uint32_t wasm_rt_call_stack_depth;
#endif

void wasm_rt_init(void) {
  initialized = true;
}

bool wasm_rt_is_initialized(void) {
  return initialized;
}

void wasm_rt_free(void) {
  initialized = false;
}

WASM_RT_NO_RETURN void wasm_rt_trap(wasm_rt_trap_t code) {
  wasmqtt_trap(wasm_rt_strerror(code));
}

const char* wasm_rt_strerror(wasm_rt_trap_t trap) {
  switch (trap) {
    case WASM_RT_TRAP_NONE:
      return "no error";
    case WASM_RT_TRAP_OOB:
      return "out of bounds memory access";
    case WASM_RT_TRAP_INT_OVERFLOW:
      return "integer overflow on divide or truncation";
    case WASM_RT_TRAP_DIV_BY_ZERO:
      return "integer divide by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION:
      return "conversion from NaN to integer";
    case WASM_RT_TRAP_UNREACHABLE:
      return "unreachable instruction executed";
    case WASM_RT_TRAP_CALL_INDIRECT:
      return "invalid call_indirect";
    case WASM_RT_TRAP_EXHAUSTION:
      return "call stack exhausted";
    default:
      return "trap";
  }
}

/** Returns the type's index + 1 (0 is never a valid type); traps when the table is full. */
uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  if (params + results > WASMQTT_FUNC_VALUES) wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
  func_type_t type;
  memset(&type, 0, sizeof type);
  type.params = (uint8_t)params;
  type.results = (uint8_t)results;
  va_list values;
  va_start(values, results);
  for (uint32_t i = 0; i < params + results; i++) type.types[i] = (uint8_t)va_arg(values, int);
  va_end(values);
  for (uint32_t i = 0; i < func_type_count; i++) {
    if (memcmp(&func_types[i], &type, sizeof type) == 0) return i + 1;
  }
  if (func_type_count == WASMQTT_FUNC_TYPES) wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
  func_types[func_type_count++] = type;
  return func_type_count;
}

/** The one memory: the static array, zeroed, `size` its exact length. A second memory traps. */
void wasm_rt_allocate_memory(wasm_rt_memory_t* memory, uint32_t initial_pages, uint32_t max_pages) {
  if (memory_taken) wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
  memory_taken = true;
  memset(linear_memory, 0, sizeof linear_memory);
  memory->data = linear_memory;
  memory->pages = initial_pages;
  memory->max_pages = max_pages;
  memory->size = (uint32_t)sizeof linear_memory;
}

void wasm_rt_free_memory(wasm_rt_memory_t* memory) {
  memory->data = NULL;
  memory->size = 0;
  memory_taken = false;
}

/** The one table: the static array, `elements` long. More than WASMQTT_TABLE_ELEMENTS traps. */
void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t* table, uint32_t elements, uint32_t max_elements) {
  if (table_taken || elements > WASMQTT_TABLE_ELEMENTS) wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
  table_taken = true;
  for (uint32_t i = 0; i < WASMQTT_TABLE_ELEMENTS; i++) table_elements[i] = wasm_rt_funcref_null_value;
  table->data = table_elements;
  table->size = elements;
  table->max_size = max_elements;
}

void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t* table) {
  table->data = NULL;
  table->size = 0;
  table_taken = false;
}

uint32_t wasmqtt_memory_bytes(void) {
  return (uint32_t)sizeof linear_memory;
}
