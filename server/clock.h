/*
 * The node's time, as a pure function of wall-clock and monotonic
 * readings (node_time_ms() feeds it the real clocks).
 *
 * It follows the wall clock, including slews (small, gradual adjustments
 * from NTP). When the wall clock steps (moves by more than CLOCK_STEP_MS
 * against the monotonic clock between two readings), it keeps counting
 * from where it was on the monotonic clock, until the wall clock comes
 * back within CLOCK_STEP_MS of that, or CLOCK_STEP_HOLD_MS have passed;
 * then it takes the wall clock as right again. A leader whose clock jumps
 * therefore neither fires every deadline at once nor stalls them all.
 */
#ifndef KLAXON_CLOCK_H
#define KLAXON_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define CLOCK_STEP_MS 5000
#define CLOCK_STEP_HOLD_MS (10 * 60 * 1000)

struct clock
{
    int64_t offset_ms; /* trusted wall - monotonic */
    uint64_t step_at;  /* monotonic ms when a held step began, or 0 */
};

/* What a reading did, for logs. */
enum clock_event {
    CLOCK_STEADY,
    CLOCK_STEPPED,  /* a step began to be held */
    CLOCK_BACK,     /* the wall clock came back */
    CLOCK_ACCEPTED, /* a held step was taken as right after the hold */
};

void clock_init(struct clock *c, uint64_t wall_ms, uint64_t mono_ms);

/* The time for these readings; *event (may be NULL) says what changed and
 * *jump_ms by how much the wall clock moved against the trusted time. */
uint64_t clock_read(struct clock *c,
                    uint64_t wall_ms,
                    uint64_t mono_ms,
                    enum clock_event *event,
                    int64_t *jump_ms);

#endif /* KLAXON_CLOCK_H */
