/*
 * Reset and interrupt vectors of the MPS2 AN386 image: copies .data, zeroes .bss and
 * calls main; SysTick and UART0 RX go to board-mps2.c. Every other exception halts.
 */
#include <stdint.h>

extern uint32_t __data_start, __data_end, __data_load, __bss_start, __bss_end, __stack_top;

int main(void);
void systick_handler(void);
void uart0_rx_handler(void);

__attribute__((noreturn)) void reset_handler(void) {
  const uint32_t* from = &__data_load;
  for (uint32_t* to = &__data_start; to < &__data_end;) *to++ = *from++;
  for (uint32_t* to = &__bss_start; to < &__bss_end;) *to++ = 0;
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
