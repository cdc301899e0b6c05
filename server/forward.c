#include "forward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "frame.h"
#include "log.h"
#include "netaddr.h"
#include "tls.h"
#include "tls_stream.h"

#define HANDSHAKE_TIMEOUT_MS 5000
#define USER_TIMEOUT_MS 10000
#define SWEEP_MS 100

struct fwd_conn
{
    struct forwarder *f;
    struct tls_stream ts;
    uv_connect_t connect_req;
    uv_getaddrinfo_t gai;
    char address[CONFIG_ADDR_MAX];
    char host[CONFIG_ADDR_MAX];
    char port[8];
    struct list calls; /* sent or waiting to be */
    bool open;         /* handshake done, peer checked */
    bool dead;         /* closing: takes no more calls */
    int refs;          /* the stream, a pending getaddrinfo */
    uint8_t *buf;
    size_t len, cap;
};

static void call_end(struct forward_call *call,
                     int code,
                     const Klaxon__Response *resp,
                     const char *why)
{
    list_remove(&call->link);
    free(call->frame);
    call->frame = NULL;
    call->conn = NULL;
    call->cb(call, code, resp, why);
}

static void fail_all(struct list *calls, const char *why)
{
    while (!list_empty(calls)) {
        struct forward_call *call =
            list_entry(calls->next, struct forward_call, link);
        call_end(call, KLAXON__CODE__UNAVAILABLE, NULL, why);
    }
}

static void conn_unref(struct fwd_conn *c)
{
    if (--c->refs == 0) {
        free(c->buf);
        free(c);
    }
}

static void conn_kill(struct fwd_conn *c, const char *why)
{
    if (c->dead) {
        return;
    }
    c->dead = true;
    if (c->f->conn == c) {
        c->f->conn = NULL;
    }
    if (why != NULL && c->ts.errmsg[0] == '\0') {
        snprintf(c->ts.errmsg, sizeof c->ts.errmsg, "%.200s", why);
    }
    tls_stream_abort(&c->ts, why != NULL ? why : "closed");
}

static void on_close(struct tls_stream *s)
{
    struct fwd_conn *c = s->data;
    char why[CONFIG_ADDR_MAX + 300];

    snprintf(why, sizeof why, "leader at %s: %s", c->address,
             s->errmsg[0] != '\0' ? s->errmsg : "connection closed");
    if (!c->dead) {
        c->dead = true;
        if (c->f->conn == c) {
            c->f->conn = NULL;
        }
    }
    if (!list_empty(&c->calls)) {
        log_info("forward: %s", why);
    }
    fail_all(&c->calls, why);
    conn_unref(c);
}

static void write_frames(struct fwd_conn *c)
{
    for (struct list *i = c->calls.next; i != &c->calls; i = i->next) {
        struct forward_call *call = list_entry(i, struct forward_call, link);
        if (call->frame == NULL) {
            continue;
        }
        if (tls_stream_write(&c->ts, call->frame, call->frame_len) != 0) {
            conn_kill(c, "write failed");
            return;
        }
        free(call->frame);
        call->frame = NULL;
    }
}

static void on_handshake(struct tls_stream *s)
{
    struct fwd_conn *c = s->data;
    struct tls_identity id;

    if (tls_peer_identity(s->ssl, &id) != 0 ||
        strcmp(id.role, TLS_ROLE_NODE) != 0) {
        log_warn("forward: %s did not present a node certificate", c->address);
        conn_kill(c, "peer is not a node of the cluster");
        return;
    }
    c->open = true;
    write_frames(c);
}

static void handle_frame(struct fwd_conn *c, const uint8_t *p, size_t n)
{
    Klaxon__Response *resp = klaxon__response__unpack(NULL, n, p);

    if (resp == NULL) {
        conn_kill(c, "undecodable answer");
        return;
    }
    for (struct list *i = c->calls.next; i != &c->calls; i = i->next) {
        struct forward_call *call = list_entry(i, struct forward_call, link);
        if (call->seq == resp->seq) {
            call_end(call, KLAXON__CODE__OK, resp, NULL);
            break;
        }
    }
    klaxon__response__free_unpacked(resp, NULL);
}

static void on_data(struct tls_stream *s, const uint8_t *data, size_t len)
{
    struct fwd_conn *c = s->data;
    size_t off = 0;

    if (c->len + len > c->cap) {
        size_t cap = c->cap == 0 ? 65536 : c->cap;
        while (cap < c->len + len) {
            cap *= 2;
        }
        uint8_t *p =
            cap <= 2 * (FRAME_MAX + FRAME_HEADER) ? realloc(c->buf, cap) : NULL;
        if (p == NULL) {
            conn_kill(c, "answer too large");
            return;
        }
        c->buf = p;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, data, len);
    c->len += len;
    while (!c->dead && c->len - off >= FRAME_HEADER) {
        uint32_t n = frame_get_len(c->buf + off);
        if (n > FRAME_MAX) {
            conn_kill(c, "oversized answer");
            return;
        }
        if (c->len - off - FRAME_HEADER < n) {
            break;
        }
        handle_frame(c, c->buf + off + FRAME_HEADER, n);
        off += FRAME_HEADER + n;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
}

static void tcp_connected(uv_connect_t *req, int status)
{
    struct fwd_conn *c = req->data;
    if (c->dead) {
        return;
    }
    if (status != 0) {
        char why[128];
        snprintf(why, sizeof why, "connect: %s", uv_strerror(status));
        conn_kill(c, why);
        return;
    }
    tls_stream_start(&c->ts, HANDSHAKE_TIMEOUT_MS, USER_TIMEOUT_MS,
                     on_handshake, on_data, on_close);
}

static void connect_to(struct fwd_conn *c, const struct sockaddr *sa)
{
    int rv;
    c->connect_req.data = c;
    rv = uv_tcp_connect(&c->connect_req, &c->ts.tcp, sa, tcp_connected);
    if (rv != 0) {
        char why[128];
        snprintf(why, sizeof why, "connect: %s", uv_strerror(rv));
        conn_kill(c, why);
    }
}

static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *ai)
{
    struct fwd_conn *c = req->data;
    if (!c->dead) {
        if (status == 0) {
            connect_to(c, ai->ai_addr);
        } else {
            char why[CONFIG_ADDR_MAX + 64];
            snprintf(why, sizeof why, "resolve %s: %s", c->host,
                     uv_strerror(status));
            conn_kill(c, why);
        }
    }
    uv_freeaddrinfo(ai);
    conn_unref(c);
}

static struct fwd_conn *conn_open(struct forwarder *f, const char *address)
{
    struct fwd_conn *c = calloc(1, sizeof *c);
    struct sockaddr_storage ss;
    struct addrinfo hints;
    unsigned port = 0;

    if (c == NULL) {
        return NULL;
    }
    c->f = f;
    list_init(&c->calls);
    snprintf(c->address, sizeof c->address, "%s", address);
    c->ts.data = c;
    if (tls_stream_init(&c->ts, f->loop, f->tls, false) != 0) {
        free(c);
        return NULL;
    }
    c->ts.on_close = on_close;
    c->refs = 1;
    if (netaddr_parse_ip(address, &ss) == 0) {
        connect_to(c, (struct sockaddr *)&ss);
        return c;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    c->gai.data = c;
    if (config_split_address(address, c->host, sizeof c->host, &port) != 0) {
        conn_kill(c, "malformed leader address");
        return c;
    }
    snprintf(c->port, sizeof c->port, "%u", port);
    c->refs++;
    if (uv_getaddrinfo(f->loop, &c->gai, resolved, c->host, c->port, &hints) !=
        0) {
        c->refs--;
        conn_kill(c, "cannot resolve the leader's address");
    }
    return c;
}

/* --- calls and deadlines ------------------------------------------------ */

static void sweep_list(struct list *calls, uint64_t now)
{
    struct list *i = calls->next;
    while (i != calls) {
        struct forward_call *call = list_entry(i, struct forward_call, link);
        i = i->next;
        if (call->deadline <= now) {
            call_end(call, KLAXON__CODE__UNAVAILABLE, NULL,
                     call->conn != NULL ? "the leader did not answer in time"
                                        : "cannot reach the leader");
        }
    }
}

static void sweep(uv_timer_t *t)
{
    struct forwarder *f = t->data;
    uint64_t now = uv_now(f->loop);

    sweep_list(&f->orphans, now);
    if (f->conn != NULL) {
        sweep_list(&f->conn->calls, now);
    }
}

void forwarder_set_tls(struct forwarder *f, SSL_CTX *tls)
{
    f->tls = tls;
}

int forwarder_init(struct forwarder *f, uv_loop_t *loop, SSL_CTX *tls)
{
    memset(f, 0, sizeof *f);
    f->loop = loop;
    f->tls = tls;
    f->next_seq = 1;
    list_init(&f->orphans);
    if (uv_timer_init(loop, &f->timer) != 0) {
        return -1;
    }
    f->timer.data = f;
    f->timer_open = true;
    uv_timer_start(&f->timer, sweep, SWEEP_MS, SWEEP_MS);
    uv_unref((uv_handle_t *)&f->timer);
    return 0;
}

static int make_frame(struct forward_call *call, Klaxon__Request *q)
{
    size_t n = klaxon__request__get_packed_size(q);
    if (n > FRAME_MAX) {
        return -1;
    }
    call->frame = malloc(n + FRAME_HEADER);
    if (call->frame == NULL) {
        return -1;
    }
    frame_put_len(call->frame, (uint32_t)n);
    klaxon__request__pack(q, call->frame + FRAME_HEADER);
    call->frame_len = n + FRAME_HEADER;
    return 0;
}

void forward_send(struct forwarder *f,
                  const char *address,
                  Klaxon__Request *q,
                  unsigned timeout_ms,
                  struct forward_call *call)
{
    struct fwd_conn *c = f->conn;

    call->conn = NULL;
    call->frame = NULL;
    call->seq = f->next_seq++;
    call->deadline = uv_now(f->loop) + timeout_ms;
    q->seq = call->seq;
    if (f->closing || make_frame(call, q) != 0) {
        call->deadline = 0;
        list_push(&f->orphans, &call->link);
        return;
    }
    if (c != NULL && strcmp(c->address, address) != 0) {
        conn_kill(c, "the leader moved");
        c = NULL;
    }
    if (c == NULL) {
        c = f->conn = conn_open(f, address);
    }
    if (c == NULL || c->dead) {
        call->deadline = 0; /* failed at once: the next sweep reports it */
        list_push(&f->orphans, &call->link);
        return;
    }
    call->conn = c;
    list_push(&c->calls, &call->link);
    if (c->open) {
        write_frames(c);
    }
}

static void timer_closed(uv_handle_t *h)
{
    (void)h;
}

void forwarder_close(struct forwarder *f)
{
    if (f->closing) {
        return;
    }
    f->closing = true;
    fail_all(&f->orphans, "node stopping");
    if (f->conn != NULL) {
        struct fwd_conn *c = f->conn;
        fail_all(&c->calls, "node stopping");
        conn_kill(c, "node stopping");
    }
    if (f->timer_open) {
        uv_close((uv_handle_t *)&f->timer, timer_closed);
        f->timer_open = false;
    }
}
