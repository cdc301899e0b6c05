/*
 * The leader's read lease.
 *
 * When an entry this leader proposed at time T commits, a majority of the
 * voters had received it, so each of them heard from this leader at T or
 * later. libraft's followers neither start an election nor grant a vote
 * (pre-vote included) until their election timer fires, which is never
 * sooner than libraft's election timeout (the base of its timers) after
 * hearing from their leader (Raft thesis 4.2.3), unless the leader itself
 * hands leadership over. So no other leader can exist before T + that
 * timeout, and until then this leader's applied state is the cluster's
 * latest: a read may be answered from it without a barrier of its own.
 *
 * The lease lasts half of libraft's election timeout from T, measured on
 * the monotonic clock: the other half covers clocks that run at different
 * rates. It is only good in the
 * term it was taken in, and never while a leadership transfer is under way
 * (the transferee starts its election at once).
 */
#ifndef KLAXON_LEASE_H
#define KLAXON_LEASE_H

#include <stdbool.h>
#include <stdint.h>

struct lease
{
    uint64_t term;     /* of the commit that last extended it; 0: none */
    uint64_t start_ns; /* when that entry was proposed (monotonic) */
};

void lease_init(struct lease *l);

/* An entry or barrier proposed at sent_ns committed in term. */
void lease_extend(struct lease *l, uint64_t term, uint64_t sent_ns);

/* Leadership ended or is being handed over. */
void lease_drop(struct lease *l);

/* May a leader of `term` answer reads from its state at now_ns? */
bool lease_holds(const struct lease *l,
                 uint64_t term,
                 uint64_t now_ns,
                 uint64_t duration_ns);

#endif /* KLAXON_LEASE_H */
