/*
 * Reset and interrupt vectors of the MPS2 AN386 image: copies .data, zeroes .bss, paints
 * the stack and calls main; SysTick and UART0 RX go to board-mps2.c. Every other
 * exception halts.
 */
#include <stdint.h>

#include "board-mps2.h"

extern uint32_t __data_start, __data_end, __data_load, __bss_start, __bss_end, __stack_top;

int main(void);
void systick_handler(void);
void uart0_rx_handler(void);

/** What the free stack is painted with, so the deepest word ever written shows (stack_high_water). */
#define STACK_PAINT 0xA5A5A5A5u
/** Words below the reset handler's own stack pointer left unpainted (its frame and the calls to come). */
#define PAINT_MARGIN_WORDS 16u

/** Fills the stack from the end of .bss to just below the current stack pointer with STACK_PAINT. */
static void paint_stack(void) {
  uint32_t* sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  for (uint32_t* word = &__bss_end; word < sp - PAINT_MARGIN_WORDS; word++) *word = STACK_PAINT;
}

uint32_t stack_high_water(void) {
  const uint32_t* word = &__bss_end;
  while (word < &__stack_top && *word == STACK_PAINT) word++;
  return (uint32_t)((const uint8_t*)&__stack_top - (const uint8_t*)word);
}

__attribute__((noreturn)) void reset_handler(void) {
  const uint32_t* from = &__data_load;
  for (uint32_t* to = &__data_start; to < &__data_end;) *to++ = *from++;
  for (uint32_t* to = &__bss_start; to < &__bss_end;) *to++ = 0;
  paint_stack();
  main();
  for (;;) __asm__ volatile("wfi");
}

/** NMI, faults, unexpected interrupts: stop where a debugger can see it. */
static void halt_handler(void) {
  for (;;) __asm__ volatile("bkpt #0");
}

/** The Cortex-M vector table: 16 system exceptions, then the board's interrupts (UART0 RX is IRQ 0). */
__attribute__((section(".vectors"), used)) static void (*const vectors[16 + 1])(void) = {
    (void (*)(void))(&__stack_top),
    reset_handler,
    halt_handler,  // NMI
    halt_handler,  // HardFault
    halt_handler,  // MemManage
    halt_handler,  // BusFault
    halt_handler,  // UsageFault
    0, 0, 0, 0,
    halt_handler,  // SVCall
    halt_handler,  // DebugMonitor
    0,
    halt_handler,  // PendSV
    systick_handler,
    uart0_rx_handler,
};
