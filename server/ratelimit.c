#include "ratelimit.h"

#include <stdio.h>
#include <string.h>

void ratelimit_init(struct ratelimit *r, unsigned rate)
{
    memset(r, 0, sizeof *r);
    r->rate = rate;
}

static struct ratelimit_slot *find(struct ratelimit *r,
                                   const char *key,
                                   uint64_t now_ms)
{
    struct ratelimit_slot *oldest = &r->slot[0];

    for (size_t i = 0; i < RATELIMIT_KEYS; i++) {
        struct ratelimit_slot *s = &r->slot[i];
        if (s->key[0] != '\0' && strncmp(s->key, key, RATELIMIT_KEY_MAX) == 0) {
            return s;
        }
        if (s->key[0] == '\0' || s->at_ms < oldest->at_ms) {
            oldest = s;
            if (s->key[0] == '\0') {
                break; /* keys are packed from the start: not present */
            }
        }
    }
    snprintf(oldest->key, sizeof oldest->key, "%s", key);
    oldest->tokens = r->rate;
    oldest->at_ms = now_ms;
    return oldest;
}

bool ratelimit_take(struct ratelimit *r, const char *key, uint64_t now_ms)
{
    uint64_t wait_ms;

    return ratelimit_take_wait(r, key, now_ms, &wait_ms);
}

bool ratelimit_take_wait(struct ratelimit *r,
                         const char *key,
                         uint64_t now_ms,
                         uint64_t *wait_ms)
{
    struct ratelimit_slot *s;

    if (key[0] == '\0') {
        key = "-";
    }
    s = find(r, key, now_ms);
    if (now_ms > s->at_ms) {
        s->tokens += (double)(now_ms - s->at_ms) * r->rate / 1000.0;
        if (s->tokens > r->rate) {
            s->tokens = r->rate;
        }
        s->at_ms = now_ms;
    }
    if (s->tokens < 1.0) {
        *wait_ms = (uint64_t)((1.0 - s->tokens) * 1000.0 / r->rate) + 1;
        return false;
    }
    s->tokens -= 1.0;
    return true;
}
