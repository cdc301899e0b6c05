/*
 * Pipelined requests on one connection (include/klaxon.h, "Pipelining").
 *
 * Each submitted request takes a slot: its encoded frame (kept until it
 * completes, so that it can be sent again unchanged after a reconnect),
 * its tag and its deadline. A slot's seq is unique for the pipeline's life
 * and names the slot (seq % depth), so an answer finds its request at once
 * and an answer to an abandoned request is recognised and dropped.
 *
 * Slots move FREE -> QUEUED -> SENT -> DONE -> FREE. QUEUED slots wait in a
 * FIFO for the next send; SENT ones are on the current connection. Losing
 * the connection (or an answer that says the leader is elsewhere or not
 * known) puts every SENT slot back in the queue and reconnects, after a
 * backoff unless a leader address is known. DONE slots wait in a FIFO
 * until klaxon_pipeline_poll() hands them out.
 */
#include "pipeline.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "deadline.h"
#include "frame.h"
#include "request.h"
#include "write.h"

static void ring_push(struct ring *r, unsigned v)
{
    r->v[(r->head + r->n) % r->cap] = v;
    r->n++;
}

unsigned pipeline_ring_pop(struct ring *r)
{
    unsigned v = r->v[r->head];

    r->head = (r->head + 1) % r->cap;
    r->n--;
    return v;
}

int pipeline_buf_reserve(struct buf *b, size_t more)
{
    size_t cap = b->cap > 0 ? b->cap : 4096;
    uint8_t *p;

    if (b->len + more <= b->cap) {
        return 0;
    }
    while (cap < b->len + more) {
        cap *= 2;
    }
    p = realloc(b->p, cap);
    if (p == NULL) {
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Drop the first n bytes. */
void pipeline_buf_consume(struct buf *b, size_t n)
{
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

void pipeline_note(struct klaxon_pipeline *p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(p->last_error, sizeof p->last_error, fmt, ap);
    va_end(ap);
}

/* Finish a slot with `code`; the message is formatted into it. */
void pipeline_complete(struct klaxon_pipeline *p,
                       struct slot *s,
                       int code,
                       const char *fmt,
                       ...)
{
    va_list ap;

    s->done.code = code;
    va_start(ap, fmt);
    vsnprintf(s->done.message, sizeof s->done.message, fmt, ap);
    va_end(ap);
    s->state = SLOT_DONE;
    ring_push(&p->ready, (unsigned)(s - p->slots));
}

void pipeline_enqueue(struct klaxon_pipeline *p, struct slot *s)
{
    s->state = SLOT_QUEUED;
    if (!s->in_queue) {
        s->in_queue = true;
        ring_push(&p->queued, (unsigned)(s - p->slots));
    }
}

int klaxon_pipeline_new(klaxon_client *c, unsigned depth, klaxon_pipeline **out)
{
    klaxon_pipeline *p;

    if (out == NULL) {
        return KLAXON_EINVAL;
    }
    *out = NULL;
    if (c == NULL || depth == 0 || depth > KLAXON_PIPELINE_MAX) {
        return c == NULL ? KLAXON_EINVAL
                         : client_fail(c, KLAXON_EINVAL,
                                       "depth: must be 1..%d, got %u",
                                       KLAXON_PIPELINE_MAX, depth);
    }
    p = calloc(1, sizeof *p);
    if (p == NULL) {
        return client_fail(c, KLAXON_ENOMEM, "out of memory");
    }
    p->c = c;
    p->depth = depth;
    p->slots = calloc(depth, sizeof *p->slots);
    p->free_slots = calloc(depth, sizeof *p->free_slots);
    p->queued.v = calloc(depth, sizeof *p->queued.v);
    p->ready.v = calloc(depth, sizeof *p->ready.v);
    if (p->slots == NULL || p->free_slots == NULL || p->queued.v == NULL ||
        p->ready.v == NULL) {
        klaxon_pipeline_free(p);
        return client_fail(c, KLAXON_ENOMEM, "out of memory");
    }
    p->queued.cap = p->ready.cap = depth;
    for (unsigned i = 0; i < depth; i++) {
        p->free_slots[p->n_free++] = depth - 1 - i;
    }
    p->next_endpoint = c->next_endpoint;
    p->backoff = BACKOFF_MIN_MS;
    *out = p;
    return KLAXON_OK;
}

void pipeline_drop_conn(struct klaxon_pipeline *p)
{
    conn_close(p->conn);
    p->conn = NULL;
    p->out.len = 0;
    p->in.len = 0;
    p->want_write = false;
    for (unsigned i = 0; i < p->depth; i++) {
        if (p->slots[i].state == SLOT_SENT) {
            pipeline_enqueue(p, &p->slots[i]);
        }
    }
}

void klaxon_pipeline_free(klaxon_pipeline *p)
{
    if (p == NULL) {
        return;
    }
    conn_close(p->conn);
    for (unsigned i = 0; p->slots != NULL && i < p->depth; i++) {
        free(p->slots[i].frame);
        klaxon_incident_free(p->slots[i].done.incident);
    }
    endpoint_clear(&p->next);
    free(p->out.p);
    free(p->in.p);
    free(p->ready.v);
    free(p->queued.v);
    free(p->free_slots);
    free(p->slots);
    free(p);
}

size_t klaxon_pipeline_pending(const klaxon_pipeline *p)
{
    return p != NULL ? p->depth - p->n_free : 0;
}

const char *klaxon_pipeline_errmsg(const klaxon_pipeline *p)
{
    return p != NULL ? p->errmsg : "";
}

static int refuse(klaxon_pipeline *p, int code, const char *msg)
{
    snprintf(p->errmsg, sizeof p->errmsg, "%s", msg);
    return code;
}

/* Encode req into a fresh slot and queue it. */
static int submit(klaxon_pipeline *p, Klaxon__Request *req, bool get, void *tag)
{
    unsigned idx = p->free_slots[p->n_free - 1];
    struct slot *s = &p->slots[idx];
    size_t n;

    req->version = PROTOCOL_VERSION;
    req->seq = ++p->generation * p->depth + idx;
    n = klaxon__request__get_packed_size(req);
    if (n > FRAME_MAX) {
        return refuse(p, KLAXON_ETOOLARGE, "request over the frame limit");
    }
    s->frame = malloc(FRAME_HEADER + n);
    if (s->frame == NULL) {
        return refuse(p, KLAXON_ENOMEM, "out of memory");
    }
    frame_put_len(s->frame, (uint32_t)n);
    klaxon__request__pack(req, s->frame + FRAME_HEADER);
    s->len = FRAME_HEADER + n;
    s->seq = req->seq;
    s->get = get;
    s->sent = false;
    s->deadline = deadline_in(p->c->timeout_ms);
    s->not_before = 0;
    memset(&s->done, 0, sizeof s->done);
    s->done.tag = tag;
    p->n_free--;
    pipeline_enqueue(p, s);
    return KLAXON_OK;
}

/* Submit a write with a random request id (or t's own). */
static int submit_write(klaxon_pipeline *p,
                        Klaxon__Request *req,
                        const char *request_id,
                        void *tag)
{
    uint8_t id[RANDOM_ID_SIZE];

    if (request_id != NULL) {
        req->request_id.data = (uint8_t *)request_id;
        req->request_id.len = strlen(request_id);
    } else {
        if (request_random_id(p->c, id) != KLAXON_OK) {
            return refuse(p, KLAXON_EINTERNAL, klaxon_errmsg(p->c));
        }
        req->request_id.data = id;
        req->request_id.len = sizeof id;
    }
    return submit(p, req, false, tag);
}

/* Common checks of every submission. */
static int can_submit(klaxon_pipeline *p)
{
    if (p == NULL) {
        return KLAXON_EINVAL;
    }
    p->errmsg[0] = '\0';
    if (p->n_free == 0) {
        return refuse(p, KLAXON_EBUSY, "pipeline full");
    }
    return KLAXON_OK;
}

int klaxon_pipeline_trigger(klaxon_pipeline *p,
                            const struct klaxon_trigger *t,
                            void *tag)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    struct trigger_msg m;
    char msg[NOTE_SIZE];
    int rv = can_submit(p);

    if (rv != KLAXON_OK) {
        return rv;
    }
    rv = trigger_msg_init(&m, t, msg, sizeof msg);
    if (rv != KLAXON_OK) {
        return refuse(p, rv, msg);
    }
    req.op_case = KLAXON__REQUEST__OP_TRIGGER;
    req.trigger = &m.tr;
    rv = submit_write(p, &req, t->request_id, tag);
    trigger_msg_clear(&m);
    return rv;
}

static int submit_target(klaxon_pipeline *p,
                         Klaxon__Request *req,
                         uint64_t incident_id,
                         const char *by,
                         void *tag)
{
    char msg[NOTE_SIZE];
    int rv = can_submit(p);

    if (rv != KLAXON_OK) {
        return rv;
    }
    if (check_target(incident_id, by, msg, sizeof msg) != KLAXON_OK) {
        return refuse(p, KLAXON_EINVAL, msg);
    }
    return submit_write(p, req, NULL, tag);
}

int klaxon_pipeline_ack(klaxon_pipeline *p,
                        uint64_t incident_id,
                        const char *by,
                        void *tag)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__AckRequest ack = KLAXON__ACK_REQUEST__INIT;

    ack.incident_id = incident_id;
    ack.by = (char *)by;
    req.op_case = KLAXON__REQUEST__OP_ACK;
    req.ack = &ack;
    return submit_target(p, &req, incident_id, by, tag);
}

int klaxon_pipeline_resolve(klaxon_pipeline *p,
                            uint64_t incident_id,
                            const char *by,
                            void *tag)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__ResolveRequest res = KLAXON__RESOLVE_REQUEST__INIT;

    res.incident_id = incident_id;
    res.by = (char *)by;
    req.op_case = KLAXON__REQUEST__OP_RESOLVE;
    req.resolve = &res;
    return submit_target(p, &req, incident_id, by, tag);
}

int klaxon_pipeline_get(klaxon_pipeline *p, uint64_t incident_id, void *tag)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__GetRequest get = KLAXON__GET_REQUEST__INIT;
    char msg[NOTE_SIZE];
    int rv = can_submit(p);

    if (rv != KLAXON_OK) {
        return rv;
    }
    if (check_incident_id(incident_id, msg, sizeof msg) != KLAXON_OK) {
        return refuse(p, KLAXON_EINVAL, msg);
    }
    get.incident_id = incident_id;
    req.op_case = KLAXON__REQUEST__OP_GET;
    req.get = &get;
    return submit(p, &req, true, tag);
}
