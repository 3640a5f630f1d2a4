// OpenSSL loaded with dlopen: see CCastyTLS.h.
#include "CCastyTLS.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The constants of OpenSSL 3's headers that Casty uses.
enum {
    SSL_ERROR_SSL = 1,
    SSL_ERROR_WANT_READ = 2,
    SSL_ERROR_WANT_WRITE = 3,
    SSL_ERROR_SYSCALL = 5,
    SSL_ERROR_ZERO_RETURN = 6,
    SSL_VERIFY_PEER = 1,
    SSL_CTRL_MODE = 33,
    SSL_CTRL_SET_TLSEXT_HOSTNAME = 55,
    SSL_CTRL_SET_MIN_PROTO_VERSION = 123,
    TLSEXT_NAMETYPE_host_name = 0,
    TLS1_2_VERSION = 0x0303,
    X509_V_OK = 0,
};
// Partial writes, and a retried write may pass another buffer (the caller's unsent tail).
static const long SSL_MODE_ENABLE_PARTIAL_WRITE = 0x1, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER = 0x2;
// A server that closes without close_notify (most streaming servers) ends the stream instead of failing it.
static const uint64_t SSL_OP_IGNORE_UNEXPECTED_EOF = (uint64_t)1 << 7;

/// The functions, once loaded.
static struct {
    int loaded;
    const void *(*client_method)(void);
    void *(*ctx_new)(const void *);
    void (*ctx_free)(void *);
    void (*ctx_set_verify)(void *, int, void *);
    int (*ctx_set_default_verify_paths)(void *);
    long (*ctx_ctrl)(void *, int, long, void *);
    uint64_t (*ctx_set_options)(void *, uint64_t);
    void *(*ssl_new)(void *);
    void (*ssl_free)(void *);
    int (*set_fd)(void *, int);
    long (*ctrl)(void *, int, long, void *);
    int (*set1_host)(void *, const char *);
    void (*set_connect_state)(void *);
    int (*do_handshake)(void *);
    int (*read)(void *, void *, int);
    int (*write)(void *, const void *, int);
    int (*get_error)(const void *, int);
    long (*get_verify_result)(const void *);
    unsigned long (*err_get_error)(void);
    void (*err_error_string_n)(unsigned long, char *, size_t);
    void (*err_clear_error)(void);
    const char *(*verify_error_string)(long);
    void *(*get0_param)(void *);
    int (*param_set1_ip_asc)(void *, const char *);
} tls;

/// Opens the first library of a `:`-separated list that loads; NULL with the first reason in `error`.
static void *open_first(const char *names, char *error, size_t length) {
    char list[1024];
    snprintf(list, sizeof list, "%s", names);
    char *saved = NULL;
    for (char *name = strtok_r(list, ":", &saved); name != NULL; name = strtok_r(NULL, ":", &saved)) {
        void *library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
        if (library != NULL) { return library; }
        if (error[0] == '\0') {
            const char *reason = dlerror();
            snprintf(error, length, "%s", reason ? reason : name);
        }
    }
    return NULL;
}

int casty_tls_load(const char *ssl_names, const char *crypto_names, char *error, size_t length) {
    error[0] = '\0';
    if (tls.loaded) { return 0; }
    void *ssl = open_first(ssl_names, error, length);
    if (ssl == NULL) { return -1; }
    void *crypto = open_first(crypto_names, error, length);
    if (crypto == NULL) { return -1; }
#define CASTY_TLS_SYMBOL(library, field, symbol)                                                   \
    *(void **)(&tls.field) = dlsym(library, symbol);                                              \
    if (tls.field == NULL) {                                                                      \
        snprintf(error, length, "the library has no %s", symbol);                                 \
        return -1;                                                                                \
    }
    CASTY_TLS_SYMBOL(ssl, client_method, "TLS_client_method")
    CASTY_TLS_SYMBOL(ssl, ctx_new, "SSL_CTX_new")
    CASTY_TLS_SYMBOL(ssl, ctx_free, "SSL_CTX_free")
    CASTY_TLS_SYMBOL(ssl, ctx_set_verify, "SSL_CTX_set_verify")
    CASTY_TLS_SYMBOL(ssl, ctx_set_default_verify_paths, "SSL_CTX_set_default_verify_paths")
    CASTY_TLS_SYMBOL(ssl, ctx_ctrl, "SSL_CTX_ctrl")
    CASTY_TLS_SYMBOL(ssl, ctx_set_options, "SSL_CTX_set_options")
    CASTY_TLS_SYMBOL(ssl, ssl_new, "SSL_new")
    CASTY_TLS_SYMBOL(ssl, ssl_free, "SSL_free")
    CASTY_TLS_SYMBOL(ssl, set_fd, "SSL_set_fd")
    CASTY_TLS_SYMBOL(ssl, ctrl, "SSL_ctrl")
    CASTY_TLS_SYMBOL(ssl, set1_host, "SSL_set1_host")
    CASTY_TLS_SYMBOL(ssl, set_connect_state, "SSL_set_connect_state")
    CASTY_TLS_SYMBOL(ssl, do_handshake, "SSL_do_handshake")
    CASTY_TLS_SYMBOL(ssl, read, "SSL_read")
    CASTY_TLS_SYMBOL(ssl, write, "SSL_write")
    CASTY_TLS_SYMBOL(ssl, get_error, "SSL_get_error")
    CASTY_TLS_SYMBOL(ssl, get_verify_result, "SSL_get_verify_result")
    CASTY_TLS_SYMBOL(crypto, err_get_error, "ERR_get_error")
    CASTY_TLS_SYMBOL(crypto, err_error_string_n, "ERR_error_string_n")
    CASTY_TLS_SYMBOL(crypto, err_clear_error, "ERR_clear_error")
    CASTY_TLS_SYMBOL(crypto, verify_error_string, "X509_verify_cert_error_string")
    CASTY_TLS_SYMBOL(ssl, get0_param, "SSL_get0_param")
    CASTY_TLS_SYMBOL(crypto, param_set1_ip_asc, "X509_VERIFY_PARAM_set1_ip_asc")
#undef CASTY_TLS_SYMBOL
    tls.loaded = 1;
    return 0;
}

/// OpenSSL's oldest queued error as text, or `fallback`; the queue is emptied.
static void queued_error(char *error, size_t length, const char *fallback) {
    unsigned long code = tls.err_get_error();
    if (code != 0) {
        tls.err_error_string_n(code, error, length);
    } else {
        snprintf(error, length, "%s", fallback);
    }
    tls.err_clear_error();
}

void *casty_tls_context_new(char *error, size_t length) {
    if (!tls.loaded) {
        snprintf(error, length, "OpenSSL is not loaded");
        return NULL;
    }
    void *context = tls.ctx_new(tls.client_method());
    if (context == NULL) {
        queued_error(error, length, "SSL_CTX_new failed");
        return NULL;
    }
    tls.ctx_set_verify(context, SSL_VERIFY_PEER, NULL);
    if (tls.ctx_set_default_verify_paths(context) != 1) {
        queued_error(error, length, "the system's certificates could not be read");
        tls.ctx_free(context);
        return NULL;
    }
    tls.ctx_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
    tls.ctx_ctrl(context, SSL_CTRL_MODE, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, NULL);
    tls.ctx_set_options(context, SSL_OP_IGNORE_UNEXPECTED_EOF);
    return context;
}

void *casty_tls_session_new(void *context, int fd, const char *host, char *error, size_t length) {
    void *session = tls.ssl_new(context);
    if (session == NULL) {
        queued_error(error, length, "SSL_new failed");
        return NULL;
    }
    // The name the certificate must carry, and SNI; an IP address is checked against the certificate's IP
    // addresses instead, and is not sent as SNI (which names hosts only).
    unsigned char address[16];
    int numeric = inet_pton(AF_INET, host, address) == 1 || inet_pton(AF_INET6, host, address) == 1;
    int named = numeric ? tls.param_set1_ip_asc(tls.get0_param(session), host)
                        : tls.ctrl(session, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, (void *)host) == 1
                              && tls.set1_host(session, host) == 1;
    if (tls.set_fd(session, fd) != 1 || named != 1) {
        queued_error(error, length, "the session could not be set up");
        tls.ssl_free(session);
        return NULL;
    }
    tls.set_connect_state(session);
    return session;
}

/// The outcome of a call that returned `result` <= 0.
static int outcome(void *session, int result) {
    switch (tls.get_error(session, result)) {
    case SSL_ERROR_WANT_READ: return CASTY_TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE: return CASTY_TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN: return CASTY_TLS_CLOSED;
    case SSL_ERROR_SYSCALL:
        // With nothing queued, the peer closed (or reset) the connection under the session.
        if (errno == 0 || errno == EAGAIN) { return CASTY_TLS_CLOSED; }
        return CASTY_TLS_FAILED;
    default: return CASTY_TLS_FAILED;
    }
}

int casty_tls_handshake(void *session) {
    errno = 0;
    int result = tls.do_handshake(session);
    if (result == 1) { return 1; }
    int next = outcome(session, result);
    return next == CASTY_TLS_CLOSED ? CASTY_TLS_FAILED : next;  // closed before the handshake ended: a failure
}

int casty_tls_read(void *session, void *buffer, int length) {
    errno = 0;
    int result = tls.read(session, buffer, length);
    return result > 0 ? result : outcome(session, result);
}

int casty_tls_write(void *session, const void *buffer, int length) {
    errno = 0;
    int result = tls.write(session, buffer, length);
    if (result > 0) { return result; }
    int next = outcome(session, result);
    return next == CASTY_TLS_CLOSED ? CASTY_TLS_FAILED : next;
}

void casty_tls_error(void *session, char *error, size_t length) {
    if (!tls.loaded) {
        snprintf(error, length, "OpenSSL is not loaded");
        return;
    }
    long verdict = session != NULL ? tls.get_verify_result(session) : X509_V_OK;
    if (verdict != X509_V_OK) {
        snprintf(error, length, "certificate not accepted: %s", tls.verify_error_string(verdict));
        tls.err_clear_error();
        return;
    }
    int saved = errno;
    queued_error(error, length, saved != 0 ? strerror(saved) : "the connection closed during the TLS handshake");
}

void casty_tls_session_free(void *session) {
    if (session != NULL && tls.loaded) { tls.ssl_free(session); }
}
