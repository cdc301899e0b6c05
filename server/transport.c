#include "transport.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netaddr.h"
#include "tls.h"
#include "tls_stream.h"
#include "version.h"

#define PREAMBLE_MAGIC "KLXR"
#define PREAMBLE_VERSION 1
#define PREAMBLE_FIXED (4 + 4 + 8 + 2)
#define PREAMBLE_MAX (PREAMBLE_FIXED + CONFIG_ADDR_MAX)
#define HANDSHAKE_TIMEOUT_MS 5000 /* outgoing; incoming: limits */
/* The incoming handshake deadline is enforced by connlimit (TLS and
 * preamble); the stream's own timer is a backstop this much later. */
#define HANDSHAKE_BACKSTOP_MS 5000
#define USER_TIMEOUT_MS 10000
#define HIGH_MARK (4u << 20)
#define LOW_MARK (1u << 20)
#define REFUSAL_LOG_INTERVAL_MS 10000

enum refusal {
    ACCEPTED = 0,
    REFUSED_IDENTITY = 1,
    REFUSED_MEMBER = 2,
    REFUSED_ADDRESS = 3,
    REFUSED_PREAMBLE = 4,
};

enum conn_state {
    CONN_CONNECTING,
    CONN_TLS,
    CONN_PREAMBLE,
    CONN_BRIDGED,
    CONN_CLOSING
};

struct conn
{
    struct list link;
    struct transport *t;
    bool outgoing;
    enum conn_state state;
    int handles; /* tls stream, pipe, pending getaddrinfo */
    struct tls_stream ts;
    uv_connect_t connect_req;
    uv_getaddrinfo_t gai;
    struct raft_uv_connect *req; /* outgoing, until reported to raft */
    raft_uv_connect_cb cb;
    raft_id peer_id;
    uint64_t cert_id; /* incoming: id in the peer's certificate */
    char peer_address[CONFIG_ADDR_MAX];
    char remote[80];
    uint8_t preamble[PREAMBLE_MAX];
    size_t preamble_len;
    uv_pipe_t pipe; /* our end of the socketpair */
    bool pipe_open;
    bool pipe_reading;
    struct connlimit_conn lim; /* incoming */
};

struct pipe_write
{
    uv_write_t req;
    struct conn *c;
    char data[];
};

static void conn_close(struct conn *c);
static void maybe_closed(struct transport *t);

static uint64_t now_ms(struct transport *t)
{
    return uv_now(t->loop);
}

/* Log a refused peer, at most once per interval (a foreign node retries
 * every second). */
static void log_refusal(struct transport *t, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    t->n_refused++;
    if (t->last_refusal_log_ms != 0 &&
        now_ms(t) - t->last_refusal_log_ms < REFUSAL_LOG_INTERVAL_MS) {
        t->suppressed_refusals++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (t->suppressed_refusals > 0) {
        log_warn("raft: %s (and %llu more refusals in the last %ds)", msg,
                 (unsigned long long)t->suppressed_refusals,
                 REFUSAL_LOG_INTERVAL_MS / 1000);
    } else {
        log_warn("raft: %s", msg);
    }
    t->suppressed_refusals = 0;
    t->last_refusal_log_ms = now_ms(t);
}

static void handle_done(struct conn *c)
{
    struct transport *t = c->t;
    if (--c->handles > 0) {
        return;
    }
    if (c->req != NULL) {
        struct raft_uv_connect *req = c->req;
        c->req = NULL;
        c->cb(req, NULL, t->closing ? RAFT_CANCELED : RAFT_NOCONNECTION);
    }
    list_remove(&c->link);
    connlimit_remove(&t->limits, &c->lim);
    free(c);
    maybe_closed(t);
}

static void pipe_closed(uv_handle_t *h)
{
    handle_done(h->data);
}

static void conn_close(struct conn *c)
{
    if (c->state == CONN_CLOSING) {
        return;
    }
    c->state = CONN_CLOSING;
    tls_stream_close(&c->ts);
    if (c->pipe_open && !uv_is_closing((uv_handle_t *)&c->pipe)) {
        uv_close((uv_handle_t *)&c->pipe, pipe_closed);
    }
}

static void tls_closed(struct tls_stream *s)
{
    struct conn *c = s->data;
    if (c->outgoing && c->state == CONN_TLS) {
        log_refusal(c->t, "cannot reach node %llu at %s: %s",
                    (unsigned long long)c->peer_id, c->remote, s->errmsg);
    } else if (c->state != CONN_CLOSING && c->state != CONN_BRIDGED) {
        log_debug("raft: connection %s %s failed: %s",
                  c->outgoing ? "to" : "from", c->remote, s->errmsg);
    } else if (c->state == CONN_BRIDGED) {
        log_debug("raft: connection %s %s closed: %s",
                  c->outgoing ? "to" : "from", c->remote, s->errmsg);
    }
    c->state = CONN_CLOSING;
    if (c->pipe_open && !uv_is_closing((uv_handle_t *)&c->pipe)) {
        uv_close((uv_handle_t *)&c->pipe, pipe_closed);
    }
    handle_done(c);
}

/* --- bridge: socketpair <-> TLS ------------------------------------------ */

static void pipe_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = malloc(suggested);
    buf->len = buf->base != NULL ? suggested : 0;
}

/* raft -> peer */
static void pipe_read_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct conn *c = stream->data;

    if (n < 0) {
        free(buf->base);
        conn_close(c);
        return;
    }
    if (n > 0 && tls_stream_write(&c->ts, buf->base, (size_t)n) != 0) {
        free(buf->base);
        conn_close(c);
        return;
    }
    free(buf->base);
    if (tls_stream_queued(&c->ts) > HIGH_MARK && c->pipe_reading) {
        uv_read_stop((uv_stream_t *)&c->pipe);
        c->pipe_reading = false;
    }
}

static void tls_drained(struct tls_stream *s)
{
    struct conn *c = s->data;
    if (!c->pipe_reading && c->state == CONN_BRIDGED &&
        uv_read_start((uv_stream_t *)&c->pipe, pipe_alloc_cb, pipe_read_cb) ==
            0) {
        c->pipe_reading = true;
    }
}

static void pipe_write_cb(uv_write_t *req, int status)
{
    struct pipe_write *w = req->data;
    struct conn *c = w->c;
    free(w);
    if (status != 0) {
        conn_close(c);
        return;
    }
    if (c->ts.paused &&
        uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) < LOW_MARK) {
        tls_stream_resume(&c->ts);
    }
}

/* peer -> raft */
static void bridge_to_raft(struct conn *c, const uint8_t *data, size_t len)
{
    struct pipe_write *w;
    uv_buf_t buf;

    if (len == 0) {
        return;
    }
    w = malloc(sizeof *w + len);
    if (w == NULL) {
        conn_close(c);
        return;
    }
    memcpy(w->data, data, len);
    w->c = c;
    w->req.data = w;
    buf = uv_buf_init(w->data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, pipe_write_cb) !=
        0) {
        free(w);
        conn_close(c);
        return;
    }
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) > HIGH_MARK) {
        tls_stream_pause(&c->ts);
    }
}

/* Make the socketpair; return raft's end (raft_malloc'd), or NULL. */
static uv_stream_t *bridge_start(struct conn *c)
{
    uv_loop_t *loop = c->t->loop;
    uv_os_sock_t fds[2];
    uv_pipe_t *rp;

    if (uv_socketpair(SOCK_STREAM, 0, fds, UV_NONBLOCK_PIPE,
                      UV_NONBLOCK_PIPE) != 0) {
        return NULL;
    }
    rp = raft_malloc(sizeof *rp);
    if (rp == NULL) {
        goto err_after_pair;
    }
    uv_pipe_init(loop, &c->pipe, 0);
    c->pipe.data = c;
    c->pipe_open = true;
    c->handles++;
    if (uv_pipe_open(&c->pipe, fds[0]) != 0) {
        close(fds[0]);
        raft_free(rp);
        close(fds[1]);
        return NULL; /* the pipe handle closes with the connection */
    }
    uv_pipe_init(loop, rp, 0);
    if (uv_pipe_open(rp, fds[1]) != 0 ||
        uv_read_start((uv_stream_t *)&c->pipe, pipe_alloc_cb, pipe_read_cb) !=
            0) {
        close(fds[1]);
        uv_close((uv_handle_t *)rp, (uv_close_cb)raft_free);
        return NULL;
    }
    c->pipe_reading = true;
    c->ts.on_drain = tls_drained;
    c->ts.drain_mark = LOW_MARK;
    c->state = CONN_BRIDGED;
    return (uv_stream_t *)rp;

err_after_pair:
    close(fds[0]);
    close(fds[1]);
    return NULL;
}

/* --- outgoing --------------------------------------------------------------
 */

static void out_data(struct tls_stream *s, const uint8_t *data, size_t len)
{
    struct conn *c = s->data;
    struct transport *t = c->t;
    uv_stream_t *stream;
    struct raft_uv_connect *req;

    if (c->state != CONN_PREAMBLE) {
        return; /* the accepting side sends nothing after its answer */
    }
    if (data[0] != ACCEPTED) {
        log_warn(
            "raft: node %llu at %s refused our connection (code %u); "
            "check that its configuration lists this node with raft "
            "address %s",
            (unsigned long long)c->peer_id, c->remote, data[0],
            t->cfg->raft_address);
        conn_close(c);
        return;
    }
    (void)len;
    stream = bridge_start(c);
    if (stream == NULL) {
        log_error("raft: connection to node %llu: cannot set up bridge",
                  (unsigned long long)c->peer_id);
        conn_close(c);
        return;
    }
    t->n_connected++;
    log_debug("raft: connected to node %llu at %s",
              (unsigned long long)c->peer_id, c->remote);
    req = c->req;
    c->req = NULL;
    c->cb(req, stream, 0);
}

static void send_preamble(struct conn *c)
{
    const struct config *cfg = c->t->cfg;
    size_t alen = strlen(cfg->raft_address);
    uint8_t buf[PREAMBLE_MAX];
    uint64_t id = cfg->id;

    memcpy(buf, PREAMBLE_MAGIC, 4);
    buf[4] = 0;
    buf[5] = 0;
    buf[6] = (uint8_t)APPLY_VERSION; /* 0 from nodes before versions */
    buf[7] = PREAMBLE_VERSION;
    for (int i = 0; i < 8; i++) {
        buf[8 + i] = (uint8_t)(id >> (56 - 8 * i));
    }
    buf[16] = (uint8_t)(alen >> 8);
    buf[17] = (uint8_t)alen;
    memcpy(buf + PREAMBLE_FIXED, cfg->raft_address, alen);
    if (tls_stream_write(&c->ts, buf, PREAMBLE_FIXED + alen) != 0) {
        conn_close(c);
    }
}

static void out_handshake(struct tls_stream *s)
{
    struct conn *c = s->data;
    struct tls_identity id;
    uint64_t got = 0;

    if (tls_peer_identity(s->ssl, &id) != 0 || tls_node_id(&id, &got) != 0 ||
        got != c->peer_id) {
        log_refusal(c->t,
                    "refused node at %s: expected the certificate of "
                    "node-%llu, got %s (OU=%s)",
                    c->remote, (unsigned long long)c->peer_id,
                    id.name[0] != '\0' ? id.name : "none", id.role);
        conn_close(c);
        return;
    }
    c->state = CONN_PREAMBLE;
    send_preamble(c);
}

static void tcp_connected(uv_connect_t *req, int status)
{
    struct conn *c = req->data;
    if (c->state == CONN_CLOSING) {
        return;
    }
    if (status != 0) {
        snprintf(c->ts.errmsg, sizeof c->ts.errmsg, "connect: %s",
                 uv_strerror(status));
        conn_close(c);
        return;
    }
    c->state = CONN_TLS;
    tls_stream_start(&c->ts, HANDSHAKE_TIMEOUT_MS, USER_TIMEOUT_MS,
                     out_handshake, out_data, tls_closed);
}

static void start_connect(struct conn *c, const struct sockaddr *sa)
{
    int rv;
    c->connect_req.data = c;
    rv = uv_tcp_connect(&c->connect_req, &c->ts.tcp, sa, tcp_connected);
    if (rv != 0) {
        snprintf(c->ts.errmsg, sizeof c->ts.errmsg, "connect: %s",
                 uv_strerror(rv));
        conn_close(c);
    }
}

static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *ai)
{
    struct conn *c = req->data;
    if (status == 0 && c->state == CONN_CONNECTING) {
        start_connect(c, ai->ai_addr);
    } else if (c->state == CONN_CONNECTING) {
        snprintf(c->ts.errmsg, sizeof c->ts.errmsg, "resolve %.200s: %s",
                 c->peer_address, uv_strerror(status));
        conn_close(c);
    }
    uv_freeaddrinfo(ai);
    handle_done(c);
}

static struct conn *conn_new(struct transport *t, bool outgoing)
{
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    c->t = t;
    c->outgoing = outgoing;
    c->ts.data = c;
    if (tls_stream_init(&c->ts, t->loop, t->ctx, !outgoing) != 0) {
        free(c);
        return NULL;
    }
    /* From here the stream's close callback accounts for the handles. */
    c->handles = 1;
    c->ts.on_close = tls_closed;
    list_push(&t->conns, &c->link);
    return c;
}

static int resolve_and_connect(struct conn *c)
{
    char host[CONFIG_ADDR_MAX];
    char port[16];
    unsigned p;
    struct sockaddr_storage ss;
    struct addrinfo hints;

    if (netaddr_parse_ip(c->peer_address, &ss) == 0) {
        start_connect(c, (struct sockaddr *)&ss);
        return 0;
    }
    if (config_split_address(c->peer_address, host, sizeof host, &p) != 0) {
        return -1;
    }
    snprintf(port, sizeof port, "%u", p);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    c->gai.data = c;
    if (uv_getaddrinfo(c->t->loop, &c->gai, resolved, host, port, &hints) !=
        0) {
        return -1;
    }
    c->handles++;
    return 0;
}

static int transport_connect(struct raft_uv_transport *iface,
                             struct raft_uv_connect *req,
                             raft_id id,
                             const char *address,
                             raft_uv_connect_cb cb)
{
    struct transport *t = iface->impl;
    struct conn *c;

    if (t->closing) {
        return RAFT_CANCELED;
    }
    c = conn_new(t, true);
    if (c == NULL) {
        return RAFT_NOMEM;
    }
    c->peer_id = id;
    snprintf(c->peer_address, sizeof c->peer_address, "%s", address);
    snprintf(c->remote, sizeof c->remote, "%s", address);
    if (resolve_and_connect(c) != 0) {
        /* Not reported: the error is returned, and cb is never called. */
        conn_close(c);
        return RAFT_NOCONNECTION;
    }
    c->req = req;
    c->cb = cb;
    return 0;
}

/* --- incoming --------------------------------------------------------------
 */

/* Remember the apply version a peer announced (see version.h). */
static void note_peer_version(struct transport *t, raft_id id, unsigned v)
{
    unsigned i;

    for (i = 0; i < t->n_peer_versions; i++) {
        if (t->peer_versions[i].id == id) {
            break;
        }
    }
    if (i == TRANSPORT_MAX_PEERS) {
        return;
    }
    if (i == t->n_peer_versions) {
        t->n_peer_versions++;
    }
    t->peer_versions[i].id = id;
    t->peer_versions[i].version = v;
}

unsigned transport_peer_version(const struct transport *t, raft_id id)
{
    for (unsigned i = 0; i < t->n_peer_versions; i++) {
        if (t->peer_versions[i].id == id) {
            return t->peer_versions[i].version;
        }
    }
    return 0;
}

/*
 * The raft address a peer must announce: the one of its entry in the
 * current Raft configuration, else of its cluster.members entry. NULL and
 * *joining when this node has no configuration at all (it was started
 * with cluster.join and waits for the leader, whose certificate is all it
 * can go by). NULL otherwise: not a member.
 */
static const char *expected_address(const struct transport *t,
                                    uint64_t id,
                                    bool *joining)
{
    const struct config_member *m;

    *joining = false;
    if (t->raft != NULL) {
        const struct raft_configuration *conf = &t->raft->configuration;
        for (unsigned i = 0; i < conf->n; i++) {
            if (conf->servers[i].id == id) {
                return conf->servers[i].address;
            }
        }
    }
    m = config_member(t->cfg, id);
    if (m != NULL) {
        return m->raft_address;
    }
    *joining = t->raft != NULL && t->raft->configuration.n == 0;
    return NULL;
}

static enum refusal check_preamble(struct conn *c, raft_id *id)
{
    const char *want;
    const uint8_t *p = c->preamble;
    size_t alen = (size_t)p[16] << 8 | p[17];
    uint64_t claimed = 0;
    bool joining;

    if (memcmp(p, PREAMBLE_MAGIC, 4) != 0 || p[7] != PREAMBLE_VERSION) {
        log_refusal(c->t, "refused %s: not a klaxon raft handshake", c->remote);
        return REFUSED_PREAMBLE;
    }
    for (int i = 0; i < 8; i++) {
        claimed = claimed << 8 | p[8 + i];
    }
    if (claimed != c->cert_id) {
        log_refusal(c->t,
                    "refused %s: claims to be node %llu but its certificate "
                    "is for node-%llu",
                    c->remote, (unsigned long long)claimed,
                    (unsigned long long)c->cert_id);
        return REFUSED_IDENTITY;
    }
    want = expected_address(c->t, claimed, &joining);
    if (want == NULL && !joining) {
        log_refusal(c->t, "refused %s: node %llu is not a cluster member",
                    c->remote, (unsigned long long)claimed);
        return REFUSED_MEMBER;
    }
    if (want == NULL && (alen == 0 || alen >= CONFIG_ADDR_MAX)) {
        log_refusal(c->t, "refused %s: node %llu announces no raft address",
                    c->remote, (unsigned long long)claimed);
        return REFUSED_ADDRESS;
    }
    if (want != NULL &&
        (alen != strlen(want) || memcmp(p + PREAMBLE_FIXED, want, alen) != 0)) {
        log_refusal(c->t,
                    "refused %s: node %llu announces raft address \"%.*s\", "
                    "the cluster knows it at \"%s\"",
                    c->remote, (unsigned long long)claimed, (int)alen,
                    (const char *)p + PREAMBLE_FIXED, want);
        return REFUSED_ADDRESS;
    }
    if (want == NULL) {
        log_info(
            "transport: accepted node %llu at %.*s before knowing the "
            "cluster's configuration (this node waits to be added)",
            (unsigned long long)claimed, (int)alen,
            (const char *)p + PREAMBLE_FIXED);
    }
    *id = claimed;
    snprintf(c->peer_address, sizeof c->peer_address, "%.*s", (int)alen,
             (const char *)p + PREAMBLE_FIXED);
    note_peer_version(c->t, claimed, p[6] != 0 ? p[6] : 1);
    return ACCEPTED;
}

/* Collect preamble bytes; returns how many of data were consumed, and
 * sets *complete once the whole preamble is in. */
static size_t take_preamble(struct conn *c,
                            const uint8_t *data,
                            size_t len,
                            bool *complete)
{
    size_t want = PREAMBLE_FIXED;
    size_t n;

    if (c->preamble_len >= PREAMBLE_FIXED) {
        want += (size_t)c->preamble[16] << 8 | c->preamble[17];
    }
    n = want - c->preamble_len < len ? want - c->preamble_len : len;
    memcpy(c->preamble + c->preamble_len, data, n);
    c->preamble_len += n;
    if (c->preamble_len == PREAMBLE_FIXED && want == PREAMBLE_FIXED) {
        size_t alen = (size_t)c->preamble[16] << 8 | c->preamble[17];
        if (alen == 0 || alen >= CONFIG_ADDR_MAX) {
            *complete = true; /* invalid: let check_preamble refuse it */
            return n;
        }
        return n + take_preamble(c, data + n, len - n, complete);
    }
    *complete = c->preamble_len == want;
    return n;
}

static void in_accept(struct conn *c, const uint8_t *rest, size_t len)
{
    struct transport *t = c->t;
    raft_id id = 0;
    uint8_t answer = (uint8_t)check_preamble(c, &id);
    uv_stream_t *stream;

    if (tls_stream_write(&c->ts, &answer, 1) != 0 || answer != ACCEPTED) {
        conn_close(c);
        return;
    }
    stream = bridge_start(c);
    if (stream == NULL) {
        conn_close(c);
        return;
    }
    c->peer_id = id;
    (void)connlimit_authenticated(&t->limits, &c->lim, c->peer_address, true);
    t->n_accepted++;
    log_debug("raft: accepted node %llu from %s", (unsigned long long)id,
              c->remote);
    t->accept_cb(&t->iface, id, c->peer_address, stream);
    bridge_to_raft(c, rest, len);
}

static void in_data(struct tls_stream *s, const uint8_t *data, size_t len)
{
    struct conn *c = s->data;
    bool complete = false;
    size_t used;

    if (c->state == CONN_BRIDGED) {
        bridge_to_raft(c, data, len);
        return;
    }
    if (c->state != CONN_PREAMBLE) {
        return;
    }
    used = take_preamble(c, data, len, &complete);
    if (complete) {
        if (c->t->closing) {
            conn_close(c);
            return;
        }
        in_accept(c, data + used, len - used);
    }
}

static void in_handshake(struct tls_stream *s)
{
    struct conn *c = s->data;
    struct tls_identity id;

    if (tls_peer_identity(s->ssl, &id) != 0 ||
        tls_node_id(&id, &c->cert_id) != 0) {
        log_refusal(c->t, "refused %s: not a node certificate (CN=%s, OU=%s)",
                    c->remote, id.name, id.role);
        conn_close(c);
        return;
    }
    c->state = CONN_PREAMBLE;
}

static void in_tls_closed(struct tls_stream *s)
{
    struct conn *c = s->data;
    if (c->state == CONN_TLS) {
        /* Handshake failures are how foreign certificates show up. */
        log_refusal(c->t, "refused %s: %s", c->remote, s->errmsg);
    }
    tls_closed(s);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct transport *t = server->data;
    struct conn *c;

    if (status != 0 || t->closing) {
        return;
    }
    c = conn_new(t, false);
    if (c == NULL) {
        log_error("raft: out of memory accepting a connection");
        return;
    }
    if (uv_accept(server, (uv_stream_t *)&c->ts.tcp) != 0) {
        conn_close(c);
        return;
    }
    netaddr_peer_name(&c->ts.tcp, c->remote, sizeof c->remote);
    c->state = CONN_TLS;
    if (connlimit_admit(&t->limits, &c->lim, &c->ts.tcp) != LIMIT_NONE) {
        c->state = CONN_CLOSING; /* counted and logged by connlimit */
        tls_stream_abort(&c->ts, "over a connection limit");
        return;
    }
    tls_stream_start(&c->ts, t->cfg->limit_handshake_ms + HANDSHAKE_BACKSTOP_MS,
                     USER_TIMEOUT_MS, in_handshake, in_data, in_tls_closed);
}

/* Not through TLS and the preamble within handshake_timeout: close. */
static bool expire(struct connlimit_conn *lc, enum limit_kind kind)
{
    struct conn *c = list_entry(lc, struct conn, lim);

    (void)kind;
    if (c->state != CONN_TLS && c->state != CONN_PREAMBLE) {
        return false;
    }
    c->state = CONN_CLOSING; /* counted and logged by connlimit */
    tls_stream_abort(&c->ts, "handshake timed out");
    return true;
}

/* --- raft_uv_transport interface ------------------------------------------ */

static int transport_iface_init(struct raft_uv_transport *iface,
                                raft_id id,
                                const char *address)
{
    struct transport *t = iface->impl;
    (void)address;
    t->id = id;
    return 0;
}

static int transport_listen(struct raft_uv_transport *iface,
                            raft_uv_accept_cb cb)
{
    struct transport *t = iface->impl;
    struct sockaddr_storage ss;
    int rv;

    if (netaddr_parse_ip(t->cfg->raft_bind, &ss) != 0) {
        snprintf(iface->errmsg, sizeof iface->errmsg,
                 "raft_bind %.200s: not an IP address and port",
                 t->cfg->raft_bind);
        return RAFT_INVALID;
    }
    rv = uv_tcp_bind(&t->listener, (struct sockaddr *)&ss, 0);
    if (rv == 0) {
        rv = uv_listen((uv_stream_t *)&t->listener, 128, on_connection);
    }
    if (rv != 0) {
        snprintf(iface->errmsg, sizeof iface->errmsg, "listen on %.200s: %s",
                 t->cfg->raft_bind, uv_strerror(rv));
        return RAFT_IOERR;
    }
    t->accept_cb = cb;
    t->listening = true;
    connlimit_init(&t->limits, t->loop, t->cfg, LISTENER_RAFT, 0, t->limit_hits,
                   expire);
    return 0;
}

static void maybe_closed(struct transport *t)
{
    if (!t->closing || t->pending_handles > 0 || !list_empty(&t->conns) ||
        t->close_cb == NULL) {
        return;
    }
    raft_uv_transport_close_cb cb = t->close_cb;
    t->close_cb = NULL;
    cb(&t->iface);
}

static void listener_closed(uv_handle_t *h)
{
    struct transport *t = h->data;
    t->pending_handles--;
    maybe_closed(t);
}

static void transport_close(struct raft_uv_transport *iface,
                            raft_uv_transport_close_cb cb)
{
    struct transport *t = iface->impl;
    struct list *i;

    if (t->closing) {
        return;
    }
    t->closing = true;
    t->close_cb = cb;
    t->pending_handles++;
    uv_close((uv_handle_t *)&t->listener, listener_closed);
    connlimit_close(&t->limits);
    for (i = t->conns.next; i != &t->conns; i = i->next) {
        conn_close(list_entry(i, struct conn, link));
    }
}

void transport_init(struct transport *t,
                    uv_loop_t *loop,
                    SSL_CTX *ctx,
                    const struct config *cfg,
                    uint64_t *limit_hits)
{
    memset(t, 0, sizeof *t);
    t->limit_hits = limit_hits;
    list_init(&t->limits.conns);
    t->loop = loop;
    t->ctx = ctx;
    t->cfg = cfg;
    list_init(&t->conns);
    uv_tcp_init(loop, &t->listener);
    t->listener.data = t;
    t->iface.impl = t;
    t->iface.init = transport_iface_init;
    t->iface.listen = transport_listen;
    t->iface.connect = transport_connect;
    t->iface.close = transport_close;
}

void transport_set_tls(struct transport *t, SSL_CTX *ctx)
{
    t->ctx = ctx;
}

unsigned transport_connected_peers(const struct transport *t)
{
    unsigned n = 0;
    for (struct list *i = t->conns.next; i != &t->conns; i = i->next) {
        const struct conn *c = list_entry(i, struct conn, link);
        if (c->outgoing && c->state == CONN_BRIDGED) {
            n++;
        }
    }
    return n;
}
