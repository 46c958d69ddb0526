/*
 * The POSIX platform: wasmqtt-platform.h over one non-blocking TCP socket, the
 * monotonic clock, getrandom(), and the poll() loop that drives the link (posix.h).
 * It only moves bytes and tells the time; the module decides everything MQTT.
 */
#include "posix.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "link.h"
#include "wasmqtt-platform.h"

/** What the connection did inside a module call, reported by the next posix_step. */
enum pending { PENDING_NONE, PENDING_UP, PENDING_DOWN };

static const char* broker_host = "localhost";
static const char* broker_port = "1883";
static char broker_name[300];

static int sock = -1;
static bool connecting;
static bool want_write;
static enum pending pending = PENDING_NONE;
static uint32_t pending_reason;
/** Counts connections, so a receive loop notices the module closed the one it reads. */
static uint32_t generation;
static struct addrinfo* addresses;
static struct addrinfo* next_address;
static char last_error[200];
static volatile sig_atomic_t interrupted;

void posix_set_broker(const char* host, const char* port) {
  broker_host = host;
  broker_port = port;
  snprintf(broker_name, sizeof broker_name, strchr(host, ':') != NULL ? "[%s]:%s" : "%s:%s", host, port);
}

const char* posix_broker_name(void) {
  return broker_name;
}

const char* posix_last_error(void) {
  return last_error[0] == '\0' ? NULL : last_error;
}

uint32_t wasmqtt_now_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  // truncated to u32 on purpose: it wraps every 49.7 days and the module only subtracts
  return (uint32_t)((uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u);
}

uint32_t wasmqtt_random(void) {
  uint32_t value;
  if (getrandom(&value, sizeof value, 0) == (ssize_t)sizeof value) return value;
  return wasmqtt_now_ms() * 2654435761u;
}

__attribute__((noreturn)) void wasmqtt_trap(const char* why) {
  fprintf(stderr, "Error: the module trapped: %s (linear memory %u bytes)\n", why, (unsigned)wasmqtt_memory_bytes());
  exit(70);
}

static void remember_error(const char* what) {
  snprintf(last_error, sizeof last_error, "%s", what);
}

static void close_socket(void) {
  if (sock >= 0) close(sock);
  sock = -1;
  connecting = false;
  want_write = false;
  generation++;
}

static void forget_addresses(void) {
  if (addresses != NULL) freeaddrinfo(addresses);
  addresses = NULL;
  next_address = NULL;
}

/** Starts a non-blocking connect to the next address; false when none is left. */
static bool connect_next(void) {
  while (next_address != NULL) {
    struct addrinfo* address = next_address;
    next_address = address->ai_next;
    int fd = socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, address->ai_protocol);
    if (fd < 0) {
      remember_error(strerror(errno));
      continue;
    }
    sock = fd;
    generation++;
    if (connect(fd, address->ai_addr, address->ai_addrlen) == 0) {
      pending = PENDING_UP;
      return true;
    }
    if (errno == EINPROGRESS) {
      connecting = true;
      return true;
    }
    remember_error(strerror(errno));
    close_socket();
  }
  return false;
}

static void connect_failed(void) {
  close_socket();
  forget_addresses();
  pending = PENDING_DOWN;
  pending_reason = NET_DOWN_REFUSED;
}

void wasmqtt_net_open(void) {
  close_socket();
  forget_addresses();
  pending = PENDING_NONE;
  last_error[0] = '\0';
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int status = getaddrinfo(broker_host, broker_port, &hints, &addresses);
  if (status != 0) {
    addresses = NULL;
    remember_error(gai_strerror(status));
    connect_failed();
    return;
  }
  next_address = addresses;
  if (!connect_next()) connect_failed();
}

uint32_t wasmqtt_net_send(const uint8_t* bytes, uint32_t len) {
  if (sock < 0 || connecting || pending != PENDING_NONE) return 0;
  ssize_t sent = send(sock, bytes, len, MSG_NOSIGNAL);
  if (sent >= 0) {
    if ((uint32_t)sent < len) want_write = true;
    return (uint32_t)sent;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    want_write = true;
    return 0;
  }
  // reported as netDown by the next posix_step, outside this module call
  remember_error(strerror(errno));
  close_socket();
  pending = PENDING_DOWN;
  pending_reason = NET_DOWN_RESET;
  return 0;
}

void wasmqtt_net_close(void) {
  close_socket();
  forget_addresses();
  pending = PENDING_NONE;
}

/** Hands what the connection did inside a module call to the module, now that no call is running. */
static void report_pending(void) {
  while (pending != PENDING_NONE) {
    enum pending what = pending;
    pending = PENDING_NONE;
    if (what == PENDING_UP) {
      forget_addresses();
      link_net_up();
    } else {
      link_net_down(pending_reason);
    }
  }
}

/** The non-blocking connect finished: up, or the next address, or refused. */
static void connect_finished(void) {
  int error = 0;
  socklen_t size = sizeof error;
  if (getsockopt(sock, SOL_SOCKET, SO_ERROR, &error, &size) != 0) error = errno;
  if (error == 0) {
    connecting = false;
    pending = PENDING_UP;
    return;
  }
  remember_error(strerror(error));
  close_socket();
  if (!connect_next()) connect_failed();
}

/** Moves what the socket has into the module's receive buffer, as far as it has room. */
static void receive(void) {
  uint32_t connection = generation;
  for (;;) {
    uint8_t* into;
    uint32_t space = link_rx_window(&into);
    if (connection != generation || space == 0) return;
    ssize_t n = recv(sock, into, space, 0);
    if (n > 0) {
      link_rx_commit((uint32_t)n);
      if (connection != generation) return;  // the module closed the connection because of the input
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    remember_error(n == 0 ? "the broker closed the connection" : strerror(errno));
    close_socket();
    link_net_down(n == 0 ? NET_DOWN_CLOSED : NET_DOWN_RESET);
    return;
  }
}

void posix_step(struct pollfd* extra, int extra_count, uint32_t max_wait_ms) {
  report_pending();
  uint32_t delay = link_tick();
  if (pending != PENDING_NONE) delay = 0;
  if (delay > max_wait_ms) delay = max_wait_ms;
  struct pollfd fds[8];
  int count = 0;
  if (sock >= 0 && pending == PENDING_NONE) {
    short events = connecting ? POLLOUT : 0;
    if (!connecting && want_write) events |= POLLOUT;
    if (!connecting && Z_wasmqttZ_rxSpace(link_module()) > 0) events |= POLLIN;
    fds[count++] = (struct pollfd){.fd = sock, .events = events, .revents = 0};
  }
  int first_extra = count;
  for (int i = 0; i < extra_count && count < 8; i++) {
    extra[i].revents = 0;
    fds[count++] = extra[i];
  }
  int ready = poll(fds, (nfds_t)count, delay > 0x7fffffffu ? -1 : (int)delay);
  if (ready <= 0) return;
  for (int i = first_extra; i < count; i++) extra[i - first_extra].revents = fds[i].revents;
  if (first_extra == 0 || fds[0].revents == 0) return;
  if (connecting) {
    connect_finished();
  } else {
    if (fds[0].revents & POLLOUT) want_write = false;  // the next tick offers the rest
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) receive();
  }
  // so the caller sees what the connection's end or start led to before the next wait
  report_pending();
}

static void on_signal(int signal) {
  (void)signal;
  interrupted = 1;
}

bool posix_interrupted(void) {
  return interrupted != 0;
}

void posix_catch_signals(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, NULL);
  sigaction(SIGTERM, &action, NULL);
  signal(SIGPIPE, SIG_IGN);
}
