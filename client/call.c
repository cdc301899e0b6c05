#include "call.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadline.h"
#include "frame.h"

#define ATTEMPT_MAX_MS 5000
#define BACKOFF_MIN_MS 25
#define BACKOFF_MAX_MS 250
#define FREE_REDIRECTS 3 /* redirects per call followed without backoff */
#define LEADERS_MAX 9    /* leaders a call remembers following */
#define NOTE_SIZE 384
#define SEQ_MAX_BYTES 11 /* tag and longest varint of Request.seq */

/* What one attempt (connect if needed, send, wait for the answer) gave. */
enum outcome {
    OUT_ANSWER,  /* the node answered */
    OUT_CONNECT, /* no connection */
    OUT_TLS,     /* TLS refused by either side */
    OUT_LOST,    /* connection lost before the answer */
    OUT_TIMEOUT, /* no answer in time */
    OUT_FATAL,   /* stop at once: s->fatal and the errmsg are set */
};

struct call
{
    klaxon_client *c;
    Klaxon__Request *req;
    enum call_mode mode;
    const struct endpoint *fixed; /* CALL_ONE: the only endpoint, or NULL */
    int64_t deadline;
    unsigned backoff;
    size_t idx;               /* CALL_STALE/CALL_ONE: next list index */
    struct endpoint redirect; /* CALL_LEADER: where the leader is said to be */
    unsigned redirects;
    uint64_t leaders[LEADERS_MAX]; /* ids of the leaders followed */
    size_t n_leaders;
    /* Target of the current attempt. */
    char target[300];
    size_t target_idx; /* its index in the endpoint list, or n */
    /* History, for the final message. */
    enum outcome last;
    int last_code;  /* node code of the last retryable answer */
    bool connected; /* some node completed a handshake */
    size_t answers; /* answers received */
    bool retry_now; /* a reused connection was found dead: no backoff */
    size_t tls_streak;
    size_t tls_failures;
    size_t connect_failures;
    size_t round_connect_failures; /* since the last backoff */
    int fatal;
    char note[NOTE_SIZE];        /* what the latest attempt came to */
    char answer_note[NOTE_SIZE]; /* the latest retryable answer */
    char error_note[NOTE_SIZE];  /* the latest failure without answer */
};

static const char *code_name(int code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&klaxon__code__descriptor, code);
    return v != NULL ? v->name : "unknown code";
}

/* Remember what the latest attempt came to. */
static void note(struct call *s, enum outcome o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void note(struct call *s, enum outcome o, const char *fmt, ...)
{
    va_list ap;

    s->last = o;
    va_start(ap, fmt);
    vsnprintf(s->note, sizeof s->note, fmt, ap);
    va_end(ap);
    if (o == OUT_TLS) {
        s->tls_streak++;
        s->tls_failures++;
    } else {
        s->tls_streak = 0;
    }
    if (o == OUT_CONNECT) {
        s->connect_failures++;
        s->round_connect_failures++;
    }
    memcpy(o == OUT_ANSWER ? s->answer_note : s->error_note, s->note,
           sizeof s->note);
}

static enum outcome fatal(struct call *s, int code, const char *what)
{
    client_drop_conn(s->c);
    s->fatal = client_fail(s->c, code, "%s: %s", s->target, what);
    return OUT_FATAL;
}

static enum outcome open_conn(struct call *s, const struct endpoint *ep)
{
    klaxon_client *c = s->c;
    char msg[256];
    int64_t d = deadline_min(s->deadline, deadline_in(c->connect_timeout_ms));
    int rv;

    client_drop_conn(c);
    rv = conn_open(&c->tls, ep, d, &c->conn, msg, sizeof msg);
    switch (rv) {
        case CONN_OK:
            s->connected = true;
            return OUT_ANSWER;
        case CONN_ENOMEM:
            return fatal(s, KLAXON_ENOMEM, msg);
        case CONN_ETLS:
            note(s, OUT_TLS, "%s: %s", ep->addr, msg);
            return OUT_TLS;
        default:
            note(s, OUT_CONNECT, "%s: %s", ep->addr, msg);
            return OUT_CONNECT;
    }
}

/* The connection failed with `rv` (a conn_result) before the answer came;
 * `waited` is how long the answer was waited for. */
static enum outcome lost(struct call *s, int rv, int waited, const char *msg)
{
    enum outcome o;

    switch (rv) {
        case CONN_ENOMEM:
            return fatal(s, KLAXON_ENOMEM, msg);
        case CONN_EPROTO:
            return fatal(s, KLAXON_EPROTO, msg);
        case CONN_ETIMEOUT:
            o = OUT_TIMEOUT;
            note(s, o, "no answer from %s within %d ms", s->target, waited);
            break;
        case CONN_ETLS:
            o = OUT_TLS;
            note(s, o, "%s: %s", s->target, msg);
            break;
        default:
            o = OUT_LOST;
            note(s, o, "%s: %s", s->target, msg);
            break;
    }
    client_drop_conn(s->c);
    return o;
}

static enum outcome decode(struct call *s,
                           uint8_t *buf,
                           size_t n,
                           Klaxon__Response **resp)
{
    char msg[128];

    *resp = klaxon__response__unpack(NULL, n, buf);
    free(buf);
    if (*resp == NULL) {
        return fatal(s, KLAXON_EPROTO, "undecodable answer");
    }
    s->answers++;
    if ((*resp)->seq != s->req->seq) {
        snprintf(msg, sizeof msg, "answer to request %llu, expected %llu",
                 (unsigned long long)(*resp)->seq,
                 (unsigned long long)s->req->seq);
        klaxon__response__free_unpacked(*resp, NULL);
        *resp = NULL;
        return fatal(s, KLAXON_EPROTO, msg);
    }
    return OUT_ANSWER;
}

/* Send the request on the open connection and wait for its answer. */
static enum outcome exchange(struct call *s, Klaxon__Response **resp)
{
    klaxon_client *c = s->c;
    int64_t d = deadline_min(s->deadline, deadline_in(ATTEMPT_MAX_MS));
    int waited = deadline_left(d);
    char msg[256];
    uint8_t *buf;
    size_t n;
    int rv;

    s->req->seq = conn_next_seq(c->conn);
    n = klaxon__request__get_packed_size(s->req);
    buf = malloc(n > 0 ? n : 1);
    if (buf == NULL) {
        return fatal(s, KLAXON_ENOMEM, "out of memory");
    }
    klaxon__request__pack(s->req, buf);
    rv = conn_send(c->conn, buf, n, d, msg, sizeof msg);
    free(buf);
    if (rv == CONN_OK) {
        rv = conn_recv(c->conn, d, &buf, &n, msg, sizeof msg);
    }
    if (rv != CONN_OK) {
        return lost(s, rv, waited, msg);
    }
    return decode(s, buf, n, resp);
}

/* A node that cannot be connected to (refused, unreachable, or silent for
 * the connect timeout) is passed by for one connect timeout: a follower
 * still names a dead leader until its own election timeout, and each try
 * at a dead host costs a connect timeout. */
static void note_reachable(struct call *s, enum outcome o)
{
    klaxon_client *c = s->c;

    if (s->target_idx >= c->endpoints.n) {
        return;
    }
    if (o == OUT_CONNECT) {
        c->endpoints.v[s->target_idx].avoid_until =
            deadline_in(c->connect_timeout_ms);
    } else if (o == OUT_ANSWER) {
        c->endpoints.v[s->target_idx].avoid_until = 0;
    }
}

/* One attempt at `ep`, or on the open connection when ep is NULL. */
static enum outcome attempt(struct call *s,
                            const struct endpoint *ep,
                            Klaxon__Response **resp)
{
    klaxon_client *c = s->c;
    bool reused = c->conn != NULL &&
                  (ep == NULL || strcmp(conn_endpoint(c->conn), ep->addr) == 0);
    enum outcome o;

    snprintf(s->target, sizeof s->target, "%s",
             reused ? conn_endpoint(c->conn) : ep->addr);
    s->target_idx = endpoint_list_find(&c->endpoints, s->target);
    s->retry_now = false;
    if (!reused) {
        o = open_conn(s, ep);
        note_reachable(s, o);
        if (o != OUT_ANSWER) {
            return o;
        }
    }
    o = exchange(s, resp);
    s->retry_now = reused && o == OUT_LOST;
    return o;
}

int call_final_code(int code)
{
    switch (code) {
        case KLAXON__CODE__INVALID_ARGUMENT:
            return KLAXON_EINVAL;
        case KLAXON__CODE__NOT_FOUND:
            return KLAXON_ENOTFOUND;
        case KLAXON__CODE__FAILED_PRECONDITION:
            return KLAXON_ESTATE;
        case KLAXON__CODE__TOO_LARGE:
            return KLAXON_ETOOLARGE;
        case KLAXON__CODE__UNSUPPORTED:
            return KLAXON_EUNSUPPORTED;
        case KLAXON__CODE__UNAUTHENTICATED:
            return KLAXON_EAUTH;
        case KLAXON__CODE__PERMISSION_DENIED:
            return KLAXON_EPERM;
        default:
            return KLAXON_EPROTO;
    }
}

/* A node over one of its limits: true to wait and retry on the same
 * node, false when the wait does not fit before the deadline (the call
 * then fails with KLAXON_ELIMIT). */
static bool exhausted(struct call *s,
                      const Klaxon__Response *r,
                      const char *msg)
{
    uint64_t wait = r->retry_after_ms > 0 ? r->retry_after_ms : 1;

    s->c->retry_after_ms = wait;
    if (wait >= (uint64_t)deadline_left(s->deadline)) {
        client_fail(s->c, KLAXON_ELIMIT, "%s: %s", s->target,
                    msg[0] != '\0' ? msg : "over a node limit");
        return false;
    }
    note(s, OUT_ANSWER, "%s answered RESOURCE_EXHAUSTED: %s", s->target, msg);
    s->last_code = KLAXON__CODE__RESOURCE_EXHAUSTED;
    deadline_sleep((unsigned)wait, s->deadline);
    s->retry_now = true; /* waited already: no backoff, same node */
    return true;
}

/* Remember following leader `id`: true the first time. */
static bool first_follow(struct call *s, uint64_t id)
{
    for (size_t i = 0; i < s->n_leaders; i++) {
        if (s->leaders[i] == id) {
            return false;
        }
    }
    if (s->n_leaders < LEADERS_MAX) {
        s->leaders[s->n_leaders++] = id;
    }
    return true;
}

/*
 * Follow a NOT_LEADER answer: false if its address is unusable. A leader
 * that could not be reached just before is not followed (the answer is
 * taken as "no leader yet"). Going to a leader not followed before in this
 * call costs no backoff, nor do the first few redirects.
 */
static bool follow(struct call *s, const Klaxon__Response *r)
{
    char msg[128];
    bool first;

    endpoint_clear(&s->redirect);
    if (endpoint_parse(r->leader_api_address, &s->redirect, msg, sizeof msg) !=
        KLAXON_OK) {
        return false;
    }
    s->last_code = KLAXON__CODE__NOT_LEADER;
    client_drop_conn(s->c);
    if (endpoint_list_avoided(&s->c->endpoints, s->redirect.addr,
                              deadline_now())) {
        note(s, OUT_ANSWER,
             "%s is not the leader (leader: node %llu at %s, unreachable)",
             s->target, (unsigned long long)r->leader_id, s->redirect.addr);
        endpoint_clear(&s->redirect);
        return true;
    }
    note(s, OUT_ANSWER, "%s is not the leader (leader: node %llu at %s)",
         s->target, (unsigned long long)r->leader_id, s->redirect.addr);
    first = first_follow(s, r->leader_id);
    if (s->redirects++ < FREE_REDIRECTS || first) {
        s->retry_now = true;
    }
    return true;
}

/*
 * Act on an answer. Returns true when the call is over (*rv is its result,
 * *out the answer on success); false to go on retrying.
 */
static bool answered(struct call *s,
                     Klaxon__Response *r,
                     Klaxon__Response **out,
                     int *rv)
{
    bool mutation = r->code == KLAXON__CODE__OK &&
                    r->result_case == KLAXON__RESPONSE__RESULT_MUTATION &&
                    r->mutation != NULL;
    int code = mutation ? (int)r->mutation->code : (int)r->code;
    const char *msg = mutation ? r->mutation->message : r->message;
    bool over = true;

    if (code == KLAXON__CODE__OK) {
        *out = r;
        *rv = KLAXON_OK;
        return true;
    }
    if (code == KLAXON__CODE__NOT_LEADER && s->mode == CALL_LEADER &&
        r->leader_api_address[0] != '\0' && follow(s, r)) {
        over = false;
    } else if (code == KLAXON__CODE__NOT_LEADER ||
               code == KLAXON__CODE__UNAVAILABLE ||
               code == KLAXON__CODE__UNKNOWN_OUTCOME ||
               code == KLAXON__CODE__INTERNAL) {
        note(s, OUT_ANSWER, "%s answered %s%s%s", s->target, code_name(code),
             msg[0] != '\0' ? ": " : "", msg);
        s->last_code = code;
        client_drop_conn(s->c);
        over = false;
    } else if (code == KLAXON__CODE__RESOURCE_EXHAUSTED) {
        over = !exhausted(s, r, msg);
        *rv = KLAXON_ELIMIT;
    } else if ((*rv = call_final_code(code)) == KLAXON_EPROTO) {
        client_fail(s->c, *rv, "%s answered with unknown code %d", s->target,
                    code);
    } else {
        client_fail(s->c, *rv, "%s",
                    msg[0] != '\0' ? msg : klaxon_strerror(*rv));
    }
    klaxon__response__free_unpacked(r, NULL);
    return over;
}

/* The result of a call that ran out of time or endpoints. */
static int finish(struct call *s)
{
    klaxon_client *c = s->c;
    bool write = s->req->request_id.len > 0;
    char list[256];
    int code;

    if (s->last == OUT_TIMEOUT && s->answers == 0) {
        return client_fail(c, KLAXON_ETIMEOUT, "%s%s", s->note,
                           write ? "; outcome unknown; retrying with the "
                                   "same request id is safe"
                                 : "");
    }
    if (s->last == OUT_TLS && s->answers == 0 && s->connect_failures == 0) {
        return client_fail(c, KLAXON_ETLS, "%s", s->note);
    }
    if (!s->connected) {
        if (s->mode == CALL_ONE && s->fixed != NULL) {
            return client_fail(c, KLAXON_ECONNECT, "%s", s->note);
        }
        endpoint_list_join(&c->endpoints, list, sizeof list);
        return client_fail(c, KLAXON_ECONNECT,
                           "cannot connect to %s; last error: %s", list,
                           s->error_note);
    }
    code = s->answers > 0 && s->last_code == KLAXON__CODE__INTERNAL
               ? KLAXON_EINTERNAL
               : KLAXON_EUNAVAILABLE;
    if (s->mode == CALL_ONE) {
        return client_fail(c, code, "%s", s->note);
    }
    return client_fail(c, code, "no %s answered within %u ms%s%s%s%s",
                       s->mode == CALL_LEADER ? "ready leader" : "node",
                       c->timeout_ms, s->answers > 0 ? "; last answer: " : "",
                       s->answers > 0 ? s->answer_note : "",
                       s->error_note[0] != '\0' ? "; last error: " : "",
                       s->error_note);
}

static const struct endpoint *pick(struct call *s)
{
    klaxon_client *c = s->c;

    switch (s->mode) {
        case CALL_LEADER:
            if (s->redirect.addr != NULL) {
                return &s->redirect;
            }
            if (c->conn != NULL) {
                return NULL;
            }
            return &c->endpoints.v[endpoint_list_pick(
                &c->endpoints, c->next_endpoint, deadline_now())];
        case CALL_ONE:
            if (s->fixed != NULL) {
                return s->fixed;
            }
            return &c->endpoints.v[s->idx];
        default:
            return &c->endpoints.v[s->idx % c->endpoints.n];
    }
}

/* After a failed attempt, whether to wait before the next one: not when a
 * connection failed and some endpoint has not been tried since the last
 * wait (a dead node is passed by at once). */
static bool wait_first(const struct call *s)
{
    if (s->retry_now || s->mode == CALL_ONE) {
        return false;
    }
    return s->last != OUT_CONNECT ||
           s->round_connect_failures >= s->c->endpoints.n;
}

/* Move on after a failed attempt: 0 to try again, else the call's result. */
static int next(struct call *s)
{
    klaxon_client *c = s->c;
    unsigned b = s->backoff;

    if (s->retry_now && s->redirect.addr != NULL) {
        return deadline_left(s->deadline) > 0 ? 0 : finish(s);
    }
    if (!s->retry_now) {
        if (s->target_idx < c->endpoints.n) {
            c->next_endpoint = s->target_idx + 1;
        }
        s->idx++;
    }
    if (s->mode == CALL_ONE && !s->retry_now &&
        (s->fixed != NULL || s->idx >= c->endpoints.n)) {
        return finish(s);
    }
    if (s->tls_streak >= c->endpoints.n && s->mode != CALL_ONE) {
        return client_fail(c, KLAXON_ETLS, "%s", s->note);
    }
    if (deadline_left(s->deadline) == 0) {
        return finish(s);
    }
    if (wait_first(s)) {
        deadline_sleep(b / 2 + (unsigned)(client_random(c) % (b / 2 + 1)),
                       s->deadline);
        s->backoff = b * 2 < BACKOFF_MAX_MS ? b * 2 : BACKOFF_MAX_MS;
        s->round_connect_failures = 0;
    }
    return deadline_left(s->deadline) > 0 ? 0 : finish(s);
}

static int run(struct call *s, Klaxon__Response **out)
{
    for (;;) {
        Klaxon__Response *resp = NULL;
        const struct endpoint *ep = pick(s);
        enum outcome o = attempt(s, ep, &resp);
        int rv;

        if (ep == &s->redirect) {
            endpoint_clear(&s->redirect); /* a new answer may set it again */
        }
        if (o == OUT_FATAL) {
            return s->fatal;
        }
        if (o == OUT_ANSWER && answered(s, resp, out, &rv)) {
            return rv;
        }
        rv = next(s);
        if (rv != 0) {
            return rv;
        }
    }
}

size_t call_request_size(const Klaxon__Request *req)
{
    return klaxon__request__get_packed_size(req) + SEQ_MAX_BYTES;
}

int call_run(klaxon_client *c,
             Klaxon__Request *req,
             enum call_mode mode,
             const struct endpoint *endpoint,
             Klaxon__Response **out)
{
    struct call s = {
        .c = c,
        .req = req,
        .mode = mode,
        .fixed = endpoint,
        .deadline = deadline_in(c->timeout_ms),
        .backoff = BACKOFF_MIN_MS,
    };
    int rv;

    *out = NULL;
    c->retry_after_ms = 0;
    req->version = PROTOCOL_VERSION;
    if (call_request_size(req) > FRAME_MAX) {
        return client_fail(c, KLAXON_ETOOLARGE,
                           "request of %zu bytes is over the frame limit of "
                           "%u bytes",
                           call_request_size(req), FRAME_MAX);
    }
    rv = run(&s, out);
    if (rv != KLAXON_ELIMIT) {
        c->retry_after_ms = 0;
    }
    endpoint_clear(&s.redirect);
    return rv;
}
