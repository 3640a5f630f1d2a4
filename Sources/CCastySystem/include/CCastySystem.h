// CCastySystem — the few Linux calls that Swift's Glibc module does not export.
//
// Everything here is a thin wrapper with a `casty_` prefix. Constants are exposed as
// functions so that Swift sees them with a plain integer type (glibc defines several of
// them as enums or as expressions that Swift's macro importer cannot read).

#ifndef CCASTY_SYSTEM_H
#define CCASTY_SYSTEM_H

#include <spawn.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include "CCastySRT.h"
#include "CCastyTLS.h"

// MARK: epoll

/// epoll interest / readiness bits.
static inline uint32_t casty_epollin(void) { return EPOLLIN; }
static inline uint32_t casty_epollout(void) { return EPOLLOUT; }
static inline uint32_t casty_epollerr(void) { return EPOLLERR; }
static inline uint32_t casty_epollhup(void) { return EPOLLHUP; }
static inline uint32_t casty_epollrdhup(void) { return EPOLLRDHUP; }

/// poll's "the peer shut its sending side" bit, `POLLRDHUP`: the same bit as `EPOLLRDHUP` (glibc defines
/// `POLLRDHUP` only under `_GNU_SOURCE`).
static inline short casty_pollrdhup(void) { return (short)EPOLLRDHUP; }

/// epoll_ctl operations.
static inline int casty_epoll_ctl_add(void) { return EPOLL_CTL_ADD; }
static inline int casty_epoll_ctl_mod(void) { return EPOLL_CTL_MOD; }
static inline int casty_epoll_ctl_del(void) { return EPOLL_CTL_DEL; }

/// A new epoll instance, close-on-exec.
static inline int casty_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

/// Adds, modifies or removes `fd`; `data` comes back unchanged with each event.
static inline int casty_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event event;
    event.events = events;
    event.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &event);
}

/// Size in bytes of one (packed) `struct epoll_event`, to allocate an event batch.
static inline size_t casty_epoll_event_size(void) { return sizeof(struct epoll_event); }

/// Waits for events into `buffer` (room for `capacity` events). Returns the count or -1.
static inline int casty_epoll_wait(int epfd, void *buffer, int capacity, int timeout_ms) {
    return epoll_wait(epfd, (struct epoll_event *)buffer, capacity, timeout_ms);
}

/// Reads event number `index` of a batch filled by `casty_epoll_wait`.
static inline void casty_epoll_event_at(const void *buffer, int index, uint32_t *events, uint64_t *data) {
    const struct epoll_event *event = ((const struct epoll_event *)buffer) + index;
    *events = event->events;
    *data = event->data.u64;
}

// MARK: eventfd

/// A non-blocking, close-on-exec eventfd used to wake an event loop.
static inline int casty_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

// MARK: sockets

/// `SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC`: the type for a new non-blocking TCP socket.
static inline int casty_sock_stream_nonblocking(void) { return SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC; }


/// Bytes in the socket's send queue not yet acknowledged by the peer (SIOCOUTQ), or -1.
static inline int casty_unsent_bytes(int fd) {
    int value = 0;
    if (ioctl(fd, SIOCOUTQ, &value) < 0) { return -1; }
    return value;
}

/// Bytes the kernel received on the socket that were not read yet (SIOCINQ), or -1.
static inline int casty_unread_bytes(int fd) {
    int value = 0;
    if (ioctl(fd, SIOCINQ, &value) < 0) { return -1; }
    return value;
}

/// Turns TCP keepalive on: the kernel probes the peer after `idle` seconds without traffic, then every `interval`
/// seconds, and resets the connection after `count` unanswered probes. Returns 0, or -1 with errno set.
static inline int casty_keepalive(int fd, int idle, int interval, int count) {
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) < 0) { return -1; }
    if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle) < 0) { return -1; }
    if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval) < 0) { return -1; }
    return setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

/// How many milliseconds ago the connection last received data, and last received an acknowledgement — a
/// keepalive probe's answer is one (TCP_INFO's `tcpi_last_data_recv`, `tcpi_last_ack_recv`). Returns 0, or -1.
static inline int casty_tcp_last_received(int fd, uint32_t *data_ms, uint32_t *ack_ms) {
    struct tcp_info info;
    socklen_t length = sizeof info;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) < 0) { return -1; }
    *data_ms = info.tcpi_last_data_recv;
    *ack_ms = info.tcpi_last_ack_recv;
    return 0;
}

// MARK: defined in CCastySystem.c, which needs _GNU_SOURCE

/// 1 when `path` names the file open as `fd` (the same device and inode, through any link), 0 when it names
/// another file or none (an access log that logrotate renamed, or that was deleted).
static inline int casty_path_names_fd(const char *path, int fd) {
    struct stat named, open;
    if (stat(path, &named) != 0 || fstat(fd, &open) != 0) return 0;
    return named.st_dev == open.st_dev && named.st_ino == open.st_ino;
}

/// The strerror text for `error`, thread-safe. Writes into `buffer` and returns a pointer to the text.
const char *casty_strerror(int error, char *buffer, size_t length);

/// accept4 with `SOCK_NONBLOCK | SOCK_CLOEXEC`: the accepted socket is non-blocking from birth.
int casty_accept(int fd, struct sockaddr *address, socklen_t *length);

/// posix_spawn_file_actions_addclosefrom_np, a GNU extension: the child spawned with `actions` closes every
/// descriptor from `from` on before it runs. Returns 0 or an errno.
int casty_spawn_close_from(posix_spawn_file_actions_t *actions, int from);

/// Names the calling thread (at most 15 characters are kept). Returns 0 or an errno.
int casty_set_thread_name(const char *name);

/// Bytes the C allocator has handed out and not yet had back (mallinfo2's `uordblks`): what the program holds,
/// unlike RSS, which also counts freed memory the allocator keeps.
size_t casty_heap_in_use(void);

/// Returns the allocator's free memory to the system where it can (malloc_trim). Returns 1 if some was.
int casty_heap_trim(void);

#endif
