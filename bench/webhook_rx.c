/*
 * The webhook receiver of page-bench (webhook_rx.h).
 */
#include "webhook_rx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EVENTS_MAX 64
#define POLL_MS 50
#define READ_CHUNK 16384

static const char ok_answer[] =
    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Type: text/plain\r\n\r\n";
static const char too_large_answer[] =
    "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n"
    "Connection: close\r\n\r\n";
static const char no_length_answer[] =
    "HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\n"
    "Connection: close\r\n\r\n";

struct conn
{
    int fd;
    char *buf;
    size_t len, cap;
};

struct webhook_rx
{
    int listen_fd;
    int epoll_fd;
    unsigned port;
    webhook_rx_fn fn;
    void *arg;
    pthread_t thread;
    bool thread_started;
    _Atomic bool stop;
    _Atomic uint64_t requests, refused;
    /* Every open connection, to close them at the end. */
    struct conn **conns;
    size_t n_conns, cap_conns;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --- connections ---------------------------------------------------------- */

static int track(struct webhook_rx *rx, struct conn *c)
{
    if (rx->n_conns == rx->cap_conns) {
        size_t cap = rx->cap_conns == 0 ? 64 : 2 * rx->cap_conns;
        struct conn **p = realloc(rx->conns, cap * sizeof *p);
        if (p == NULL) {
            return -1;
        }
        rx->conns = p;
        rx->cap_conns = cap;
    }
    rx->conns[rx->n_conns++] = c;
    return 0;
}

static void conn_close(struct webhook_rx *rx, struct conn *c)
{
    for (size_t i = 0; i < rx->n_conns; i++) {
        if (rx->conns[i] == c) {
            rx->conns[i] = rx->conns[--rx->n_conns];
            break;
        }
    }
    (void)epoll_ctl(rx->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->buf);
    free(c);
}

static void accept_one(struct webhook_rx *rx)
{
    struct epoll_event ev = {.events = EPOLLIN};
    struct conn *c;
    int one = 1;
    int fd = accept4(rx->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (fd < 0) {
        return; /* EAGAIN, or the peer went away already */
    }
    c = calloc(1, sizeof *c);
    if (c == NULL || track(rx, c) != 0) {
        free(c);
        close(fd);
        return;
    }
    c->fd = fd;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ev.data.ptr = c;
    if (epoll_ctl(rx->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        conn_close(rx, c);
    }
}

/* --- requests ------------------------------------------------------------- */

/* Send a whole short answer; -1 if the socket did not take it at once. */
static int send_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The value of header `name` (with the colon) in the header block, or
 * NULL. */
static const char *header(const char *head, size_t len, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = head; p != NULL && p < head + len;) {
        const char *eol = memchr(p, '\n', (size_t)(head + len - p));
        if (eol == NULL) {
            return NULL;
        }
        p = eol + 1;
        if ((size_t)(head + len - p) > n && strncasecmp(p, name, n) == 0) {
            return p + n;
        }
    }
    return NULL;
}

/* Size of the complete request at the start of c->buf: > 0 when there is
 * one, 0 while incomplete, -1 when it must be refused with `answer`. */
static long request_size(const struct conn *c,
                         size_t *head_len,
                         const char **answer)
{
    const char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    const char *cl;
    size_t body = 0;

    if (end == NULL) {
        *answer = too_large_answer;
        return c->len >= WEBHOOK_RX_MAX_REQUEST ? -1 : 0;
    }
    *head_len = (size_t)(end - c->buf) + 4;
    if (header(c->buf, *head_len, "transfer-encoding:") != NULL) {
        *answer = no_length_answer;
        return -1;
    }
    cl = header(c->buf, *head_len, "content-length:");
    if (cl != NULL) {
        body = strtoul(cl, NULL, 10);
    }
    if (*head_len + body > WEBHOOK_RX_MAX_REQUEST) {
        *answer = too_large_answer;
        return -1;
    }
    return *head_len + body <= c->len ? (long)(*head_len + body) : 0;
}

/* Answer every complete request in c->buf; -1 to close the connection. */
static int serve(struct webhook_rx *rx, struct conn *c)
{
    const char *answer = NULL;
    size_t head = 0;
    long n;

    while ((n = request_size(c, &head, &answer)) > 0) {
        uint64_t at = mono_ns();
        if (send_all(c->fd, ok_answer, sizeof ok_answer - 1) != 0) {
            return -1;
        }
        atomic_fetch_add(&rx->requests, 1);
        rx->fn(rx->arg, c->buf + head, (size_t)n - head, at);
        memmove(c->buf, c->buf + n, c->len - (size_t)n);
        c->len -= (size_t)n;
    }
    if (n < 0) {
        atomic_fetch_add(&rx->refused, 1);
        (void)send_all(c->fd, answer, strlen(answer));
        return -1;
    }
    return 0;
}

static int grow(struct conn *c)
{
    size_t cap;
    char *p;

    if (c->cap - c->len >= READ_CHUNK) {
        return 0;
    }
    cap = c->cap == 0 ? 2 * READ_CHUNK : 2 * c->cap;
    p = realloc(c->buf, cap);
    if (p == NULL) {
        return -1;
    }
    c->buf = p;
    c->cap = cap;
    return 0;
}

/* Read what there is and serve it; -1 to close the connection. */
static int on_readable(struct webhook_rx *rx, struct conn *c)
{
    for (;;) {
        ssize_t r;
        if (grow(c) != 0) {
            return -1;
        }
        r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return 0;
        }
        if (r <= 0) {
            return -1; /* closed by the peer, or an error */
        }
        c->len += (size_t)r;
        if (serve(rx, c) != 0) {
            return -1;
        }
    }
}

static void *rx_main(void *arg)
{
    struct webhook_rx *rx = arg;
    struct epoll_event evs[EVENTS_MAX];

    while (!atomic_load(&rx->stop)) {
        int n = epoll_wait(rx->epoll_fd, evs, EVENTS_MAX, POLL_MS);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c == NULL) {
                accept_one(rx);
            } else if (on_readable(rx, c) != 0) {
                conn_close(rx, c);
            }
        }
    }
    return NULL;
}

/* --- start and stop ------------------------------------------------------- */

static int listen_on(struct webhook_rx *rx,
                     unsigned port,
                     char *err,
                     size_t errlen)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof a;
    int one = 1;

    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rx->listen_fd =
        socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (rx->listen_fd < 0 ||
        setsockopt(rx->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) !=
            0 ||
        bind(rx->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(rx->listen_fd, 1024) != 0 ||
        getsockname(rx->listen_fd, (struct sockaddr *)&a, &alen) != 0) {
        snprintf(err, errlen, "webhook receiver: listen on 127.0.0.1:%u: %s",
                 port, strerror(errno));
        return -1;
    }
    rx->port = ntohs(a.sin_port);
    return 0;
}

static int watch_listener(struct webhook_rx *rx, char *err, size_t errlen)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};

    rx->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (rx->epoll_fd < 0 ||
        epoll_ctl(rx->epoll_fd, EPOLL_CTL_ADD, rx->listen_fd, &ev) != 0) {
        snprintf(err, errlen, "webhook receiver: epoll: %s", strerror(errno));
        return -1;
    }
    return 0;
}

struct webhook_rx *webhook_rx_start(unsigned port,
                                    webhook_rx_fn fn,
                                    void *arg,
                                    char *err,
                                    size_t errlen)
{
    struct webhook_rx *rx = calloc(1, sizeof *rx);
    int rv;

    if (rx == NULL) {
        snprintf(err, errlen, "webhook receiver: out of memory");
        return NULL;
    }
    rx->listen_fd = rx->epoll_fd = -1;
    rx->fn = fn;
    rx->arg = arg;
    if (listen_on(rx, port, err, errlen) != 0 ||
        watch_listener(rx, err, errlen) != 0) {
        webhook_rx_stop(rx);
        return NULL;
    }
    rv = pthread_create(&rx->thread, NULL, rx_main, rx);
    if (rv != 0) {
        snprintf(err, errlen, "webhook receiver: thread: %s", strerror(rv));
        webhook_rx_stop(rx);
        return NULL;
    }
    rx->thread_started = true;
    return rx;
}

unsigned webhook_rx_port(const struct webhook_rx *rx)
{
    return rx->port;
}

uint64_t webhook_rx_requests(const struct webhook_rx *rx)
{
    return atomic_load(&rx->requests);
}

uint64_t webhook_rx_refused(const struct webhook_rx *rx)
{
    return atomic_load(&rx->refused);
}

void webhook_rx_stop(struct webhook_rx *rx)
{
    if (rx == NULL) {
        return;
    }
    atomic_store(&rx->stop, true);
    if (rx->thread_started) {
        pthread_join(rx->thread, NULL);
    }
    while (rx->n_conns > 0) {
        conn_close(rx, rx->conns[rx->n_conns - 1]);
    }
    free(rx->conns);
    if (rx->epoll_fd >= 0) {
        close(rx->epoll_fd);
    }
    if (rx->listen_fd >= 0) {
        close(rx->listen_fd);
    }
    free(rx);
}
