/*
 * The pipeline object (include/klaxon.h, "Pipelining"): submission and
 * slots in pipeline.c, the connection and answers in pipeline_io.c.
 */
#ifndef KLAXON_CLIENT_PIPELINE_H
#define KLAXON_CLIENT_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "conn.h"
#include "endpoint.h"
#include "klaxon.h"

#define BACKOFF_MIN_MS 25
#define BACKOFF_MAX_MS 500
#define FREE_REDIRECTS 3 /* in a row, followed without backoff */
#define READ_CHUNK 65536
#define NOTE_SIZE 200

enum slot_state { SLOT_FREE, SLOT_QUEUED, SLOT_SENT, SLOT_DONE };

struct slot
{
    enum slot_state state;
    bool in_queue; /* has an entry in the send queue (maybe stale) */
    bool get;      /* the answer carries an incident */
    bool sent;     /* sent at least once: a write's outcome is unknown */
    uint64_t seq;
    uint8_t *frame; /* header + encoded Request */
    size_t len;
    int64_t deadline;
    int64_t not_before; /* after RESOURCE_EXHAUSTED */
    struct klaxon_completion done;
};

/* A FIFO of slot indices; each slot is in it at most once. */
struct ring
{
    unsigned *v;
    unsigned head;
    unsigned n;
    unsigned cap;
};

struct buf
{
    uint8_t *p;
    size_t len;
    size_t cap;
};

struct klaxon_pipeline
{
    klaxon_client *c;
    unsigned depth;
    struct slot *slots;
    unsigned *free_slots;
    unsigned n_free;
    struct ring queued;
    struct ring ready;
    uint64_t generation; /* seq = generation * depth + slot index */
    struct conn *conn;
    struct endpoint next; /* where to connect next, if set */
    size_t next_endpoint; /* else the endpoint list from here */
    int64_t reconnect_at;
    unsigned backoff;
    unsigned redirects;
    size_t tls_streak;
    bool connected; /* some connection was ever set up */
    bool want_write;
    struct buf out; /* plaintext frames not yet taken by TLS */
    struct buf in;  /* plaintext received, not yet a whole frame */
    char last_error[NOTE_SIZE];
    char errmsg[NOTE_SIZE];
};

/* Queue a slot for sending (again). */
void pipeline_enqueue(struct klaxon_pipeline *p, struct slot *s);

unsigned pipeline_ring_pop(struct ring *r);

/* Finish a slot with `code` and a formatted message; it joins the ready
 * queue. */
void pipeline_complete(struct klaxon_pipeline *p,
                       struct slot *s,
                       int code,
                       const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));

/* Remember why the latest attempt failed (for later timeouts). */
void pipeline_note(struct klaxon_pipeline *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Close the connection; every SENT slot is queued again. */
void pipeline_drop_conn(struct klaxon_pipeline *p);

/* Room for `more` bytes: 0, or -1 when out of memory. */
int pipeline_buf_reserve(struct buf *b, size_t more);

/* Drop the first n bytes. */
void pipeline_buf_consume(struct buf *b, size_t n);

#endif /* KLAXON_CLIENT_PIPELINE_H */
