// libsrt loaded with dlopen: see CCastySRT.h.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include "CCastySRT.h"

// SRT 1.5's CBytePerfMon up to the fields Casty reads (the layout of srt.h since 1.4). The library writes its whole
// struct, which grew over the versions: the union leaves room for any of them.
struct casty_srt_perf {
    int64_t msTimeStamp;
    int64_t pktSentTotal;
    int64_t pktRecvTotal;
    int pktSndLossTotal;
    int pktRcvLossTotal;
    int pktRetransTotal;
    int pktSentACKTotal;
    int pktRecvACKTotal;
    int pktSentNAKTotal;
    int pktRecvNAKTotal;
    int64_t usSndDurationTotal;
    int pktSndDropTotal;
    int pktRcvDropTotal;
    int pktRcvUndecryptTotal;
    uint64_t byteSentTotal;
    uint64_t byteRecvTotal;
    uint64_t byteRcvLossTotal;
    uint64_t byteRetransTotal;
    uint64_t byteSndDropTotal;
    uint64_t byteRcvDropTotal;
    uint64_t byteRcvUndecryptTotal;
    int64_t pktSent;
    int64_t pktRecv;
    int pktSndLoss;
    int pktRcvLoss;
    int pktRetrans;
    int pktRcvRetrans;
    int pktSentACK;
    int pktRecvACK;
    int pktSentNAK;
    int pktRecvNAK;
    double mbpsSendRate;
    double mbpsRecvRate;
    int64_t usSndDuration;
    int pktReorderDistance;
    double pktRcvAvgBelatedTime;
    int64_t pktRcvBelated;
    int pktSndDrop;
    int pktRcvDrop;
    int pktRcvUndecrypt;
    uint64_t byteSent;
    uint64_t byteRecv;
    uint64_t byteRcvLoss;
    uint64_t byteRetrans;
    uint64_t byteSndDrop;
    uint64_t byteRcvDrop;
    uint64_t byteRcvUndecrypt;
    double usPktSndPeriod;
    int pktFlowWindow;
    int pktCongestionWindow;
    int pktFlightSize;
    double msRTT;
    double mbpsBandwidth;
    int byteAvailSndBuf;
    int byteAvailRcvBuf;
    double mbpsMaxBW;
    int byteMSS;
    int pktSndBuf;
    int byteSndBuf;
    int msSndBuf;
    int msSndTsbPdDelay;
    int pktRcvBuf;
    int byteRcvBuf;
    int msRcvBuf;
    int msRcvTsbPdDelay;
};

static struct {
    int loaded;
    int (*startup)(void);
    int (*create_socket)(void);
    int (*setsockflag)(int, int, const void *, int);
    int (*getsockflag)(int, int, void *, int *);
    int (*bind)(int, const struct sockaddr *, int);
    int (*getsockname)(int, struct sockaddr *, int *);
    int (*listen)(int, int);
    int (*listen_callback)(int, casty_srt_listen_fn, void *);
    int (*accept)(int, struct sockaddr *, int *);
    int (*recvmsg)(int, char *, int);
    int (*close)(int);
    int (*getsockstate)(int);
    int (*setrejectreason)(int, int);
    int (*getrejectreason)(int);
    int (*getlasterror)(int *);
    const char *(*getlasterror_str)(void);
    int (*epoll_create)(void);
    int (*epoll_set)(int, int);
    int (*epoll_add_usock)(int, int, const int *);
    int (*epoll_remove_usock)(int, int);
    int (*epoll_uwait)(int, casty_srt_epoll_event *, int, int64_t);
    int (*epoll_release)(int);
    int (*bstats)(int, struct casty_srt_perf *, int);
    void (*setloglevel)(int);
    // Optional (a library without it keeps logging to standard error): where libsrt's log lines go.
    void (*setloghandler)(void *, void (*)(void *, int, const char *, int, const char *, const char *));
} srt;

/// Casty's handler of libsrt's log lines, if set.
static casty_srt_log_fn log_handler;

int casty_srt_load(const char *names, char *error, size_t length) {
    // The names are always tried, even once a library is loaded: a name that is not there is an error.
    char list[1024];
    snprintf(list, sizeof list, "%s", names);
    void *library = NULL;
    char *saved = NULL;
    error[0] = '\0';
    for (char *name = strtok_r(list, ":", &saved); name != NULL && library == NULL; name = strtok_r(NULL, ":", &saved)) {
        library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
        if (library == NULL && error[0] == '\0') {
            const char *reason = dlerror();
            snprintf(error, length, "%s", reason ? reason : name);
        }
    }
    if (library == NULL) { return -1; }
    if (srt.loaded) { return 0; }  // dlopen counted one more reference to a library that stays loaded anyway
#define CASTY_SRT_SYMBOL(field, symbol)                                                           \
    *(void **)(&srt.field) = dlsym(library, symbol);                                              \
    if (srt.field == NULL) {                                                                      \
        snprintf(error, length, "the library has no %s", symbol);                                 \
        dlclose(library);                                                                         \
        return -1;                                                                                \
    }
    CASTY_SRT_SYMBOL(startup, "srt_startup")
    CASTY_SRT_SYMBOL(create_socket, "srt_create_socket")
    CASTY_SRT_SYMBOL(setsockflag, "srt_setsockflag")
    CASTY_SRT_SYMBOL(getsockflag, "srt_getsockflag")
    CASTY_SRT_SYMBOL(bind, "srt_bind")
    CASTY_SRT_SYMBOL(getsockname, "srt_getsockname")
    CASTY_SRT_SYMBOL(listen, "srt_listen")
    CASTY_SRT_SYMBOL(listen_callback, "srt_listen_callback")
    CASTY_SRT_SYMBOL(accept, "srt_accept")
    CASTY_SRT_SYMBOL(recvmsg, "srt_recvmsg")
    CASTY_SRT_SYMBOL(close, "srt_close")
    CASTY_SRT_SYMBOL(getsockstate, "srt_getsockstate")
    CASTY_SRT_SYMBOL(setrejectreason, "srt_setrejectreason")
    CASTY_SRT_SYMBOL(getrejectreason, "srt_getrejectreason")
    CASTY_SRT_SYMBOL(getlasterror, "srt_getlasterror")
    CASTY_SRT_SYMBOL(getlasterror_str, "srt_getlasterror_str")
    CASTY_SRT_SYMBOL(epoll_create, "srt_epoll_create")
    CASTY_SRT_SYMBOL(epoll_set, "srt_epoll_set")
    CASTY_SRT_SYMBOL(epoll_add_usock, "srt_epoll_add_usock")
    CASTY_SRT_SYMBOL(epoll_remove_usock, "srt_epoll_remove_usock")
    CASTY_SRT_SYMBOL(epoll_uwait, "srt_epoll_uwait")
    CASTY_SRT_SYMBOL(epoll_release, "srt_epoll_release")
    CASTY_SRT_SYMBOL(bstats, "srt_bstats")
    CASTY_SRT_SYMBOL(setloglevel, "srt_setloglevel")
#undef CASTY_SRT_SYMBOL
    *(void **)(&srt.setloghandler) = dlsym(library, "srt_setloghandler");
    // libsrt logs to stderr from level "error" up, including the ordinary (a caller rejected, an accept with
    // nothing pending): only its critical messages are kept, Casty logs what happens itself.
    srt.setloglevel(2);  // LOG_CRIT
    srt.loaded = 1;  // the library stays loaded for the life of the process
    return 0;
}

int casty_srt_loaded(void) { return srt.loaded; }

#define CASTY_SRT_CALL(call) return srt.loaded ? (call) : -1

int casty_srt_startup(void) { CASTY_SRT_CALL(srt.startup()); }
casty_srt_socket casty_srt_create_socket(void) { CASTY_SRT_CALL(srt.create_socket()); }
int casty_srt_setsockflag(casty_srt_socket s, int option, const void *value, int length) {
    CASTY_SRT_CALL(srt.setsockflag(s, option, value, length));
}
int casty_srt_getsockflag(casty_srt_socket s, int option, void *value, int *length) {
    CASTY_SRT_CALL(srt.getsockflag(s, option, value, length));
}
int casty_srt_bind(casty_srt_socket s, const struct sockaddr *address, int length) { CASTY_SRT_CALL(srt.bind(s, address, length)); }
int casty_srt_getsockname(casty_srt_socket s, struct sockaddr_storage *address, int *length) {
    CASTY_SRT_CALL(srt.getsockname(s, (struct sockaddr *)address, length));
}
int casty_srt_listen(casty_srt_socket s, int backlog) { CASTY_SRT_CALL(srt.listen(s, backlog)); }
int casty_srt_listen_callback(casty_srt_socket s, casty_srt_listen_fn callback, void *opaque) {
    CASTY_SRT_CALL(srt.listen_callback(s, callback, opaque));
}
casty_srt_socket casty_srt_accept(casty_srt_socket s, struct sockaddr_storage *address, int *length) {
    CASTY_SRT_CALL(srt.accept(s, (struct sockaddr *)address, length));
}
int casty_srt_recvmsg(casty_srt_socket s, char *buffer, int length) { CASTY_SRT_CALL(srt.recvmsg(s, buffer, length)); }
int casty_srt_close(casty_srt_socket s) { CASTY_SRT_CALL(srt.close(s)); }
int casty_srt_getsockstate(casty_srt_socket s) { CASTY_SRT_CALL(srt.getsockstate(s)); }
int casty_srt_setrejectreason(casty_srt_socket s, int reason) { CASTY_SRT_CALL(srt.setrejectreason(s, reason)); }
int casty_srt_getrejectreason(casty_srt_socket s) { CASTY_SRT_CALL(srt.getrejectreason(s)); }
int casty_srt_getlasterror(void) { CASTY_SRT_CALL(srt.getlasterror(NULL)); }
int casty_srt_getlasterror_errno(void) {
    int system = 0;
    if (srt.loaded) srt.getlasterror(&system);
    return system;
}
const char *casty_srt_getlasterror_str(void) { return srt.loaded ? srt.getlasterror_str() : "libsrt is not loaded"; }
int casty_srt_epoll_create(void) { CASTY_SRT_CALL(srt.epoll_create()); }
int casty_srt_epoll_set(int eid, int flags) { CASTY_SRT_CALL(srt.epoll_set(eid, flags)); }
int casty_srt_epoll_add_usock(int eid, casty_srt_socket s, int events) { CASTY_SRT_CALL(srt.epoll_add_usock(eid, s, &events)); }
int casty_srt_epoll_remove_usock(int eid, casty_srt_socket s) { CASTY_SRT_CALL(srt.epoll_remove_usock(eid, s)); }
int casty_srt_epoll_uwait(int eid, casty_srt_epoll_event *events, int capacity, int64_t timeout_ms) {
    CASTY_SRT_CALL(srt.epoll_uwait(eid, events, capacity, timeout_ms));
}
int casty_srt_epoll_release(int eid) { CASTY_SRT_CALL(srt.epoll_release(eid)); }

// libsrt's log handler (SRT_LOG_HANDLER_FN): the line only, to Casty's handler.
static void casty_srt_log(void *opaque, int level, const char *file, int line, const char *area, const char *message) {
    (void)opaque;
    (void)file;
    (void)line;
    (void)area;
    casty_srt_log_fn handler = log_handler;
    if (handler != NULL && message != NULL) { handler(level, message); }
}

int casty_srt_set_log_handler(casty_srt_log_fn handler) {
    if (!srt.loaded || srt.setloghandler == NULL) { return -1; }
    log_handler = handler;
    srt.setloghandler(NULL, casty_srt_log);
    srt.setloglevel(4);  // LOG_WARNING: a caller rejected during its handshake is told at this level
    return 0;
}

int casty_srt_bstats(casty_srt_socket s, casty_srt_stats *stats) {
    if (!srt.loaded) { return -1; }
    union {
        struct casty_srt_perf perf;
        char room[4096];
    } buffer;
    memset(&buffer, 0, sizeof buffer);
    if (srt.bstats(s, &buffer.perf, 0) < 0) { return -1; }
    stats->packets_received = buffer.perf.pktRecvTotal;
    stats->packets_lost = buffer.perf.pktRcvLossTotal;
    stats->packets_retransmitted = buffer.perf.pktRcvRetrans;
    stats->packets_dropped = buffer.perf.pktRcvDropTotal;
    stats->packets_undecrypted = buffer.perf.pktRcvUndecryptTotal;
    stats->bytes_received = (int64_t)buffer.perf.byteRecvTotal;
    stats->rtt_ms = buffer.perf.msRTT;
    stats->receive_rate_mbps = buffer.perf.mbpsRecvRate;
    stats->latency_ms = buffer.perf.msRcvTsbPdDelay;
    stats->mss = buffer.perf.byteMSS;
    return 0;
}
