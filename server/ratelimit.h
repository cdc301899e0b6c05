/*
 * Per-key token buckets (the HTTPS port's per-routing-key rate limit):
 * each key may spend `rate` events per second, with bursts up to one
 * second's worth. Keys are kept in a fixed table; when it is full, the
 * key idle the longest is forgotten (a forgotten key starts full).
 */
#ifndef KLAXON_RATELIMIT_H
#define KLAXON_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RATELIMIT_KEYS 1024
#define RATELIMIT_KEY_MAX 128

struct ratelimit_slot
{
    char key[RATELIMIT_KEY_MAX + 1];
    double tokens;
    uint64_t at_ms; /* last refill */
};

struct ratelimit
{
    unsigned rate; /* per second */
    struct ratelimit_slot slot[RATELIMIT_KEYS];
};

void ratelimit_init(struct ratelimit *r, unsigned rate);

/* Take one token for key at now_ms: true if allowed. Keys longer than
 * RATELIMIT_KEY_MAX share the bucket of their first RATELIMIT_KEY_MAX
 * bytes. */
bool ratelimit_take(struct ratelimit *r, const char *key, uint64_t now_ms);

/* The same; when refused, *wait_ms is how long until a token is there
 * (at least 1). */
bool ratelimit_take_wait(struct ratelimit *r,
                         const char *key,
                         uint64_t now_ms,
                         uint64_t *wait_ms);

#endif /* KLAXON_RATELIMIT_H */
