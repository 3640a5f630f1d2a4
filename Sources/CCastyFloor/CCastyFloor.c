// The floor of a fan-out: see CCastyFloor.h.
#define _GNU_SOURCE
#include "CCastyFloor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum { AUDIO = 8192, MAX_FDS = 1 << 20 };

static const char reply[] = "ICY 200 OK\r\nicy-name: floor\r\nicy-metaint: 8192\r\nContent-Type: audio/mpeg\r\n\r\n";

// 0: not a listener; 1: connected, request not read yet; 2: listening.
static unsigned char *state;

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

int casty_floor_serve(int port, int interval_ms) {
    state = calloc(MAX_FDS, 1);
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (state == NULL || bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 4096) != 0) return 1;
    socklen_t size = sizeof address;
    getsockname(listener, (struct sockaddr *)&address, &size);
    printf("ready port=%d\n", ntohs(address.sin_port));
    fflush(stdout);

    int epoll = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event event = {.events = EPOLLIN, .data.fd = listener};
    epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event);
    event.data.fd = 0;
    epoll_ctl(epoll, EPOLL_CTL_ADD, 0, &event);
    static struct epoll_event events[4096];
    static unsigned char segment[AUDIO + 1 + 255 * 16];
    char scratch[4096];
    int top = 0;
    long long number = 0, next = now_ms() + interval_ms;
    for (;;) {
        long long wait = next - now_ms();
        int count = epoll_wait(epoll, events, 4096, wait > 0 ? (int)wait : 0);
        for (int i = 0; i < count; i++) {
            int fd = events[i].data.fd;
            if (fd == 0) {
                if (read(0, scratch, sizeof scratch) <= 0) return 0;
            } else if (fd == listener) {
                int client;
                while ((client = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    if (client >= MAX_FDS) { close(client); continue; }
                    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    state[client] = 1;
                    if (client > top) top = client;
                    struct epoll_event read_event = {.events = EPOLLIN, .data.fd = client};
                    epoll_ctl(epoll, EPOLL_CTL_ADD, client, &read_event);
                }
            } else {
                ssize_t got = recv(fd, scratch, sizeof scratch, 0);
                if (got <= 0) {
                    state[fd] = 0;
                    close(fd);
                } else if (state[fd] == 1 && memmem(scratch, (size_t)got, "\r\n\r\n", 4) != NULL) {
                    send(fd, reply, sizeof reply - 1, MSG_NOSIGNAL);
                    state[fd] = 2;
                }
            }
        }
        if (now_ms() >= next) {
            next += interval_ms;
            int length = make_segment(segment, number++);
            for (int fd = 0; fd <= top; fd++) {
                if (state[fd] == 2) send(fd, segment, (size_t)length, MSG_DONTWAIT | MSG_NOSIGNAL);
            }
        }
    }
}
