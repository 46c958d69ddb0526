/*
 * persist.h's slot storage on Linux (persist-posix.c): one state file holding slot A in
 * its first persistLength() bytes and slot B in the next, the layout of the Node host's
 * `persist: "<path>"` file, so either host resumes the other's session of one profile.
 */
#ifndef WASMQTT_PERSIST_POSIX_H
#define WASMQTT_PERSIST_POSIX_H

/** The state file; the string must outlive the program's run. Nothing is read or created until the first restore / save. */
void posix_set_state_file(const char* path);

/** Why the last load or save of the state file failed ("write: No space left on device"), or NULL. */
const char* posix_state_error(void);

#endif
