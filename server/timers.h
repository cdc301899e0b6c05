/*
 * The timers table: every deadline of the replicated state (escalation
 * levels, acknowledgement timeouts, auto-resolve, response and resolution
 * targets, update reminders, heartbeat check-ins, shift hand-offs) is one
 * key
 *
 *     due_ms u64 big-endian | kind u8 | ref (incident id u64, or a name)
 *
 * so that LMDB's order is the order in which they fall due. Transitions arm
 * and disarm timers inside their transaction. Only the leader's engine
 * (engine.h) watches the first key; when a timer is due it proposes a Tick
 * carrying the key, and apply acts only if that exact key is still armed
 * (and removes it), so a tick proposed twice, late, or by a deposed leader
 * acts at most once.
 */
#ifndef KLAXON_TIMERS_H
#define KLAXON_TIMERS_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum timer_kind {
    TIMER_ESCALATE = 1,     /* ref: incident id */
    TIMER_ACK_TIMEOUT = 2,  /* ref: incident id */
    TIMER_AUTO_RESOLVE = 3, /* ref: incident id */
    TIMER_RESPONSE = 4,     /* ref: incident id */
    TIMER_RESOLUTION = 5,   /* ref: incident id */
    TIMER_REMINDER = 6,     /* ref: incident id */
    TIMER_HEARTBEAT = 7,    /* ref: monitor name */
    TIMER_HANDOFF = 8,      /* ref: schedule id */
    TIMER_KIND_MAX = 8
};

#define TIMER_REF_MAX 128
#define TIMER_KEY_MAX (8 + 1 + TIMER_REF_MAX)

struct timer_key
{
    uint64_t due_ms;
    enum timer_kind kind;
    const uint8_t *ref; /* points into the decoded key */
    size_t ref_len;
};

/* Encode a key into buf (TIMER_KEY_MAX bytes); returns its length, or 0
 * if ref is too long. */
size_t timer_key_encode(uint8_t *buf,
                        uint64_t due_ms,
                        enum timer_kind kind,
                        const void *ref,
                        size_t ref_len);

/* Decode a key. 0, or -1 if it is not a timer key. */
int timer_key_decode(const void *key, size_t len, struct timer_key *out);

/* Arm / disarm a timer (disarming an absent one is fine). LMDB error or 0. */
int timers_arm(MDB_txn *txn,
               const struct store *s,
               uint64_t due_ms,
               enum timer_kind kind,
               const void *ref,
               size_t ref_len);
int timers_disarm(MDB_txn *txn,
                  const struct store *s,
                  uint64_t due_ms,
                  enum timer_kind kind,
                  const void *ref,
                  size_t ref_len);

/* Remove the timer `key` if armed: *was_armed tells. LMDB error or 0. */
int timers_take(MDB_txn *txn,
                const struct store *s,
                const void *key,
                size_t len,
                bool *was_armed);

/* Due time of the first timer, 0 if none. LMDB error or 0. */
int timers_first(MDB_txn *txn, const struct store *s, uint64_t *due_ms);

/* Call fn for each armed timer due at or before now_ms, in due order, at
 * most max times; fn returns non-zero to stop. LMDB error or 0. */
int timers_scan_due(MDB_txn *txn,
                    const struct store *s,
                    uint64_t now_ms,
                    unsigned max,
                    int (*fn)(void *arg, const void *key, size_t len),
                    void *arg);

/* Name of a kind, for logs. */
const char *timer_kind_name(enum timer_kind kind);

#endif /* KLAXON_TIMERS_H */
