/*
 * The MPS2 AN386 board (QEMU -M mps2-an386, Cortex-M4): stream.h over UART0 framed for
 * bridge.mjs, the millisecond clock from SysTick, and board.h's sensors and outputs:
 * the board has no ADC, so the sensors read constants, and GPIO writes are printed on
 * UART1, the console.
 *
 * Framing on UART0, both ways (bridge.mjs speaks the other end): ESC (0x7E) followed by
 * 'O' opens the broker connection, 'C' closes it (device → bridge); 'U' says it is up,
 * 'D' that it failed or ended (bridge → device); ESC ESC is a data byte 0x7E. Every other
 * byte is data of the connection.
 */
#include <stdbool.h>
#include <stdint.h>

#include "../board.h"
#include "../stream.h"

/** CMSDK APB UART registers (Arm DDI 0479), UART0 at 0x40004000, UART1 at 0x40005000. */
typedef struct {
  volatile uint32_t data;
  volatile uint32_t state;
  volatile uint32_t ctrl;
  volatile uint32_t intstatus;
  volatile uint32_t bauddiv;
} cmsdk_uart_t;

#define UART0 ((cmsdk_uart_t*)0x40004000u)
#define UART1 ((cmsdk_uart_t*)0x40005000u)
enum { UART_STATE_TX_FULL = 1, UART_STATE_RX_FULL = 2 };
enum { UART_CTRL_TX_EN = 1, UART_CTRL_RX_EN = 2, UART_CTRL_RX_INT_EN = 8 };
enum { UART_INT_RX = 2 };
/** QEMU's CMSDK UART refuses a divider below 16. */
enum { UART_BAUDDIV = 16 };

/** SysTick (Armv7-M ARM B3.3) and the NVIC's set-enable register. */
#define SYST_CSR (*(volatile uint32_t*)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t*)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t*)0xE000E018u)
#define NVIC_ISER0 (*(volatile uint32_t*)0xE000E100u)
enum { SYST_ENABLE = 1, SYST_TICKINT = 2, SYST_CLKSOURCE_CPU = 4 };
/** The AN386 system clock: 25 MHz. */
enum { CPU_HZ = 25000000 };
/** UART0's receive interrupt is IRQ 0 on the AN385 / AN386. */
enum { UART0_RX_IRQ = 0 };

enum { ESC = 0x7E, OPEN = 'O', CLOSE = 'C', UP = 'U', DOWN = 'D' };

/** The sensors' constant readings (nodemcu-v3 wiring, boards/README.md): 25 °C, and moisture halfway between dry and wet. */
static const uint32_t READINGS[2] = {240, 559};

static volatile uint32_t millis;

/** Bytes received from the bridge, unframed by the interrupt, read by stream_read. */
#define RX_SIZE 1024u
static uint8_t rx[RX_SIZE];
static volatile uint32_t rx_head, rx_tail;
static volatile bool escaped;
static volatile enum stream_state state = STREAM_CLOSED;
/** Set by the interrupt when bytes arrive or the connection changes: the main loop must not sleep. */
static volatile bool woken;

void systick_handler(void) {
  millis++;
}

static bool rx_full(void) {
  return rx_head - rx_tail == RX_SIZE;
}

/** Unframes what UART0 holds into rx[]; when rx[] is full, leaves the byte in the UART (QEMU then holds the rest). */
static void rx_drain(void) {
  while ((UART0->state & UART_STATE_RX_FULL) != 0) {
    if (rx_full()) {
      UART0->ctrl &= ~(uint32_t)UART_CTRL_RX_INT_EN;
      return;
    }
    uint8_t byte = (uint8_t)UART0->data;
    woken = true;
    if (escaped) {
      escaped = false;
      if (byte == UP) state = STREAM_OPEN;
      else if (byte == DOWN) state = STREAM_CLOSED;
      else if (byte == ESC) rx[rx_head++ % RX_SIZE] = ESC;
    } else if (byte == ESC) {
      escaped = true;
    } else {
      rx[rx_head++ % RX_SIZE] = byte;
    }
  }
}

void uart0_rx_handler(void) {
  UART0->intstatus = UART_INT_RX;
  rx_drain();
}

static void uart_init(cmsdk_uart_t* uart, uint32_t ctrl) {
  uart->bauddiv = UART_BAUDDIV;
  uart->ctrl = ctrl;
}

static void uart_put(cmsdk_uart_t* uart, uint8_t byte) {
  while ((uart->state & UART_STATE_TX_FULL) != 0) {
  }
  uart->data = byte;
}

static void console_print(const char* text) {
  while (*text != '\0') uart_put(UART1, (uint8_t)*text++);
}

static void console_number(uint32_t value) {
  char digits[11];
  int n = 0;
  do {
    digits[n++] = (char)('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) uart_put(UART1, (uint8_t)digits[--n]);
}

void board_init(void) {
  uart_init(UART1, UART_CTRL_TX_EN);
  uart_init(UART0, UART_CTRL_TX_EN | UART_CTRL_RX_EN | UART_CTRL_RX_INT_EN);
  NVIC_ISER0 = 1u << UART0_RX_IRQ;
  SYST_RVR = CPU_HZ / 1000 - 1;
  SYST_CVR = 0;
  SYST_CSR = SYST_ENABLE | SYST_TICKINT | SYST_CLKSOURCE_CPU;
}

void board_arm_wait(void) {
  woken = false;
}

/** Sleeps in wfi (SysTick wakes it every ms) until `ms` passed or UART0 brought something since board_arm_wait. */
void board_wait(uint32_t ms) {
  uint32_t start = millis;
  while (millis - start < ms && !woken) __asm__ volatile("wfi");
}

void board_print(const char* text) {
  console_print(text);
}

void board_print_uint(uint32_t value) {
  console_number(value);
}

// ---- stream.h -----------------------------------------------------------------

void stream_open(void) {
  state = STREAM_OPENING;
  uart_put(UART0, ESC);
  uart_put(UART0, OPEN);
}

enum stream_state stream_poll_state(void) {
  return state;
}

uint32_t stream_write(const uint8_t* bytes, uint32_t len) {
  for (uint32_t i = 0; i < len; i++) {
    if (bytes[i] == ESC) uart_put(UART0, ESC);
    uart_put(UART0, bytes[i]);
  }
  return len;
}

uint32_t stream_read(uint8_t* into, uint32_t room) {
  uint32_t n = 0;
  while (n < room && rx_tail != rx_head) into[n++] = rx[rx_tail++ % RX_SIZE];
  if (n > 0 && (UART0->ctrl & UART_CTRL_RX_INT_EN) == 0) {
    // room again: take what the UART held, then let the interrupt take the rest
    __asm__ volatile("cpsid i" ::: "memory");
    UART0->ctrl |= UART_CTRL_RX_INT_EN;
    rx_drain();
    __asm__ volatile("cpsie i" ::: "memory");
  }
  return n;
}

void stream_close(void) {
  state = STREAM_CLOSED;
  rx_tail = rx_head;
  uart_put(UART0, ESC);
  uart_put(UART0, CLOSE);
}

uint32_t board_millis(void) {
  return millis;
}

uint32_t board_entropy(void) {
  // no RNG on the board: the SysTick phase and the time, mixed (jitter needs no more)
  return (SYST_CVR ^ millis * 2654435761u) * 2246822519u;
}

__attribute__((noreturn)) void board_halt(const char* why) {
  console_print("trap: ");
  console_print(why);
  console_print("\n");
  for (;;) __asm__ volatile("wfi");
}

// ---- board.h ------------------------------------------------------------------

uint32_t board_adc_read(uint32_t channel) {
  return channel < 2 ? READINGS[channel] : 0;
}

void board_gpio_write(uint32_t pin, uint32_t level) {
  console_print("gpio ");
  console_number(pin);
  console_print(" ");
  console_number(level);
  console_print("\n");
}
