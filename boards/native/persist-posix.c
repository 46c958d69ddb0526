/*
 * The state file of persist-posix.h: each save is written in place at its slot's offset
 * (pwrite) and fsynced before it counts as saved, the directory too when the file was
 * new, so a crash or power loss tears at most the slot being written and the other one
 * still holds the last complete save.
 */
#include "persist-posix.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "persist.h"

static const char* state_path;
static int state_fd = -1;
static char state_error[300];

void posix_set_state_file(const char* path) {
  state_path = path;
}

const char* posix_state_error(void) {
  return state_error[0] == '\0' ? NULL : state_error;
}

static bool failed(const char* what) {
  snprintf(state_error, sizeof state_error, "%s %s: %s", what, state_path, strerror(errno));
  return false;
}

bool wasmqtt_slot_load(uint32_t slot, uint8_t* into, uint32_t len) {
  int fd = open(state_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? false : failed("cannot open");
  uint32_t got = 0;
  while (got < len) {
    ssize_t n = pread(fd, into + got, len - got, (off_t)slot * len + got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      failed("cannot read");
      break;
    }
    if (n == 0) break;  // the file ends before this slot does: never written
    got += (uint32_t)n;
  }
  close(fd);
  return got == len;
}

/** fsyncs the directory holding the state file, so a new file's name survives a crash too. */
static bool sync_directory(void) {
  char copy[4096];
  snprintf(copy, sizeof copy, "%s", state_path);
  int dir = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return failed("cannot open the directory of");
  bool synced = fsync(dir) == 0 || failed("cannot fsync the directory of");
  close(dir);
  return synced;
}

bool wasmqtt_slot_save(uint32_t slot, const uint8_t* image, uint32_t len) {
  if (state_fd < 0) {
    state_fd = open(state_path, O_RDWR | O_CLOEXEC);
    if (state_fd < 0 && errno == ENOENT) {
      state_fd = open(state_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (state_fd >= 0 && !sync_directory()) return false;
    }
    if (state_fd < 0) return failed("cannot open");
  }
  uint32_t written = 0;
  while (written < len) {
    ssize_t n = pwrite(state_fd, image + written, len - written, (off_t)slot * len + written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failed("cannot write");
    written += (uint32_t)n;
  }
  if (fsync(state_fd) != 0) return failed("cannot fsync");
  state_error[0] = '\0';
  return true;
}
