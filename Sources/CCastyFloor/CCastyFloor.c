// The floor of a fan-out: see CCastyFloor.h.
#define _GNU_SOURCE
#include "CCastyFloor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum { AUDIO = 8192, MAX_FDS = 1 << 20, MAX_THREADS = 64 };

static const char reply[] = "ICY 200 OK\r\nicy-name: floor\r\nicy-metaint: 8192\r\nContent-Type: audio/mpeg\r\n\r\n";

// 0: not a listener; 1: connected, request not read yet; 2: listening. Indexed by descriptor: a descriptor
// belongs to one thread at a time, so the threads never touch the same entry.
static unsigned char *state;
static int one = 1;
static int interval;
static long long start_ms;

// One sending thread: its epoll set, and where its sockets come from.
struct worker {
    int epoll;
    int listener;   // its own SO_REUSEPORT listener, or -1
    int inbox[2];   // descriptors handed over by the accepting thread (handover), or -1
    int top;        // the highest descriptor it serves
    int count;      // how many it serves (read by the accepting thread to pick the least loaded)
    pthread_t thread;
};
static struct worker workers[MAX_THREADS];

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

// Builds the tick's buffer: audio, then the metadata block (its length byte, then the text padded to 16).
static int make_segment(unsigned char *buffer, long long number) {
    char text[128];
    int length = snprintf(text, sizeof text, "CastySeq='%lld';CastyTime='%lld';", number, now_ms());
    int blocks = (length + 15) / 16;
    memset(buffer + AUDIO, 0, 1 + blocks * 16);
    buffer[AUDIO] = (unsigned char)blocks;
    memcpy(buffer + AUDIO + 1, text, (size_t)length);
    return AUDIO + 1 + blocks * 16;
}

static int open_listener(int port, int reuse_port) {
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuse_port) setsockopt(listener, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 4096) != 0) return -1;
    return listener;
}

static int port_of(int listener) {
    struct sockaddr_in address;
    socklen_t size = sizeof address;
    getsockname(listener, (struct sockaddr *)&address, &size);
    return ntohs(address.sin_port);
}

static void watch(int epoll, int fd) {
    struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
}

static void accept_all(int listener, int epoll, int *top) {
    int client;
    while ((client = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        if (client >= MAX_FDS) { close(client); continue; }
        setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        state[client] = 1;
        if (client > *top) *top = client;
        watch(epoll, client);
    }
}

// Reads a listener's request (ignored but for its end) and answers it; 1 once it has been answered.
static int read_request(int fd, int epoll) {
    char scratch[4096];
    ssize_t got = recv(fd, scratch, sizeof scratch, 0);
    if (got <= 0) {
        state[fd] = 0;
        epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL);
        close(fd);
        return 0;
    }
    if (state[fd] == 1 && memmem(scratch, (size_t)got, "\r\n\r\n", 4) != NULL) {
        send(fd, reply, sizeof reply - 1, MSG_NOSIGNAL);
        state[fd] = 2;
        return 1;
    }
    return 0;
}

// The fan-out loop of one thread: every `interval` ms one buffer to each of its listeners. With a listener of
// its own it also accepts and answers; with an inbox it takes the sockets the accepting thread answered.
static void *work(void *argument) {
    struct worker *self = argument;
    static __thread struct epoll_event events[4096];
    static __thread unsigned char segment[AUDIO + 1 + 255 * 16];
    long long number = (now_ms() - start_ms) / interval + 1, next = start_ms + number * interval;
    for (;;) {
        long long wait = next - now_ms();
        int count = epoll_wait(self->epoll, events, 4096, wait > 0 ? (int)wait : 0);
        for (int i = 0; i < count; i++) {
            int fd = events[i].data.fd;
            if (fd == self->listener) {
                accept_all(fd, self->epoll, &self->top);
            } else if (fd == self->inbox[0]) {
                int moved[256];
                ssize_t got = read(fd, moved, sizeof moved);
                for (int k = 0; k < got / (ssize_t)sizeof(int); k++) {
                    if (moved[k] > self->top) self->top = moved[k];
                    watch(self->epoll, moved[k]);  // to notice its close
                }
            } else if (read_request(fd, self->epoll)) {
                __atomic_add_fetch(&self->count, 1, __ATOMIC_RELAXED);
            }
        }
        if (now_ms() >= next) {
            int length = make_segment(segment, number++);
            next += interval;
            for (int fd = 0; fd <= self->top; fd++) {
                if (state[fd] == 2 && fd != self->listener) send(fd, segment, (size_t)length, MSG_DONTWAIT | MSG_NOSIGNAL);
            }
        }
    }
    return NULL;
}

int casty_floor_serve(int port, int interval_ms) {
    return casty_floor_serve_group(port, interval_ms, 0, 0);
}

int casty_floor_serve_group(int port, int interval_ms, int threads, int reuse_port) {
    state = calloc(MAX_FDS, 1);
    interval = interval_ms;
    start_ms = now_ms();
    if (state == NULL || threads < 0 || threads > MAX_THREADS || (reuse_port && threads == 0)) return 1;
    if (threads == 0) {
        // One thread accepts, answers and sends.
        struct worker *self = &workers[0];
        self->epoll = epoll_create1(EPOLL_CLOEXEC);
        self->listener = open_listener(port, 0);
        self->inbox[0] = self->inbox[1] = -1;
        if (self->listener < 0) return 1;
        watch(self->epoll, self->listener);
        pthread_create(&self->thread, NULL, work, self);
        printf("ready port=%d\n", port_of(self->listener));
    } else if (reuse_port) {
        // Each thread has a listener of its own on the same port; the kernel spreads the connections.
        for (int t = 0; t < threads; t++) {
            struct worker *self = &workers[t];
            self->epoll = epoll_create1(EPOLL_CLOEXEC);
            self->listener = open_listener(t == 0 ? port : port_of(workers[0].listener), 1);
            self->inbox[0] = self->inbox[1] = -1;
            if (self->listener < 0) return 1;
            watch(self->epoll, self->listener);
        }
        for (int t = 0; t < threads; t++) pthread_create(&workers[t].thread, NULL, work, &workers[t]);
        printf("ready port=%d\n", port_of(workers[0].listener));
    } else {
        // The calling thread accepts and answers, then hands each socket to the least-loaded sending thread.
        for (int t = 0; t < threads; t++) {
            struct worker *self = &workers[t];
            self->epoll = epoll_create1(EPOLL_CLOEXEC);
            self->listener = -1;
            if (pipe2(self->inbox, O_CLOEXEC | O_NONBLOCK) != 0) return 1;
            watch(self->epoll, self->inbox[0]);
            pthread_create(&self->thread, NULL, work, self);
        }
        int listener = open_listener(port, 0), epoll = epoll_create1(EPOLL_CLOEXEC), top = 0;
        if (listener < 0) return 1;
        watch(epoll, listener);
        watch(epoll, 0);
        printf("ready port=%d\n", port_of(listener));
        fflush(stdout);
        static struct epoll_event events[4096];
        char scratch[64];
        for (;;) {
            int count = epoll_wait(epoll, events, 4096, -1);
            for (int i = 0; i < count; i++) {
                int fd = events[i].data.fd;
                if (fd == 0) {
                    if (read(0, scratch, sizeof scratch) <= 0) return 0;
                } else if (fd == listener) {
                    accept_all(listener, epoll, &top);
                } else if (read_request(fd, epoll)) {
                    epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL);
                    struct worker *least = &workers[0];
                    for (int t = 1; t < threads; t++) {
                        if (__atomic_load_n(&workers[t].count, __ATOMIC_RELAXED) < __atomic_load_n(&least->count, __ATOMIC_RELAXED)) least = &workers[t];
                    }
                    __atomic_add_fetch(&least->count, 1, __ATOMIC_RELAXED);  // counted now, so the next goes elsewhere
                    if (write(least->inbox[1], &fd, sizeof fd) != sizeof fd) { state[fd] = 0; close(fd); }
                }
            }
        }
    }
    fflush(stdout);
    // The threads run until standard input closes.
    char scratch[64];
    while (read(0, scratch, sizeof scratch) > 0) {}
    return 0;
}
