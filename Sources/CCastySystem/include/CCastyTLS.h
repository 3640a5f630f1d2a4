// CCastyTLS — the client side of TLS (https:// upstreams, applications), through the system's OpenSSL loaded at
// run time with dlopen.
//
// Casty is built without OpenSSL's headers: the few functions it needs are looked up with dlsym the first time an
// https:// URL is opened, from libssl.so.3 and libcrypto.so.3 (Debian's libssl3). A machine without them gets one
// clear error naming the package. A session wraps one non-blocking socket: the handshake, reads and writes return
// CASTY_TLS_WANT_READ / CASTY_TLS_WANT_WRITE when the socket must become readable or writable first, so the caller's
// event loop waits for that and calls again — nothing here blocks.

#ifndef CCASTY_TLS_H
#define CCASTY_TLS_H

#include <stddef.h>

/// What the handshake, a read or a write may return besides a byte count.
enum {
    /// A read: the peer closed the TLS session (close_notify, or the connection ended).
    CASTY_TLS_CLOSED = 0,
    /// Failed: casty_tls_error tells why.
    CASTY_TLS_FAILED = -1,
    /// Call again once the socket is readable.
    CASTY_TLS_WANT_READ = -2,
    /// Call again once the socket is writable.
    CASTY_TLS_WANT_WRITE = -3,
};

/// Loads OpenSSL from the `:`-separated library names `ssl` and `crypto` (the first of each that loads). 0 when
/// loaded (again: nothing more happens), -1 with the reason in `error`.
int casty_tls_load(const char *ssl, const char *crypto, char *error, size_t length);

/// A client context that verifies servers against the system's certificates (or those of `SSL_CERT_FILE` /
/// `SSL_CERT_DIR`, as OpenSSL reads them), TLS 1.2 at least. NULL with the reason in `error`.
void *casty_tls_context_new(char *error, size_t length);

/// A session on the connected, non-blocking socket `fd`, for the server `host` (sent as SNI and checked against
/// the certificate). NULL with the reason in `error`.
void *casty_tls_session_new(void *context, int fd, const char *host, char *error, size_t length);

/// Goes on with the handshake: 1 when it is done, or CASTY_TLS_WANT_READ / _WANT_WRITE / _FAILED.
int casty_tls_handshake(void *session);

/// Reads decrypted bytes: a count > 0, CASTY_TLS_CLOSED, or CASTY_TLS_WANT_READ / _WANT_WRITE / _FAILED.
int casty_tls_read(void *session, void *buffer, int length);

/// Writes bytes (part of them, maybe): a count > 0, or CASTY_TLS_WANT_READ / _WANT_WRITE / _FAILED. A call after a
/// WANT may pass other bytes (the session accepts a moving buffer).
int casty_tls_write(void *session, const void *buffer, int length);

/// Why the last call on `session` failed (or, with NULL, the last failure of this thread): the certificate check's
/// verdict if it failed, else OpenSSL's error queue. Clears the queue.
void casty_tls_error(void *session, char *error, size_t length);

/// Frees a session (not its socket).
void casty_tls_session_free(void *session);

#endif
