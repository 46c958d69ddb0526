/*
 * What main.c needs of the MPS2 AN386 board besides stream.h and board.h (board-mps2.c).
 */
#ifndef WASMQTT_BOARD_MPS2_H
#define WASMQTT_BOARD_MPS2_H

#include <stdint.h>

/** Starts the UARTs, the UART0 receive interrupt and SysTick at 1 kHz. */
void board_init(void);

/** Starts watching UART0: call before the step whose delay board_wait then sleeps. */
void board_arm_wait(void);

/** Sleeps until `ms` passed, or bytes arrived or the connection changed since board_arm_wait(). */
void board_wait(uint32_t ms);

/** Writes `text` on the console (UART1). */
void board_print(const char* text);

/** Writes `value` in decimal on the console. */
void board_print_uint(uint32_t value);

/** The most bytes of C stack used since reset (startup.c paints it; the deepest overwritten word tells). */
uint32_t stack_high_water(void);

#endif
