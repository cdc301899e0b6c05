#include "timers.h"

#include <string.h>

size_t timer_key_encode(uint8_t *buf,
                        uint64_t due_ms,
                        enum timer_kind kind,
                        const void *ref,
                        size_t ref_len)
{
    if (ref_len > TIMER_REF_MAX) {
        return 0;
    }
    store_put_be64(buf, due_ms);
    buf[8] = (uint8_t)kind;
    if (ref_len > 0) {
        memcpy(buf + 9, ref, ref_len);
    }
    return 9 + ref_len;
}

int timer_key_decode(const void *key, size_t len, struct timer_key *out)
{
    const uint8_t *p = key;

    if (len < 9 || len > TIMER_KEY_MAX || p[8] == 0 || p[8] > TIMER_KIND_MAX) {
        return -1;
    }
    out->due_ms = store_get_be64(p);
    out->kind = (enum timer_kind)p[8];
    out->ref = p + 9;
    out->ref_len = len - 9;
    return 0;
}

static int timer_op(MDB_txn *txn,
                    const struct store *s,
                    bool arm,
                    uint64_t due_ms,
                    enum timer_kind kind,
                    const void *ref,
                    size_t ref_len)
{
    uint8_t buf[TIMER_KEY_MAX];
    MDB_val k = {timer_key_encode(buf, due_ms, kind, ref, ref_len), buf};
    MDB_val v = {0, NULL};
    int rv;

    if (k.mv_size == 0) {
        return MDB_BAD_VALSIZE;
    }
    if (arm) {
        return mdb_put(txn, s->dbi[TABLE_TIMERS], &k, &v, 0);
    }
    rv = mdb_del(txn, s->dbi[TABLE_TIMERS], &k, NULL);
    return rv == MDB_NOTFOUND ? 0 : rv;
}

int timers_arm(MDB_txn *txn,
               const struct store *s,
               uint64_t due_ms,
               enum timer_kind kind,
               const void *ref,
               size_t ref_len)
{
    return timer_op(txn, s, true, due_ms, kind, ref, ref_len);
}

int timers_disarm(MDB_txn *txn,
                  const struct store *s,
                  uint64_t due_ms,
                  enum timer_kind kind,
                  const void *ref,
                  size_t ref_len)
{
    return timer_op(txn, s, false, due_ms, kind, ref, ref_len);
}

int timers_take(MDB_txn *txn,
                const struct store *s,
                const void *key,
                size_t len,
                bool *was_armed)
{
    MDB_val k = {len, (void *)key};
    int rv = mdb_del(txn, s->dbi[TABLE_TIMERS], &k, NULL);

    *was_armed = rv == 0;
    return rv == MDB_NOTFOUND ? 0 : rv;
}

int timers_first(MDB_txn *txn, const struct store *s, uint64_t *due_ms)
{
    MDB_cursor *cur;
    MDB_val k;
    MDB_val v;
    int rv = mdb_cursor_open(txn, s->dbi[TABLE_TIMERS], &cur);

    *due_ms = 0;
    if (rv != 0) {
        return rv;
    }
    rv = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    if (rv == 0 && k.mv_size >= 8) {
        *due_ms = store_get_be64(k.mv_data);
    }
    mdb_cursor_close(cur);
    return rv == MDB_NOTFOUND ? 0 : rv;
}

int timers_scan_due(MDB_txn *txn,
                    const struct store *s,
                    uint64_t now_ms,
                    unsigned max,
                    int (*fn)(void *arg, const void *key, size_t len),
                    void *arg)
{
    MDB_cursor *cur;
    MDB_val k;
    MDB_val v;
    unsigned n = 0;
    int rv = mdb_cursor_open(txn, s->dbi[TABLE_TIMERS], &cur);

    if (rv != 0) {
        return rv;
    }
    rv = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rv == 0 && n < max && k.mv_size >= 8 &&
           store_get_be64(k.mv_data) <= now_ms) {
        if (fn(arg, k.mv_data, k.mv_size) != 0) {
            break;
        }
        n++;
        rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rv == MDB_NOTFOUND ? 0 : rv;
}

const char *timer_kind_name(enum timer_kind kind)
{
    static const char *const names[] = {
        "?",          "escalate", "ack_timeout", "auto_resolve", "response",
        "resolution", "reminder", "heartbeat",   "handoff",
    };
    return (unsigned)kind <= TIMER_KIND_MAX ? names[kind] : "?";
}
