/*
 * Open incidents by service and severity, kept in memory beside the
 * state so that /metrics does not read every open incident on the loop.
 *
 * Transitions add and subtract as incidents open and resolve (apply, on
 * the loop thread). The counts start invalid (after start-up and after a
 * snapshot was restored) and are rebuilt from the open-incident index by
 * the first reader; until then additions are ignored, since the rebuild
 * sees them. At most OPEN_COUNTS_SERVICES services are counted; others
 * are left out (open_counts.dropped says how many times).
 */
#ifndef KLAXON_OPEN_COUNTS_H
#define KLAXON_OPEN_COUNTS_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define OPEN_COUNTS_SERVICES 4096

struct open_count
{
    char *service;
    uint64_t by_sev[4]; /* severity 1..4 at [0..3] */
};

struct open_counts
{
    bool valid;
    struct open_count *v; /* sorted by service */
    size_t n;
    size_t cap;
    uint64_t dropped; /* additions for services beyond the limit */
};

void open_counts_init(struct open_counts *oc);

/* Free everything; the counts become invalid. */
void open_counts_reset(struct open_counts *oc);

/* An incident of `service` with `severity` opened (+1) or closed (-1).
 * Ignored while the counts are invalid. Out of memory makes them
 * invalid (the next reader rebuilds them). */
void open_counts_add(struct open_counts *oc,
                     const char *service,
                     uint32_t severity,
                     int delta);

/* Valid counts, rebuilt from the open index of `txn` if they are not.
 * 0, or -1 (LMDB error or out of memory; the counts stay invalid). */
int open_counts_get(struct open_counts *oc,
                    MDB_txn *txn,
                    const struct store *s);

#endif /* KLAXON_OPEN_COUNTS_H */
