/*
 * Deadlines of the client: absolute times in milliseconds on the monotonic
 * clock, so that a call's budget is not disturbed by wall-clock changes.
 */
#ifndef KLAXON_CLIENT_DEADLINE_H
#define KLAXON_CLIENT_DEADLINE_H

#include <stdint.h>

/* Now, in milliseconds on CLOCK_MONOTONIC. */
int64_t deadline_now(void);

/* The deadline `ms` milliseconds from now. */
int64_t deadline_in(unsigned ms);

/* The earlier of two deadlines. */
int64_t deadline_min(int64_t a, int64_t b);

/* Milliseconds left until `deadline`, 0 once it has passed; fits poll(). */
int deadline_left(int64_t deadline);

/* Sleep `ms` milliseconds, or until `deadline` if that comes first. */
void deadline_sleep(unsigned ms, int64_t deadline);

#endif /* KLAXON_CLIENT_DEADLINE_H */
