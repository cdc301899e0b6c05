#include "open_counts.h"

#include <stdlib.h>
#include <string.h>

#include "incident.h"

void open_counts_init(struct open_counts *oc)
{
    memset(oc, 0, sizeof *oc);
}

void open_counts_reset(struct open_counts *oc)
{
    for (size_t i = 0; i < oc->n; i++) {
        free(oc->v[i].service);
    }
    free(oc->v);
    open_counts_init(oc);
}

/* Index of service in the sorted array, or where it would go (*found
 * false). */
static size_t find(const struct open_counts *oc,
                   const char *service,
                   bool *found)
{
    size_t lo = 0, hi = oc->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(oc->v[mid].service, service);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = false;
    return lo;
}

/* The entry of service, inserted if new; NULL beyond the limit or when
 * out of memory (*nomem). */
static struct open_count *entry(struct open_counts *oc,
                                const char *service,
                                bool *nomem)
{
    bool found;
    size_t i = find(oc, service, &found);
    char *copy;

    if (found) {
        return &oc->v[i];
    }
    if (oc->n == OPEN_COUNTS_SERVICES) {
        oc->dropped++;
        return NULL;
    }
    if (oc->n == oc->cap) {
        size_t cap = oc->cap == 0 ? 16 : oc->cap * 2;
        struct open_count *v = realloc(oc->v, cap * sizeof *v);
        if (v == NULL) {
            *nomem = true;
            return NULL;
        }
        oc->v = v;
        oc->cap = cap;
    }
    copy = strdup(service);
    if (copy == NULL) {
        *nomem = true;
        return NULL;
    }
    memmove(&oc->v[i + 1], &oc->v[i], (oc->n - i) * sizeof *oc->v);
    memset(&oc->v[i], 0, sizeof oc->v[i]);
    oc->v[i].service = copy;
    oc->n++;
    return &oc->v[i];
}

void open_counts_add(struct open_counts *oc,
                     const char *service,
                     uint32_t severity,
                     int delta)
{
    bool nomem = false;
    struct open_count *e;

    if (!oc->valid || severity < 1 || severity > 4) {
        return;
    }
    e = delta > 0 ? entry(oc, service, &nomem) : NULL;
    if (delta < 0) {
        bool found;
        size_t i = find(oc, service, &found);
        e = found ? &oc->v[i] : NULL;
    }
    if (nomem) {
        open_counts_reset(oc);
        return;
    }
    if (e != NULL && (delta > 0 || e->by_sev[severity - 1] > 0)) {
        e->by_sev[severity - 1] += (uint64_t)(int64_t)delta;
    }
}

int open_counts_get(struct open_counts *oc, MDB_txn *txn, const struct store *s)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rv;

    if (oc->valid) {
        return 0;
    }
    open_counts_reset(oc);
    oc->valid = true;
    rv = mdb_cursor_open(txn, s->dbi[TABLE_OPEN], &cur);
    if (rv != 0) {
        cur = NULL;
    }
    for (rv = rv != 0 ? rv : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
         rv == 0 && oc->valid; rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Klaxon__Incident *inc;
        if (k.mv_size != 8 ||
            incident_load(txn, s, store_get_be64(k.mv_data), &inc) != 0) {
            continue;
        }
        open_counts_add(oc, inc->service, inc->severity, 1);
        klaxon__incident__free_unpacked(inc, NULL);
    }
    if (cur != NULL) {
        mdb_cursor_close(cur);
    }
    if ((rv != 0 && rv != MDB_NOTFOUND) || !oc->valid) {
        open_counts_reset(oc);
        return -1;
    }
    return 0;
}
