/*
 * Escalation decisions: pure functions of an escalation policy, the
 * incident's position in it (level, repeat loop), whether it is
 * acknowledged, and time. No I/O; the state machine (incident_timers.c)
 * applies what they decide.
 *
 * An incident that pages opens at level 1 (paged at once). When a level's
 * timeout passes, the next level is reached; after the last level the
 * policy starts over at level 1 while repeats remain, and is exhausted
 * after that. A reached level pages its targets if its condition holds
 * (IF_NOT_ACKNOWLEDGED: the incident is not acknowledged; IF_NOT_RESOLVED:
 * always, since only open incidents escalate). Deadlines keep the
 * escalation's own clock: a level's deadline is the previous deadline
 * plus that level's timeout, however late the previous step was applied.
 */
#ifndef KLAXON_ESCALATION_H
#define KLAXON_ESCALATION_H

#include <stdbool.h>
#include <stdint.h>

#include "oncall.pb-c.h"

struct esc_step
{
    uint32_t level;       /* 1-based level reached */
    uint32_t loop;        /* repeats done */
    bool page;            /* page the targets of `level` now */
    bool repeated;        /* this step started another pass */
    bool exhausted;       /* no level left: nothing paged, no deadline */
    uint64_t next_due_ms; /* when to step again; 0: never */
};

/*
 * The first step of an incident opening at now_ms with paging mode `mode`
 * (PAGING_ESCALATE or PAGING_FIRST_LEVEL; anything else pages nobody and
 * sets level 0). FIRST_LEVEL pages level 1 and sets no deadline.
 */
void escalation_start(const Klaxon__EscalationPolicy *p,
                      Klaxon__Paging mode,
                      uint64_t now_ms,
                      struct esc_step *out);

/*
 * The step when the deadline due_ms of position (level, loop) passes.
 * `acknowledged`: the incident is acknowledged (not triggered).
 */
void escalation_advance(const Klaxon__EscalationPolicy *p,
                        uint32_t level,
                        uint32_t loop,
                        bool acknowledged,
                        uint64_t due_ms,
                        struct esc_step *out);

/* After an acknowledgement at (level, loop): is there a later level, in
 * this pass or a repeat, that still pages (IF_NOT_RESOLVED)? */
bool escalation_continues_when_acked(const Klaxon__EscalationPolicy *p,
                                     uint32_t level,
                                     uint32_t loop);

#endif /* KLAXON_ESCALATION_H */
