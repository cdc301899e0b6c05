#include "snapshot.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cluster.pb-c.h"
#include "frame.h"
#include "map_trim.h"

#define FLUSH_BYTES (1u << 20)
/* how often a scan lets the trimmer look at the mapped pages */
#define TRIM_BYTES (256u << 10)

/* Where a dump goes: one growing buffer, or blocks handed to a flush
 * function, or nowhere (measure only counts the bytes). */
struct dump_buf
{
    uint8_t *base;
    size_t len;
    size_t cap;
    uint64_t total; /* bytes produced */
    bool measure;
    snapshot_flush_fn flush;
    void *arg;
    uint64_t *done; /* records produced, updated atomically */
    struct map_trim *trim;
    uint64_t since_trim; /* bytes produced since the trimmer looked */
};

static int dump_reserve(struct dump_buf *b, size_t more)
{
    size_t cap = b->cap == 0 ? 65536 : b->cap;
    uint8_t *p;
    if (b->len + more <= b->cap) {
        return 0;
    }
    while (cap < b->len + more) {
        cap *= 2;
    }
    p = raft_realloc(b->base, cap);
    if (p == NULL) {
        return -1;
    }
    b->base = p;
    b->cap = cap;
    return 0;
}

/* 0, ENOMEM or EIO (the flush failed). */
static int dump_message(struct dump_buf *b, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    if (n > UINT32_MAX) {
        return ENOMEM;
    }
    b->total += 4 + n;
    b->since_trim += 4 + n;
    if (b->trim != NULL && b->since_trim >= TRIM_BYTES) {
        (void)map_trim_check(b->trim);
        b->since_trim = 0;
    }
    if (b->measure) {
        return 0;
    }
    if (dump_reserve(b, 4 + n) != 0) {
        return ENOMEM;
    }
    frame_put_len(b->base + b->len, (uint32_t)n);
    protobuf_c_message_pack(m, b->base + b->len + 4);
    b->len += 4 + n;
    if (b->flush != NULL && b->len >= FLUSH_BYTES) {
        if (b->flush(b->arg, b->base, b->len) != 0) {
            return EIO;
        }
        b->len = 0;
    }
    return 0;
}

static int dump_table(MDB_txn *txn,
                      const struct store *s,
                      unsigned t,
                      struct dump_buf *b)
{
    Klaxon__Cluster__SnapshotRecord rec =
        KLAXON__CLUSTER__SNAPSHOT_RECORD__INIT;
    MDB_cursor *cur;
    MDB_val k;
    MDB_val v;
    int rv = mdb_cursor_open(txn, s->dbi[t], &cur);
    if (rv != 0) {
        return rv;
    }
    rec.table = t;
    rv = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rv == 0) {
        rec.key.data = k.mv_data;
        rec.key.len = k.mv_size;
        rec.value.data = v.mv_data;
        rec.value.len = v.mv_size;
        rv = dump_message(b, &rec.base);
        if (rv != 0) {
            break;
        }
        if (b->done != NULL) {
            __atomic_add_fetch(b->done, 1, __ATOMIC_RELAXED);
        }
        rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rv == MDB_NOTFOUND ? 0 : rv;
}

static const char *dump_strerror(int rv)
{
    return rv == ENOMEM ? "out of memory"
           : rv == EIO  ? "write failed"
                        : mdb_strerror(rv);
}

/* The header, then every table, into b. */
static int dump_all(MDB_txn *txn,
                    const struct store *s,
                    struct dump_buf *b,
                    struct snapshot_info *info,
                    char *err,
                    size_t errlen)
{
    Klaxon__Cluster__SnapshotHeader hdr =
        KLAXON__CLUSTER__SNAPSHOT_HEADER__INIT;
    MDB_stat st;
    int rv;

    hdr.format = SNAPSHOT_FORMAT;
    b->trim = s->trim;
    rv = store_meta_get(txn, s, META_APPLIED_INDEX, &hdr.applied_index);
    for (unsigned t = 0; rv == 0 && t < TABLE_COUNT; t++) {
        rv = mdb_stat(txn, s->dbi[t], &st);
        hdr.records += st.ms_entries;
    }
    if (rv != 0) {
        snprintf(err, errlen, "snapshot: %s", mdb_strerror(rv));
        return -1;
    }
    rv = dump_message(b, &hdr.base);
    if (rv != 0) {
        snprintf(err, errlen, "snapshot: %s", dump_strerror(rv));
        return -1;
    }
    for (unsigned t = 0; t < TABLE_COUNT; t++) {
        rv = dump_table(txn, s, t, b);
        if (rv != 0) {
            snprintf(err, errlen, "snapshot: table %s: %s", store_table_name(t),
                     dump_strerror(rv));
            return -1;
        }
    }
    if (b->flush != NULL && b->len > 0) {
        if (b->flush(b->arg, b->base, b->len) != 0) {
            snprintf(err, errlen, "snapshot: write failed");
            return -1;
        }
        b->len = 0;
    }
    if (info != NULL) {
        info->applied_index = hdr.applied_index;
        info->records = hdr.records;
        info->bytes = b->total;
    }
    return 0;
}

int snapshot_dump(MDB_txn *txn,
                  const struct store *s,
                  struct raft_buffer *out,
                  char *err,
                  size_t errlen)
{
    struct dump_buf b = {0};

    if (dump_all(txn, s, &b, NULL, err, errlen) != 0) {
        raft_free(b.base);
        return -1;
    }
    out->base = b.base;
    out->len = b.len;
    return 0;
}

int snapshot_measure(MDB_txn *txn,
                     const struct store *s,
                     struct snapshot_info *info,
                     char *err,
                     size_t errlen)
{
    struct dump_buf b = {0};
    b.measure = true;
    return dump_all(txn, s, &b, info, err, errlen);
}

int snapshot_stream(MDB_txn *txn,
                    const struct store *s,
                    snapshot_flush_fn flush,
                    void *arg,
                    uint64_t *done,
                    struct snapshot_info *info,
                    char *err,
                    size_t errlen)
{
    struct dump_buf b = {0};
    int rv;

    b.flush = flush;
    b.arg = arg;
    b.done = done;
    rv = dump_all(txn, s, &b, info, err, errlen);
    raft_free(b.base);
    return rv;
}

/* Take the next length-prefixed chunk from [*p, end). */
static int next_chunk(const uint8_t **p,
                      const uint8_t *end,
                      const uint8_t **chunk,
                      size_t *len)
{
    uint32_t n;
    if (end - *p < 4) {
        return -1;
    }
    n = frame_get_len(*p);
    if ((size_t)(end - *p - 4) < n) {
        return -1;
    }
    *chunk = *p + 4;
    *len = n;
    *p += 4 + n;
    return 0;
}

static Klaxon__Cluster__SnapshotHeader *read_header(const uint8_t **p,
                                                    const uint8_t *end)
{
    const uint8_t *chunk;
    size_t n;
    if (next_chunk(p, end, &chunk, &n) != 0) {
        return NULL;
    }
    return klaxon__cluster__snapshot_header__unpack(NULL, n, chunk);
}

Klaxon__Cluster__SnapshotHeader *snapshot_header(const void *data, size_t len)
{
    const uint8_t *p = data;
    return read_header(&p, p + len);
}

int snapshot_peek(const void *data, size_t len, uint64_t *applied_index)
{
    Klaxon__Cluster__SnapshotHeader *hdr = snapshot_header(data, len);
    if (hdr == NULL) {
        return -1;
    }
    *applied_index = hdr->applied_index;
    klaxon__cluster__snapshot_header__free_unpacked(hdr, NULL);
    return 0;
}

static int load_records(MDB_txn *txn,
                        struct store *s,
                        const uint8_t *p,
                        const uint8_t *end,
                        uint64_t records,
                        char *err,
                        size_t errlen)
{
    for (uint64_t i = 0; i < records; i++) {
        Klaxon__Cluster__SnapshotRecord *rec;
        const uint8_t *chunk;
        size_t n;
        MDB_val k;
        MDB_val v;
        int rv;

        if (next_chunk(&p, end, &chunk, &n) != 0 ||
            (rec = klaxon__cluster__snapshot_record__unpack(NULL, n, chunk)) ==
                NULL) {
            snprintf(err, errlen, "snapshot: record %llu is truncated",
                     (unsigned long long)i);
            return -1;
        }
        k.mv_size = rec->key.len;
        k.mv_data = rec->key.data;
        v.mv_size = rec->value.len;
        v.mv_data = rec->value.data;
        rv = rec->table < TABLE_COUNT
                 ? mdb_put(txn, s->dbi[rec->table], &k, &v, MDB_APPEND)
                 : MDB_INVALID;
        klaxon__cluster__snapshot_record__free_unpacked(rec, NULL);
        if (rv != 0) {
            snprintf(err, errlen, "snapshot: record %llu: %s",
                     (unsigned long long)i, mdb_strerror(rv));
            return -1;
        }
    }
    if (p != end) {
        snprintf(err, errlen, "snapshot: %zu unexpected bytes after records",
                 (size_t)(end - p));
        return -1;
    }
    return 0;
}

int snapshot_load(struct store *s,
                  const void *data,
                  size_t len,
                  char *err,
                  size_t errlen)
{
    const uint8_t *p = data;
    const uint8_t *end = p + len;
    Klaxon__Cluster__SnapshotHeader *hdr = read_header(&p, end);
    MDB_txn *txn;
    int rv;

    if (hdr == NULL || hdr->format != SNAPSHOT_FORMAT) {
        snprintf(err, errlen, "snapshot: bad header (format %u)",
                 hdr != NULL ? hdr->format : 0);
        goto err_after_header;
    }
    rv = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rv != 0) {
        snprintf(err, errlen, "snapshot: begin: %s", mdb_strerror(rv));
        goto err_after_header;
    }
    for (unsigned t = 0; t < TABLE_COUNT; t++) {
        rv = mdb_drop(txn, s->dbi[t], 0);
        if (rv != 0) {
            snprintf(err, errlen, "snapshot: clear %s: %s", store_table_name(t),
                     mdb_strerror(rv));
            goto err_after_begin;
        }
    }
    if (load_records(txn, s, p, end, hdr->records, err, errlen) != 0) {
        goto err_after_begin;
    }
    rv = mdb_txn_commit(txn);
    if (rv != 0) {
        snprintf(err, errlen, "snapshot: commit: %s", mdb_strerror(rv));
        goto err_after_header;
    }
    klaxon__cluster__snapshot_header__free_unpacked(hdr, NULL);
    return 0;

err_after_begin:
    mdb_txn_abort(txn);
err_after_header:
    if (hdr != NULL) {
        klaxon__cluster__snapshot_header__free_unpacked(hdr, NULL);
    }
    return -1;
}
