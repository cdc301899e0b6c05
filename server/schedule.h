/*
 * Who is on call: a pure function of a schedule (proto/oncall.proto) and an
 * instant. Every node evaluates the same schedule at the same Raft entry
 * time, so they all page the same person.
 *
 * Rules (docs/ONCALL.md):
 * - A layer is a rotation: users take turns from start_local. With
 *   turn_days the hand-off is at the same wall-clock time (in the
 *   schedule's zone) every turn_days days, across DST changes; a hand-off
 *   at a wall-clock time skipped by a spring-forward happens when the clock
 *   reaches it (the end of the gap). With turn_s turns are fixed elapsed
 *   seconds from the instant of start_local.
 * - Before start_local and from end_local (if set) a layer covers nothing.
 * - A layer with restrictions covers only the wall-clock windows they
 *   describe (daily: from start_s for duration_s every day; weekly: from
 *   start_day/start_s for duration_s every week; windows may wrap past
 *   midnight or the end of the week). Turns go on counting outside them.
 *   A window covers the instants from its start's wall-clock time to its
 *   end's, each converted like a hand-off (tz_from_local: the end of a
 *   gap, the first occurrence in an overlap), so a night from 20:00 for
 *   12h ends at 08:00 local after 11 or 13 real hours across DST.
 * - A layer with neither turn_days nor turn_s has one endless turn (its
 *   first user); one without users covers nothing. Restrictions of an
 *   unknown kind or zero duration cover nothing.
 * - Layers later in the list take precedence where they cover.
 * - Overrides take precedence over every layer; of overlapping overrides
 *   the one listed last wins.
 *
 * Instants are ms since the Unix epoch. User ids returned point into the
 * schedule and live as long as it does.
 */
#ifndef KLAXON_SCHEDULE_H
#define KLAXON_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "oncall.pb-c.h"

/* Where an answer came from. */
struct oncall_pos
{
    const char *user; /* NULL: nobody is on call */
    int layer;        /* index of the layer, -1 for an override or nobody */
    int override;     /* index of the override, -1 if none */
    size_t turn_user; /* layer only: index of the user in layer->users */
};

/* Who is on call in s at t_ms. Returns pos->user (NULL if nobody). An
 * unknown time zone name evaluates in UTC (validation refuses it). pos may
 * be NULL. */
const char *schedule_oncall(const Klaxon__Schedule *s,
                            int64_t t_ms,
                            struct oncall_pos *pos);

/*
 * The user `delta` places after (delta > 0) or before (delta < 0) the one
 * on call at t_ms in the rotation of the layer that covers t_ms, ignoring
 * overrides (under an override: the layer beneath it). NULL if no layer
 * covers t_ms. The rotation wraps around; delta 0 gives the layer's user.
 */
const char *schedule_neighbour(const Klaxon__Schedule *s,
                               int64_t t_ms,
                               int delta);

/*
 * The first instant after t_ms, and at most horizon_ms after it, at which
 * the answer of schedule_oncall() may change (a hand-off, a layer or
 * restriction edge, an override edge). Hand-offs between two turns of
 * the same user are not such instants. Returns t_ms + horizon_ms if there
 * is none within the horizon (t_ms for a horizon <= 0).
 */
int64_t schedule_next_change(const Klaxon__Schedule *s,
                             int64_t t_ms,
                             int64_t horizon_ms);

struct shift
{
    const char *user; /* NULL: nobody on call */
    int64_t start_ms;
    int64_t end_ms;
    int layer; /* of the shift's first stretch; -1: an override (or nobody) */
};

/* Change points schedule_shifts() visits beyond max (and that
 * schedule_shift_at() visits each way) before it gives up. */
#define SCHEDULE_WALK_SLACK 10000

/*
 * The shifts of s in [from_ms, to_ms): consecutive intervals with the same
 * user merged, the first one starting at from_ms and the last one ending
 * at to_ms (clipped), stretches with nobody on call included with user
 * NULL. Writes at most max shifts to out (NULL if max is 0); returns the
 * number of shifts in the interval (which may exceed max: out then holds
 * the first max).
 *
 * The walk through the interval stops after max + SCHEDULE_WALK_SLACK
 * change points (only pathological schedules, e.g. turns of seconds over a
 * year, have that many): the last shift counted then ends there, before
 * to_ms, and a count above max is a lower bound.
 */
size_t schedule_shifts(const Klaxon__Schedule *s,
                       int64_t from_ms,
                       int64_t to_ms,
                       struct shift *out,
                       size_t max);

/* The shift containing t_ms, looking at most horizon_ms back and ahead
 * for its edges (clipped there, or after SCHEDULE_WALK_SLACK change points
 * without a change of user). */
struct shift schedule_shift_at(const Klaxon__Schedule *s,
                               int64_t t_ms,
                               int64_t horizon_ms);

#endif /* KLAXON_SCHEDULE_H */
