// The non-inline part of CCastySystem: calls that need _GNU_SOURCE.
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include "CCastySystem.h"

const char *casty_strerror(int error, char *buffer, size_t length) {
    // The GNU strerror_r returns a pointer that may or may not be `buffer`.
    return strerror_r(error, buffer, length);
}

int casty_accept(int fd, struct sockaddr *address, socklen_t *length) {
    return accept4(fd, address, length, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int casty_spawn_close_from(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

int casty_set_thread_name(const char *name) {
    char truncated[16];
    strncpy(truncated, name, sizeof truncated - 1);
    truncated[sizeof truncated - 1] = '\0';
    return pthread_setname_np(pthread_self(), truncated);
}

size_t casty_heap_in_use(void) {
    return mallinfo2().uordblks;
}

int casty_heap_trim(void) {
    return malloc_trim(0);
}
