/*
 * The pipeline's connection: connect (following the leader), send queued
 * frames, read answers and act on them, expire requests, and wait.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "convert.h"
#include "deadline.h"
#include "frame.h"
#include "klaxon.pb-c.h"
#include "pipeline.h"
#include "write.h"

static bool active(const struct slot *s)
{
    return s->state == SLOT_QUEUED || s->state == SLOT_SENT;
}

static bool has_work(const struct klaxon_pipeline *p)
{
    for (unsigned i = 0; i < p->depth; i++) {
        if (active(&p->slots[i])) {
            return true;
        }
    }
    return false;
}

static unsigned next_backoff(struct klaxon_pipeline *p)
{
    unsigned b = p->backoff;

    p->backoff = b * 2 < BACKOFF_MAX_MS ? b * 2 : BACKOFF_MAX_MS;
    return b / 2 + (unsigned)(client_random(p->c) % (b / 2 + 1));
}

/* The connection is no good: queue its requests again and connect to the
 * next endpoint after a backoff. */
static void move_on(struct klaxon_pipeline *p, int64_t now)
{
    pipeline_drop_conn(p);
    endpoint_clear(&p->next);
    p->next_endpoint++;
    p->reconnect_at = now + next_backoff(p);
}

/* Finish every active request with `code` (a failure no retry can mend). */
static void fail_all(struct klaxon_pipeline *p, int code)
{
    for (unsigned i = 0; i < p->depth; i++) {
        if (active(&p->slots[i])) {
            pipeline_complete(p, &p->slots[i], code, "%s", p->last_error);
        }
    }
}

static int64_t earliest_deadline(const struct klaxon_pipeline *p)
{
    int64_t d = INT64_MAX;

    for (unsigned i = 0; i < p->depth; i++) {
        if (active(&p->slots[i]) && p->slots[i].deadline < d) {
            d = p->slots[i].deadline;
        }
    }
    return d;
}

static const struct endpoint *target(struct klaxon_pipeline *p)
{
    const struct endpoint_list *l = &p->c->endpoints;

    if (p->next.addr != NULL) {
        return &p->next;
    }
    return &l->v[p->next_endpoint % l->n];
}

static void connect_failed(struct klaxon_pipeline *p, int rv, int64_t now)
{
    if (rv == CONN_ENOMEM) {
        fail_all(p, KLAXON_ENOMEM);
        return;
    }
    p->tls_streak = rv == CONN_ETLS ? p->tls_streak + 1 : 0;
    move_on(p, now);
    if (p->tls_streak >= p->c->endpoints.n) {
        fail_all(p, KLAXON_ETLS);
        p->tls_streak = 0;
    }
}

/* Connect when requests wait and the backoff is over. */
static void ensure_conn(struct klaxon_pipeline *p, int64_t now)
{
    const struct endpoint *ep;
    char msg[160];
    int64_t d;
    int rv;

    if (p->conn != NULL || now < p->reconnect_at || !has_work(p)) {
        return;
    }
    ep = target(p);
    d = deadline_min(earliest_deadline(p),
                     now + (int64_t)p->c->connect_timeout_ms);
    rv = conn_open(&p->c->tls, ep, d, &p->conn, msg, sizeof msg);
    if (rv == CONN_OK) {
        p->connected = true;
        p->tls_streak = 0;
        return;
    }
    pipeline_note(p, "%s: %s", ep->addr, msg);
    connect_failed(p, rv, deadline_now());
}

/* Move queued frames whose time has come into the send buffer. */
static int fill(struct klaxon_pipeline *p, int64_t now)
{
    for (unsigned k = p->queued.n; k > 0; k--) {
        unsigned idx = pipeline_ring_pop(&p->queued);
        struct slot *s = &p->slots[idx];

        s->in_queue = false;
        if (s->state != SLOT_QUEUED) {
            continue;
        }
        if (s->not_before > now) {
            pipeline_enqueue(p, s);
            continue;
        }
        if (pipeline_buf_reserve(&p->out, s->len) != 0) {
            pipeline_enqueue(p, s);
            return KLAXON_ENOMEM;
        }
        memcpy(p->out.p + p->out.len, s->frame, s->len);
        p->out.len += s->len;
        s->state = SLOT_SENT;
        s->sent = true;
    }
    return KLAXON_OK;
}

/* A connection failure: queue everything again, come back at once to the
 * same node if it was working (it may just have closed an idle
 * connection), else move on. */
static void lost(struct klaxon_pipeline *p, const char *msg, int64_t now)
{
    char msg2[160];
    const char *addr = conn_endpoint(p->conn);

    pipeline_note(p, "%s: %s", addr, msg);
    endpoint_clear(&p->next);
    if (endpoint_parse(addr, &p->next, msg2, sizeof msg2) != KLAXON_OK) {
        endpoint_clear(&p->next);
    }
    pipeline_drop_conn(p);
    p->reconnect_at = now;
}

static void send_out(struct klaxon_pipeline *p, int64_t now)
{
    char msg[160];
    size_t done;
    int rv;

    if (p->conn == NULL || p->out.len == 0) {
        return;
    }
    rv = conn_write_some(p->conn, p->out.p, p->out.len, &done, &p->want_write,
                         msg, sizeof msg);
    if (rv != CONN_OK) {
        lost(p, msg, now);
        return;
    }
    pipeline_buf_consume(&p->out, done);
}

/* A successful answer to s. */
static void succeeded(struct klaxon_pipeline *p,
                      struct slot *s,
                      const Klaxon__Response *r)
{
    p->backoff = BACKOFF_MIN_MS;
    p->redirects = 0;
    if (s->get) {
        struct klaxon_incident *i = NULL;
        if (r->result_case == KLAXON__RESPONSE__RESULT_GET && r->get != NULL &&
            r->get->incident != NULL) {
            i = convert_get(r->get);
        }
        s->done.incident = i;
        pipeline_complete(p, s, i != NULL ? KLAXON_OK : KLAXON_EPROTO, "%s",
                          i != NULL ? "" : "answer without the incident");
        return;
    }
    if (r->mutation == NULL) {
        pipeline_complete(p, s, KLAXON_EPROTO,
                          "node answered a write without its result");
        return;
    }
    write_result(r->mutation, &s->done.result);
    pipeline_complete(p, s, KLAXON_OK, "%s", "");
}

/* NOT_LEADER naming the leader: connect there. */
static void follow(struct klaxon_pipeline *p,
                   const Klaxon__Response *r,
                   int64_t now)
{
    char msg[160];

    pipeline_note(p, "%s is not the leader (leader: node %llu at %s)",
                  conn_endpoint(p->conn), (unsigned long long)r->leader_id,
                  r->leader_api_address);
    pipeline_drop_conn(p);
    endpoint_clear(&p->next);
    if (endpoint_parse(r->leader_api_address, &p->next, msg, sizeof msg) !=
        KLAXON_OK) {
        move_on(p, now);
        return;
    }
    p->reconnect_at =
        p->redirects++ < FREE_REDIRECTS ? now : now + next_backoff(p);
}

/* RESOURCE_EXHAUSTED: send s again later, if its deadline allows. */
static void exhausted(struct klaxon_pipeline *p,
                      struct slot *s,
                      const Klaxon__Response *r,
                      const char *msg,
                      int64_t now)
{
    uint64_t wait = r->retry_after_ms > 0 ? r->retry_after_ms : 1;

    if (now + (int64_t)wait >= s->deadline) {
        pipeline_complete(p, s, KLAXON_ELIMIT, "%s",
                          msg[0] != '\0' ? msg : "over a node limit");
        return;
    }
    s->not_before = now + (int64_t)wait;
    pipeline_enqueue(p, s);
}

/* Act on one answer. false when the connection was given up. */
static bool answer(struct klaxon_pipeline *p,
                   struct slot *s,
                   const Klaxon__Response *r,
                   int64_t now)
{
    bool mutation = r->code == KLAXON__CODE__OK &&
                    r->result_case == KLAXON__RESPONSE__RESULT_MUTATION &&
                    r->mutation != NULL;
    int code = mutation ? (int)r->mutation->code : (int)r->code;
    const char *msg = mutation ? r->mutation->message : r->message;

    if (code == KLAXON__CODE__OK) {
        succeeded(p, s, r);
    } else if (code == KLAXON__CODE__NOT_LEADER &&
               r->leader_api_address[0] != '\0') {
        follow(p, r, now);
        return false;
    } else if (code == KLAXON__CODE__NOT_LEADER ||
               code == KLAXON__CODE__UNAVAILABLE ||
               code == KLAXON__CODE__UNKNOWN_OUTCOME ||
               code == KLAXON__CODE__INTERNAL) {
        pipeline_note(p, "%s answered code %d%s%s", conn_endpoint(p->conn),
                      code, msg[0] != '\0' ? ": " : "", msg);
        move_on(p, now);
        return false;
    } else if (code == KLAXON__CODE__RESOURCE_EXHAUSTED) {
        exhausted(p, s, r, msg, now);
    } else {
        int rv = call_final_code(code);
        pipeline_complete(p, s, rv, "%s",
                          msg[0] != '\0' ? msg : klaxon_strerror(rv));
    }
    return true;
}

/* One frame from the node. false when the connection was given up. */
static bool frame(struct klaxon_pipeline *p,
                  const uint8_t *body,
                  size_t n,
                  int64_t now)
{
    Klaxon__Response *r = klaxon__response__unpack(NULL, n, body);
    struct slot *s;
    bool up = true;

    if (r == NULL) {
        lost(p, "undecodable answer", now);
        return false;
    }
    s = &p->slots[r->seq % p->depth];
    if (s->state == SLOT_SENT && s->seq == r->seq) {
        up = answer(p, s, r, now);
    }
    klaxon__response__free_unpacked(r, NULL);
    return up;
}

/* Whole frames in the receive buffer. */
static void frames(struct klaxon_pipeline *p, int64_t now)
{
    size_t off = 0;

    while (p->conn != NULL && p->in.len - off >= FRAME_HEADER) {
        uint32_t n = frame_get_len(p->in.p + off);
        if (n > FRAME_MAX) {
            lost(p, "answer frame over the limit", now);
            return;
        }
        if (p->in.len - off - FRAME_HEADER < n) {
            break;
        }
        if (!frame(p, p->in.p + off + FRAME_HEADER, n, now)) {
            return; /* the buffer went with the connection */
        }
        off += FRAME_HEADER + n;
    }
    if (p->conn != NULL) {
        pipeline_buf_consume(&p->in, off);
    }
}

static int receive(struct klaxon_pipeline *p, int64_t now)
{
    char msg[160];
    bool want_write;
    size_t got;
    int rv;

    do {
        if (pipeline_buf_reserve(&p->in, READ_CHUNK) != 0) {
            return KLAXON_ENOMEM;
        }
        rv = conn_read_some(p->conn, p->in.p + p->in.len, READ_CHUNK, &got,
                            &want_write, msg, sizeof msg);
        p->in.len += got;
        if (rv != CONN_OK) {
            lost(p, msg, now);
            return KLAXON_OK;
        }
        p->want_write = p->want_write || want_write;
        frames(p, now);
    } while (p->conn != NULL && got == READ_CHUNK);
    return KLAXON_OK;
}

/* Requests past their deadline. */
static void expire(struct klaxon_pipeline *p, int64_t now)
{
    for (unsigned i = 0; i < p->depth; i++) {
        struct slot *s = &p->slots[i];
        bool write = !s->get;
        if (!active(s) || s->deadline > now) {
            continue;
        }
        if (s->state == SLOT_SENT || !p->connected) {
            pipeline_complete(
                p, s, p->connected ? KLAXON_ETIMEOUT : KLAXON_ECONNECT,
                "%s within %u ms%s%s%s",
                p->connected ? "no answer" : "no connection", p->c->timeout_ms,
                p->last_error[0] ? "; last error: " : "", p->last_error,
                write && s->sent ? "; outcome unknown: retrying with the "
                                   "same request id is safe"
                                 : "");
        } else {
            pipeline_complete(
                p, s, KLAXON_EUNAVAILABLE, "no ready leader within %u ms%s%s%s",
                p->c->timeout_ms, p->last_error[0] ? "; last error: " : "",
                p->last_error, write && s->sent ? "; outcome unknown" : "");
        }
    }
}

/* One round of I/O without waiting. */
static int turn(struct klaxon_pipeline *p)
{
    int64_t now = deadline_now();
    int rv;

    expire(p, now);
    ensure_conn(p, now);
    if (p->conn == NULL) {
        return KLAXON_OK;
    }
    rv = fill(p, now);
    if (rv != KLAXON_OK) {
        return rv;
    }
    send_out(p, now);
    if (p->conn == NULL) {
        return KLAXON_OK;
    }
    rv = receive(p, now);
    if (rv == KLAXON_OK && p->conn != NULL && p->out.len > 0) {
        send_out(p, now); /* reading may have unblocked the socket */
    }
    return rv;
}

/* When the next thing other than I/O happens: a deadline, a reconnect or
 * a RESOURCE_EXHAUSTED wait. */
static int64_t next_event(const struct klaxon_pipeline *p)
{
    int64_t t = earliest_deadline(p);

    if (p->conn == NULL && p->reconnect_at < t) {
        t = p->reconnect_at;
    }
    for (unsigned i = 0; i < p->depth; i++) {
        const struct slot *s = &p->slots[i];
        if (s->state == SLOT_QUEUED && s->not_before > 0 && s->not_before < t) {
            t = s->not_before;
        }
    }
    return t;
}

/* Sleep until the socket is ready, the next event, or `end`. */
static void wait_io(struct klaxon_pipeline *p, int64_t end)
{
    int64_t until = deadline_min(end, next_event(p));
    struct pollfd fd = {.fd = -1};

    if (p->conn != NULL) {
        fd.fd = conn_fd(p->conn);
        fd.events = POLLIN;
        if (p->want_write || p->out.len > 0) {
            fd.events |= POLLOUT;
        }
    }
    if (poll(&fd, 1, deadline_left(until)) < 0 && errno != EINTR) {
        deadline_sleep(1, until); /* poll itself failed: do not spin */
    }
    p->want_write = false;
}

/* Hand out up to max ready completions; their slots become free. */
static size_t hand_out(struct klaxon_pipeline *p,
                       struct klaxon_completion *out,
                       size_t max)
{
    size_t n = 0;

    while (n < max && p->ready.n > 0) {
        unsigned idx = pipeline_ring_pop(&p->ready);
        struct slot *s = &p->slots[idx];
        out[n++] = s->done;
        s->done.incident = NULL;
        free(s->frame);
        s->frame = NULL;
        s->state = SLOT_FREE;
        p->free_slots[p->n_free++] = idx;
    }
    return n;
}

int klaxon_pipeline_poll(klaxon_pipeline *p,
                         struct klaxon_completion *out,
                         size_t max,
                         unsigned timeout_ms,
                         size_t *n)
{
    int64_t end = deadline_in(timeout_ms);
    int rv = KLAXON_OK;

    if (n == NULL || p == NULL || (out == NULL && max > 0)) {
        return KLAXON_EINVAL;
    }
    *n = 0;
    for (;;) {
        rv = turn(p);
        if (rv != KLAXON_OK || p->ready.n > 0 || !has_work(p) ||
            deadline_now() >= end) {
            break;
        }
        wait_io(p, end);
    }
    *n = hand_out(p, out, max);
    return rv;
}
