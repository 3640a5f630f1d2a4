// CCastySRT — libsrt (Secure Reliable Transport), loaded at run time with dlopen.
//
// Casty is built without SRT's headers or library: the few types and constants it needs are declared here, as
// libsrt 1.5 defines them (srt.h), and the functions are looked up with dlsym when `--srt-port` asks for SRT.
// A machine without libsrt then gets one clear error instead of a program that does not start at all.
//
// Every function below is a `casty_srt_` wrapper around the libsrt function of the same name; calling one before
// `casty_srt_load` succeeded returns -1.

#ifndef CCASTY_SRT_H
#define CCASTY_SRT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/// SRT's socket: an id in libsrt's own table, not a kernel descriptor.
typedef int casty_srt_socket;

/// The options Casty sets or reads (SRT_SOCKOPT).
enum {
    CASTY_SRTO_RCVSYN = 2,        // bool: receiving blocks
    CASTY_SRTO_FC = 4,            // int, packets: the most in flight, and the size of the receiver's loss list
    CASTY_SRTO_RCVBUF = 6,        // int, bytes: the receive buffer (at most SRTO_FC packets)
    CASTY_SRTO_REUSEADDR = 15,    // bool
    CASTY_SRTO_LATENCY = 23,      // int, ms: the receiver's and the peer's latency
    CASTY_SRTO_PASSPHRASE = 26,   // string, 10–79 characters
    CASTY_SRTO_STREAMID = 46,     // string, up to 512 bytes
    CASTY_SRTO_PEERIDLETIMEO = 55, // int, ms: a peer silent this long is given up (libsrt's default 5000)
};

/// SRT's epoll flags (SRT_EPOLL_OPT).
enum { CASTY_SRT_EPOLL_IN = 0x1, CASTY_SRT_EPOLL_ERR = 0x8 };
/// srt_epoll_set: waiting on an empty set is not an error.
enum { CASTY_SRT_EPOLL_ENABLE_EMPTY = 0x1 };
/// Socket states (SRT_SOCKSTATUS).
enum { CASTY_SRTS_CONNECTED = 5, CASTY_SRTS_BROKEN = 6, CASTY_SRTS_CLOSING = 7, CASTY_SRTS_CLOSED = 8, CASTY_SRTS_NONEXIST = 9 };
/// Error codes (SRT_ERRNO): a system call on the UDP socket failed (creating, configuring or binding it: its
/// errno tells why), and "would block" on a non-blocking socket.
enum { CASTY_SRT_ESOCKFAIL = 1003, CASTY_SRT_EASYNCRCV = 6002 };
/// Rejection reasons of the application's range (access_control.h: 1000 + an HTTP-like status): SRT_REJX_UNAUTHORIZED
/// (no credentials where some are needed), SRT_REJX_OVERLOAD (the server is too loaded), SRT_REJX_FORBIDDEN (not
/// allowed), SRT_REJX_CONFLICT (the resource is in use).
enum {
    CASTY_SRT_REJX_UNAUTHORIZED = 1401,
    CASTY_SRT_REJX_OVERLOAD = 1402,
    CASTY_SRT_REJX_FORBIDDEN = 1403,
    CASTY_SRT_REJX_CONFLICT = 1409,
};

/// One event of srt_epoll_uwait (SRT_EPOLL_EVENT).
typedef struct {
    casty_srt_socket fd;
    int events;
} casty_srt_epoll_event;

/// The listen callback (srt_listen_callback_fn): called on libsrt's thread for every caller, before the
/// handshake completes; return 0 to go on, -1 to reject.
typedef int (*casty_srt_listen_fn)(void *opaque, casty_srt_socket ns, int hsversion, const struct sockaddr *peer,
                                   const char *streamid);

/// A handler of libsrt's log lines: called on libsrt's threads with the line's level (syslog's: 2 critical, 3
/// error, 4 warning) and its text, which it must not keep.
typedef void (*casty_srt_log_fn)(int level, const char *message);

/// The statistics Casty shows, copied out of SRT's CBytePerfMon.
typedef struct {
    int64_t packets_received;      // pktRecvTotal
    int64_t packets_lost;          // pktRcvLossTotal
    int64_t packets_retransmitted; // pktRcvRetrans (the total counts the sender's)
    int64_t packets_dropped;       // pktRcvDropTotal: too late to play
    int64_t packets_undecrypted;   // pktRcvUndecryptTotal
    int64_t bytes_received;        // byteRecvTotal
    double rtt_ms;                 // msRTT
    double receive_rate_mbps;      // mbpsRecvRate
    int32_t latency_ms;            // msRcvTsbPdDelay
    int32_t mss;                   // byteMSS (1500 unless configured: a check on the struct's layout)
} casty_srt_stats;

/// Loads libsrt from the first of `names` (a list separated by ':') that dlopen finds, and looks up every
/// function. Returns 0, or -1 with the reason in `error` (dlerror's text, or the symbol missing).
int casty_srt_load(const char *names, char *error, size_t length);
/// Whether a library is loaded.
int casty_srt_loaded(void);

int casty_srt_startup(void);
casty_srt_socket casty_srt_create_socket(void);
int casty_srt_setsockflag(casty_srt_socket socket, int option, const void *value, int length);
int casty_srt_getsockflag(casty_srt_socket socket, int option, void *value, int *length);
int casty_srt_bind(casty_srt_socket socket, const struct sockaddr *address, int length);
/// The address `socket` is bound to (the port the system chose, when port 0 was asked).
int casty_srt_getsockname(casty_srt_socket socket, struct sockaddr_storage *address, int *length);
int casty_srt_listen(casty_srt_socket socket, int backlog);
int casty_srt_listen_callback(casty_srt_socket socket, casty_srt_listen_fn callback, void *opaque);
casty_srt_socket casty_srt_accept(casty_srt_socket socket, struct sockaddr_storage *address, int *length);
int casty_srt_recvmsg(casty_srt_socket socket, char *buffer, int length);
int casty_srt_close(casty_srt_socket socket);
int casty_srt_getsockstate(casty_srt_socket socket);
int casty_srt_setrejectreason(casty_srt_socket socket, int reason);
int casty_srt_getrejectreason(casty_srt_socket socket);
/// The last error's code on this thread (0 when none).
int casty_srt_getlasterror(void);
/// The system's errno behind the last error on this thread (srt_getlasterror's out-parameter: EADDRINUSE for a
/// port in use), 0 when none or when the library is not loaded. Meaningful for CASTY_SRT_ESOCKFAIL only: libsrt
/// may leave a stale errno with its other errors.
int casty_srt_getlasterror_errno(void);
/// The last error's text on this thread.
const char *casty_srt_getlasterror_str(void);
int casty_srt_epoll_create(void);
int casty_srt_epoll_set(int eid, int flags);
int casty_srt_epoll_add_usock(int eid, casty_srt_socket socket, int events);
int casty_srt_epoll_remove_usock(int eid, casty_srt_socket socket);
int casty_srt_epoll_uwait(int eid, casty_srt_epoll_event *events, int capacity, int64_t timeout_ms);
int casty_srt_epoll_release(int eid);
/// Hands libsrt's log lines from warnings up to `handler` instead of standard error: how Casty learns why a caller
/// its listen callback let go on was then rejected (a wrong passphrase). Returns 0, or -1 when the library is not
/// loaded or has no srt_setloghandler.
int casty_srt_set_log_handler(casty_srt_log_fn handler);
/// srt_bstats, the totals since the connection began, copied into `stats`.
int casty_srt_bstats(casty_srt_socket socket, casty_srt_stats *stats);

#endif
