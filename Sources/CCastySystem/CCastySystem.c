// The non-inline part of CCastySystem: calls that need _GNU_SOURCE.
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <errno.h>
#include <stdint.h>
#include <sys/resource.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "CCastySystem.h"

const char *casty_strerror(int error, char *buffer, size_t length) {
    // The GNU strerror_r returns a pointer that may or may not be `buffer`.
    return strerror_r(error, buffer, length);
}

int casty_accept(int fd, struct sockaddr *address, socklen_t *length) {
    return accept4(fd, address, length, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int casty_set_thread_name(const char *name) {
    char truncated[16];
    strncpy(truncated, name, sizeof truncated - 1);
    truncated[sizeof truncated - 1] = '\0';
    return pthread_setname_np(pthread_self(), truncated);
}

int casty_set_thread_slice(uint64_t nanoseconds) {
    // struct sched_attr as the kernel defines it (glibc exports no wrapper before 2.41).
    struct {
        uint32_t size;
        uint32_t sched_policy;
        uint64_t sched_flags;
        int32_t sched_nice;
        uint32_t sched_priority;
        uint64_t sched_runtime;
        uint64_t sched_deadline;
        uint64_t sched_period;
    } attr = {0};
    attr.size = sizeof attr;
    attr.sched_policy = 0;  // SCHED_OTHER
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, 0);  // the calling thread's own nice value, kept as it is
    if (errno != 0) return errno;
    attr.sched_nice = nice;
    attr.sched_runtime = nanoseconds;
    if (syscall(SYS_sched_setattr, 0, &attr, 0) != 0) return errno;
    return 0;
}

size_t casty_heap_in_use(void) {
    return mallinfo2().uordblks;
}

int casty_heap_trim(void) {
    return malloc_trim(0);
}
