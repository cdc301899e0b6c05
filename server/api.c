#include "api.h"

#include "api_check.h"
#include "api_req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "frame.h"
#include "log.h"
#include "membership.h"
#include "netaddr.h"
#include "oncall_config.h"
#include "oncall_state.h"

/* The handshake deadline is enforced by connlimit; the stream's own timer
 * is a backstop this much later. */
#define HANDSHAKE_BACKSTOP_MS 5000
/* How long a client over max_connections_per_client is told to wait. */
#define PER_CLIENT_RETRY_MS 1000
#define MAX_INFLIGHT 1024
#define WRITE_HIGH_MARK (8u << 20)
#define WRITE_LOW_MARK (1u << 20)

static void conn_maybe_free(struct api_conn *c)
{
    if (!c->closed || c->inflight > 0) {
        return;
    }
    list_remove(&c->link);
    c->api->n_conns--;
    connlimit_remove(&c->api->limits, &c->lim);
    free(c->buf);
    free(c);
}

static void conn_throttle(struct api_conn *c)
{
    if (c->inflight >= MAX_INFLIGHT ||
        tls_stream_queued(&c->ts) > WRITE_HIGH_MARK) {
        tls_stream_pause(&c->ts);
    } else if (c->ts.paused && c->inflight < MAX_INFLIGHT / 2 &&
               tls_stream_queued(&c->ts) <= WRITE_LOW_MARK) {
        tls_stream_resume(&c->ts);
    }
}

/* Encode and send one response on an open connection. */
static void api_send_response(struct api_conn *c, Klaxon__Response *resp)
{
    size_t n = klaxon__response__get_packed_size(resp);
    uint8_t stackbuf[4096];
    uint8_t *p = n + FRAME_HEADER <= sizeof stackbuf ? stackbuf
                                                     : malloc(n + FRAME_HEADER);

    if (c->closed || c->ts.state != TLS_STREAM_OPEN) {
        if (p != stackbuf) {
            free(p);
        }
        return;
    }
    if (p == NULL) {
        tls_stream_abort(&c->ts, "out of memory");
        return;
    }
    frame_put_len(p, (uint32_t)n);
    klaxon__response__pack(resp, p + FRAME_HEADER);
    (void)tls_stream_write(&c->ts, p, n + FRAME_HEADER);
    if (p != stackbuf) {
        free(p);
    }
}

void api_response_init(Klaxon__Response *resp, uint64_t seq)
{
    klaxon__response__init(resp);
    resp->version = PROTOCOL_VERSION;
    resp->seq = seq;
}

bool api_error_response(struct node *n,
                        Klaxon__Response *resp,
                        int code,
                        const char *msg)
{
    const char *leader_api = NULL;

    resp->code = (Klaxon__Code)code;
    resp->message = (char *)msg;
    if (code != KLAXON__CODE__NOT_LEADER) {
        return false;
    }
    node_leader(n, &resp->leader_id, &leader_api);
    resp->leader_api_address = (char *)(leader_api != NULL ? leader_api : "");
    /* Still leader by its own view (handing over, or not ready): pointing
     * the client at itself would only loop. */
    if (resp->leader_id == n->cfg->id) {
        resp->code = KLAXON__CODE__UNAVAILABLE;
        resp->message = (char *)api_code_message(KLAXON__CODE__UNAVAILABLE);
        resp->leader_id = 0;
        resp->leader_api_address = "";
        return false;
    }
    return true;
}

/* Answer with a code and a message only, outside any request. */
static void conn_send_error(struct api_conn *c,
                            uint64_t seq,
                            int code,
                            const char *msg)
{
    Klaxon__Response resp;

    api_response_init(&resp, seq);
    (void)api_error_response(c->api->node, &resp, code, msg);
    api_send_response(c, &resp);
}

void api_reply(struct api_req *r, Klaxon__Response *resp)
{
    resp->version = PROTOCOL_VERSION;
    resp->seq = r->req->seq;
    metrics_request(&r->node->metrics, (int)r->req->op_case, (int)resp->code);
    r->origin->reply(r, resp);
}

void api_reply_error(struct api_req *r, int code, const char *msg)
{
    Klaxon__Response resp;

    api_response_init(&resp, r->req->seq);
    (void)api_error_response(r->node, &resp, code, msg);
    api_reply(r, &resp);
}

const char *api_code_message(int code)
{
    switch (code) {
        case KLAXON__CODE__NOT_LEADER:
            return "this node is not the leader";
        case KLAXON__CODE__UNKNOWN_OUTCOME:
            return "leadership changed before the write was confirmed; "
                   "retrying with the same request id is safe";
        case KLAXON__CODE__UNAVAILABLE:
            return "no ready leader (election in progress or node busy); "
                   "retry";
        case KLAXON__CODE__RESOURCE_EXHAUSTED:
            return "over a limit of this node; retry after retry_after_ms";
        default:
            return "internal error";
    }
}

static void process_frames(struct api_conn *c);

void api_req_free(struct api_req *r)
{
    r->origin->release(r);
}

static void handle_status(struct api_req *r)
{
    Klaxon__Member *members[MEMBERS_MAX];
    Klaxon__Member storage[MEMBERS_MAX];
    Klaxon__StateCounters counters;
    Klaxon__NodeStatus st;
    Klaxon__Response resp;
    MDB_txn *txn;

    node_status(r->node, &st, members, storage);
    if (mdb_txn_begin(r->node->store.env, NULL, MDB_RDONLY, &txn) == 0) {
        if (oncall_counters(txn, &r->node->store, &counters) == 0) {
            st.counters = &counters;
        }
        mdb_txn_abort(txn);
    }
    api_response_init(&resp, r->req->seq);
    resp.result_case = KLAXON__RESPONSE__RESULT_STATUS;
    resp.status = &st;
    api_reply(r, &resp);
    api_req_free(r);
}

/* authz_monitor_service_fn over the configuration stored on this node. */
static int monitor_service(void *arg,
                           const char *monitor,
                           char *buf,
                           size_t len)
{
    struct api_req *r = arg;
    Klaxon__Cluster__StoredConfig *sc = NULL;
    const Klaxon__HeartbeatMonitor *hm = NULL;
    MDB_txn *txn;

    if (mdb_txn_begin(r->node->store.env, NULL, MDB_RDONLY, &txn) != 0) {
        return -1;
    }
    if (oncall_stored(txn, &r->node->store, &sc) == 0 && sc->config != NULL) {
        hm = oncall_heartbeat(sc->config, monitor);
        if (hm != NULL) {
            snprintf(buf, len, "%s", hm->service);
        }
    }
    if (sc != NULL) {
        klaxon__cluster__stored_config__free_unpacked(sc, NULL);
    }
    mdb_txn_abort(txn);
    return hm != NULL ? 0 : -1;
}

/* May the caller make this request? True, or false after answering
 * PERMISSION_DENIED. */
static bool authorized(struct api_req *r)
{
    static const struct authz_principal nobody = {.name = "(unknown)"};
    const struct authz_principal *p =
        r->principal != NULL ? r->principal : &nobody;
    char msg[512];

    if (authz_check(p, r->req, monitor_service, r, msg, sizeof msg) ==
        KLAXON__CODE__OK) {
        return true;
    }
    authz_log_refusal(p, r->remote, msg, uv_hrtime() / 1000000u);
    (*r->n_refused)++;
    api_reply_error(r, KLAXON__CODE__PERMISSION_DENIED, msg);
    api_req_free(r);
    return false;
}

int api_check_protocol(const Klaxon__Request *q, char *msg, size_t len)
{
    if (q->version == 0 || q->version > PROTOCOL_VERSION) {
        snprintf(msg, len,
                 "protocol version %u is not supported (this node speaks %d)",
                 q->version, PROTOCOL_VERSION);
        return KLAXON__CODE__UNSUPPORTED;
    }
    return KLAXON__CODE__OK;
}

bool api_is_write(int op_case)
{
    switch (op_case) {
        case KLAXON__REQUEST__OP_TRIGGER:
        case KLAXON__REQUEST__OP_ACK:
        case KLAXON__REQUEST__OP_RESOLVE:
        case KLAXON__REQUEST__OP_NOTE:
        case KLAXON__REQUEST__OP_APPLY_CONFIG:
        case KLAXON__REQUEST__OP_HEARTBEAT:
        case KLAXON__REQUEST__OP_MAINTENANCE_START:
        case KLAXON__REQUEST__OP_MAINTENANCE_END:
        case KLAXON__REQUEST__OP_STATUS_UPDATE:
            return true;
        default:
            return false;
    }
}

void api_req_dispatch(struct api_req *r)
{
    Klaxon__Request *q = r->req;
    char msg[128];

    if (api_check_protocol(q, msg, sizeof msg) != KLAXON__CODE__OK) {
        api_reply_error(r, KLAXON__CODE__UNSUPPORTED, msg);
        api_req_free(r);
        return;
    }
    if (!authorized(r)) {
        return;
    }
    if (api_is_write(q->op_case)) {
        api_handle_write(r);
        return;
    }
    switch (q->op_case) {
        case KLAXON__REQUEST__OP_GET:
        case KLAXON__REQUEST__OP_LIST:
        case KLAXON__REQUEST__OP_GET_CONFIG:
        case KLAXON__REQUEST__OP_ONCALL:
        case KLAXON__REQUEST__OP_MAINTENANCE_LIST:
        case KLAXON__REQUEST__OP_PAGES:
        case KLAXON__REQUEST__OP_MONITORS:
            api_handle_read(r);
            break;
        case KLAXON__REQUEST__OP_STATUS:
            handle_status(r);
            break;
        case KLAXON__REQUEST__OP_SNAPSHOT_SAVE:
            api_handle_snapshot(r);
            break;
        case KLAXON__REQUEST__OP_MEMBER_ADD:
        case KLAXON__REQUEST__OP_MEMBER_REMOVE:
        case KLAXON__REQUEST__OP_MEMBER_PROMOTE:
        case KLAXON__REQUEST__OP_MEMBER_LIST:
        case KLAXON__REQUEST__OP_LEADER_TRANSFER:
            api_handle_membership(r);
            break;
        default:
            api_reply_error(r, KLAXON__CODE__UNSUPPORTED,
                            "op: missing or unknown operation");
            api_req_free(r);
            break;
    }
}

/* --- requests on a connection ----------------------------------------------
 */

static void conn_reply(struct api_req *r, Klaxon__Response *resp)
{
    struct api_conn *c = r->owner;
    if (resp->code == KLAXON__CODE__NOT_LEADER) {
        c->api->n_redirects++;
    }
    api_send_response(c, resp);
}

void api_req_clear(struct api_req *r)
{
    oncall_config_free(r->config);
    r->config = NULL;
    klaxon__request__free_unpacked(r->req, NULL);
    r->req = NULL;
}

static void conn_release(struct api_req *r)
{
    struct api_conn *c = r->owner;
    api_req_clear(r);
    free(r);
    c->inflight--;
    if (!c->closed) {
        conn_throttle(c);
        if (!c->ts.paused && c->len >= FRAME_HEADER) {
            process_frames(c); /* frames held back while throttled */
        }
    }
    conn_maybe_free(c);
}

static const struct api_origin conn_origin = {conn_reply, conn_release};

/* Answer RESOURCE_EXHAUSTED to q (freed). */
static void refuse_exhausted(struct api_conn *c,
                             Klaxon__Request *q,
                             uint64_t retry_after_ms,
                             const char *msg)
{
    Klaxon__Response resp;

    api_response_init(&resp, q->seq);
    resp.code = KLAXON__CODE__RESOURCE_EXHAUSTED;
    resp.message = (char *)msg;
    resp.retry_after_ms = retry_after_ms;
    metrics_request(&c->api->node->metrics, (int)q->op_case, (int)resp.code);
    api_send_response(c, &resp);
    klaxon__request__free_unpacked(q, NULL);
}

/* Refuse q if the connection or its client is over a limit: true if so
 * (q is then freed). */
static bool over_limit(struct api_conn *c, Klaxon__Request *q)
{
    struct api *a = c->api;
    uint64_t wait_ms = 0;
    char msg[400];

    if (c->over_limit) {
        snprintf(msg, sizeof msg,
                 "client %s has %u connections open to this node, the most "
                 "allowed (limits.max_connections_per_client); closing",
                 c->peer.name, a->cfg->limit_per_client);
        refuse_exhausted(c, q, PER_CLIENT_RETRY_MS, msg);
        tls_stream_close(&c->ts);
        return true;
    }
    if (c->lim.exempt || ratelimit_take_wait(&a->rates, c->peer.name,
                                             uv_now(a->loop), &wait_ms)) {
        return false;
    }
    snprintf(msg, sizeof msg,
             "client %s is over %u requests per second (limits.client_rate)",
             c->peer.name, a->cfg->limit_client_rate);
    connlimit_hit(&a->limits, LIMIT_RATE, c->remote, msg);
    refuse_exhausted(c, q, wait_ms, msg);
    return true;
}

static void dispatch(struct api_conn *c, Klaxon__Request *q)
{
    struct api_req *r;

    if (over_limit(c, q)) {
        return;
    }
    r = calloc(1, sizeof *r);
    if (r == NULL) {
        conn_send_error(c, q->seq, KLAXON__CODE__INTERNAL, "out of memory");
        klaxon__request__free_unpacked(q, NULL);
        return;
    }
    r->origin = &conn_origin;
    r->owner = c;
    r->node = c->api->node;
    r->who = c->peer.name;
    r->principal = &c->principal;
    r->remote = c->remote;
    r->n_refused = &c->api->n_refused;
    r->req = q;
    r->started_ns = uv_hrtime();
    c->inflight++;
    c->api->n_requests++;
    api_req_dispatch(r);
}

/* A partial frame must be finished within request_timeout of its first
 * byte; with nothing buffered the connection may idle for idle_timeout. */
static void arm_deadline(struct api_conn *c, bool frame_done)
{
    struct connlimit *l = &c->api->limits;

    if (c->closed || !c->lim.authenticated) {
        return;
    }
    if (c->len == 0) {
        connlimit_set_deadline(l, &c->lim, LIMIT_IDLE_TIMEOUT,
                               l->cfg->limit_idle_ms);
    } else if (frame_done || c->lim.deadline_kind != LIMIT_REQUEST_TIMEOUT ||
               c->lim.deadline_ms == 0) {
        connlimit_set_deadline(l, &c->lim, LIMIT_REQUEST_TIMEOUT,
                               l->cfg->limit_request_ms);
    }
}

enum api_frame api_frame_next(const uint8_t *buf,
                              size_t len,
                              uint32_t max,
                              size_t *used,
                              Klaxon__Request **out)
{
    uint32_t n;

    *used = 0;
    *out = NULL;
    if (len < FRAME_HEADER) {
        return API_FRAME_MORE;
    }
    n = frame_get_len(buf);
    if (n > max) {
        return API_FRAME_TOO_LARGE;
    }
    if (len - FRAME_HEADER < n) {
        return API_FRAME_MORE;
    }
    *used = FRAME_HEADER + n;
    *out = klaxon__request__unpack(NULL, n, buf + FRAME_HEADER);
    return *out != NULL ? API_FRAME_REQUEST : API_FRAME_MALFORMED;
}

/* Handle every complete frame in the buffer. */
static void process_frames(struct api_conn *c)
{
    size_t off = 0;
    unsigned max = c->api->cfg->limit_max_frame;

    if (c->processing) {
        return;
    }
    c->processing = true;
    while (c->len - off >= FRAME_HEADER && !c->closed &&
           c->ts.state == TLS_STREAM_OPEN && !c->ts.paused) {
        Klaxon__Request *q = NULL;
        size_t used = 0;
        enum api_frame f =
            api_frame_next(c->buf + off, c->len - off, max, &used, &q);
        if (f == API_FRAME_TOO_LARGE) {
            char msg[128];
            snprintf(msg, sizeof msg,
                     "frame of %u bytes exceeds the %u limit "
                     "(limits.max_frame)",
                     frame_get_len(c->buf + off), max);
            connlimit_hit(&c->api->limits, LIMIT_FRAME, c->remote, msg);
            conn_send_error(c, 0, KLAXON__CODE__TOO_LARGE, msg);
            tls_stream_close(&c->ts);
            break;
        }
        if (f == API_FRAME_MORE) {
            break;
        }
        off += used;
        if (f == API_FRAME_MALFORMED) {
            log_info("api: malformed request frame from %s", c->remote);
            conn_send_error(c, 0, KLAXON__CODE__INVALID_ARGUMENT,
                            "malformed request frame");
            continue;
        }
        dispatch(c, q);
        conn_throttle(c);
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
    c->processing = false;
    arm_deadline(c, off > 0);
}

static int buffer_append(struct api_conn *c, const uint8_t *data, size_t len)
{
    if (c->len + len > c->cap) {
        size_t cap = c->cap == 0 ? 16384 : c->cap;
        uint8_t *p;
        while (cap < c->len + len) {
            cap *= 2;
        }
        /* Never buffer more than one maximal frame plus a read. */
        if (cap >
            2 * ((size_t)c->api->cfg->limit_max_frame + FRAME_HEADER) + 65536) {
            return -1;
        }
        p = realloc(c->buf, cap);
        if (p == NULL) {
            return -1;
        }
        c->buf = p;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, data, len);
    c->len += len;
    return 0;
}

static void on_data(struct tls_stream *s, const uint8_t *data, size_t len)
{
    struct api_conn *c = s->data;
    if (buffer_append(c, data, len) != 0) {
        conn_send_error(c, 0, KLAXON__CODE__TOO_LARGE, "request too large");
        tls_stream_close(&c->ts);
        return;
    }
    process_frames(c);
}

static void on_drain(struct tls_stream *s)
{
    struct api_conn *c = s->data;
    conn_throttle(c);
    if (!c->ts.paused) {
        process_frames(c);
    }
}

static void on_handshake(struct tls_stream *s)
{
    struct api_conn *c = s->data;
    if (tls_peer_identity(s->ssl, &c->peer) != 0) {
        log_info(
            "api: refused %s: unreadable certificate subject or "
            "service URIs",
            c->remote);
        tls_stream_close(s);
        return;
    }
    authz_from_identity(&c->peer, &c->principal);
    if (c->principal.role == AUTHZ_NONE) {
        log_info(
            "api: refused %s: certificate role (OU) \"%s\" is not sender, "
            "responder, admin or node",
            c->remote, c->peer.role);
        tls_stream_close(s);
        return;
    }
    if (c->principal.legacy) {
        authz_warn_legacy(&c->principal, c->remote);
    }
    c->over_limit = connlimit_authenticated(
                        &c->api->limits, &c->lim, c->peer.name,
                        strcmp(c->peer.role, TLS_ROLE_NODE) == 0) != LIMIT_NONE;
    arm_deadline(c, false);
    log_debug("api: %s connected from %s", c->peer.name, c->remote);
}

static void on_close(struct tls_stream *s)
{
    struct api_conn *c = s->data;
    if (c->peer.name[0] == '\0' && s->errmsg[0] != '\0' && !c->limited) {
        log_info("api: connection from %s failed: %s", c->remote, s->errmsg);
    }
    c->closed = true;
    conn_maybe_free(c);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct api *a = server->data;
    struct api_conn *c;

    if (status != 0 || a->closing) {
        return;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        return;
    }
    c->api = a;
    c->ts.data = c;
    if (tls_stream_init(&c->ts, a->loop, a->tls, true) != 0) {
        free(c);
        return;
    }
    list_push(&a->conns, &c->link);
    a->n_conns++;
    c->ts.on_close = on_close;
    c->ts.on_drain = on_drain;
    c->ts.drain_mark = WRITE_LOW_MARK;
    if (uv_accept(server, (uv_stream_t *)&c->ts.tcp) != 0) {
        tls_stream_abort(&c->ts, "accept failed");
        return;
    }
    netaddr_peer_name(&c->ts.tcp, c->remote, sizeof c->remote);
    if (connlimit_admit(&a->limits, &c->lim, &c->ts.tcp) != LIMIT_NONE) {
        c->limited = true;
        tls_stream_abort(&c->ts, "over a connection limit");
        return;
    }
    tls_stream_start(&c->ts, a->cfg->limit_handshake_ms + HANDSHAKE_BACKSTOP_MS,
                     0, on_handshake, on_data, on_close);
}

/* Past a deadline: close, unless requests are still being answered (a
 * connection waiting for its answers is not idle). */
static bool expire(struct connlimit_conn *lc, enum limit_kind kind)
{
    struct api_conn *c = list_entry(lc, struct api_conn, lim);

    if (c->closed) {
        return false;
    }
    if (kind == LIMIT_IDLE_TIMEOUT && c->inflight > 0) {
        connlimit_set_deadline(&c->api->limits, lc, kind,
                               c->api->cfg->limit_idle_ms);
        return false;
    }
    c->limited = true;
    tls_stream_abort(&c->ts, connlimit_kind_name(kind));
    return true;
}

void api_set_tls(struct api *a, SSL_CTX *tls)
{
    a->tls = tls;
}

int api_start(struct api *a,
              uv_loop_t *loop,
              struct node *node,
              const struct config *cfg,
              SSL_CTX *tls,
              char *err,
              size_t errlen)
{
    struct sockaddr_storage ss;
    int rv;

    memset(a, 0, sizeof *a);
    a->loop = loop;
    a->node = node;
    a->cfg = cfg;
    a->tls = tls;
    list_init(&a->conns);
    ratelimit_init(&a->rates, cfg->limit_client_rate);
    if (netaddr_parse_ip(cfg->api_bind, &ss) != 0) {
        snprintf(err, errlen,
                 "node.api_bind: %.200s is not an IP address "
                 "and port",
                 cfg->api_bind);
        return -1;
    }
    uv_tcp_init(loop, &a->listener);
    a->listener.data = a;
    rv = uv_tcp_bind(&a->listener, (struct sockaddr *)&ss, 0);
    if (rv == 0) {
        rv = uv_listen((uv_stream_t *)&a->listener, 511, on_connection);
    }
    if (rv != 0) {
        snprintf(err, errlen, "api: listen on %.200s: %s", cfg->api_bind,
                 uv_strerror(rv));
        uv_close((uv_handle_t *)&a->listener, NULL);
        return -1;
    }
    connlimit_init(&a->limits, loop, cfg, LISTENER_API, cfg->max_connections,
                   node->metrics.limits[LISTENER_API], expire);
    return 0;
}

void api_stop(struct api *a)
{
    if (a->closing) {
        return;
    }
    a->closing = true;
    uv_close((uv_handle_t *)&a->listener, NULL);
    connlimit_close(&a->limits);
    for (struct list *i = a->conns.next; i != &a->conns; i = i->next) {
        struct api_conn *c = list_entry(i, struct api_conn, link);
        tls_stream_close(&c->ts);
    }
}
