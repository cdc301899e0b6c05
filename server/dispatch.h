/*
 * The page dispatcher: on the leader only, delivers every PENDING page of
 * the replicated state and records the outcome through Raft.
 *
 * - A page is attempted only after a Raft barrier that was proposed after
 *   the page was picked up, and only if it is still PENDING in the applied
 *   state then: so it was committed, and no acknowledgement confirmed
 *   before the barrier (which cancels pending pages in the same
 *   transaction) can be followed by a delivery. The same check runs before
 *   every retry.
 * - Failed attempts are retried with exponential backoff (notifications:
 *   retry_base, max_attempts); the last failure is recorded as FAILED in the
 *   incident's timeline. A delivery never waits for another.
 * - The outcome (delivered or failed) is proposed as a PageOutcome. A new
 *   leader picks up every page still PENDING, so a page whose outcome was
 *   not recorded is delivered again with the same Idempotency-Key.
 *
 * When leadership is lost the dispatcher stops starting attempts at once;
 * attempts in flight finish, but their outcomes are only recorded by a
 * leader.
 */
#ifndef KLAXON_DISPATCH_H
#define KLAXON_DISPATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "deliver.h"
#include "list.h"
#include "node.h"

#define MAX_PAGES_IN_FLIGHT 4096
/* Delivery attempts on the wire at once; more wait for a slot. */
#define MAX_SENDING 64

struct dispatch
{
    struct node *node;
    struct deliverer deliverer;
    uv_timer_t retry_timer;
    struct list pages;      /* struct dpage: every page being handled */
    struct list waiting;    /* waiting for the next barrier */
    struct list at_barrier; /* waiting for the barrier in flight */
    struct node_read barrier;
    bool barrier_pending;
    uint64_t barrier_started; /* uv_now() when it was requested */
    bool active;
    bool closing;
    bool rescan;         /* pages were dropped: scan from the start */
    bool more;           /* the last scan stopped at the in-flight limit */
    uint64_t scanned_to; /* pending pages up to this id are taken */
    unsigned n_pages;
    unsigned n_sending; /* delivery attempts in flight */
    unsigned close_pending;
    void (*closed_cb)(struct dispatch *d);
    /* counters */
    uint64_t n_attempts;
    uint64_t n_delivered;
    uint64_t n_failed;
    uint64_t n_retries;
};

int dispatch_init(struct dispatch *d,
                  uv_loop_t *loop,
                  struct node *node,
                  char *err,
                  size_t errlen);

/* Leadership (ready) gained or lost. */
void dispatch_set_active(struct dispatch *d, bool active);

/* Take up pending pages recorded since the last scan. */
void dispatch_scan(struct dispatch *d);

/* Should dispatch_scan() run even without new pages? */
bool dispatch_wants_scan(const struct dispatch *d);

/* Stop: attempts in flight are abandoned; cb once the handles closed. */
void dispatch_close(struct dispatch *d, void (*cb)(struct dispatch *d));

#endif /* KLAXON_DISPATCH_H */
