/*
 * A memory budget for libraft's in-memory log. libraft 0.15 keeps every
 * entry since the last snapshot, plus `trailing` entries before it, in
 * memory, and counts both limits in entries, whatever their size. With
 * batched entries of ~10 KB the defaults (8192 + 8192 entries) held
 * 160 MB per node. The fsm feeds every applied entry's size here; an
 * average of recent sizes turns the budget into entry counts: three
 * quarters of it before a snapshot is taken (threshold), a quarter kept
 * behind it (trailing), never above the configured counts and never
 * below LOG_BUDGET_MIN_ENTRIES.
 */
#ifndef KLAXON_LOG_BUDGET_H
#define KLAXON_LOG_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOG_BUDGET_SAMPLE 64      /* entries per new estimate */
#define LOG_BUDGET_MIN_ENTRIES 64 /* threshold and trailing floor */

struct log_budget
{
    uint64_t bytes;         /* 0: no budget, the configured counts apply */
    unsigned max_threshold; /* raft.snapshot_threshold */
    unsigned max_trailing;  /* raft.snapshot_trailing */
    double avg;             /* recent entry size (bytes), 0 before any */
    uint64_t sample_bytes;  /* since the last estimate */
    unsigned sample_entries;
    unsigned threshold; /* what libraft should use now */
    unsigned trailing;
};

void log_budget_init(struct log_budget *b,
                     uint64_t bytes,
                     unsigned max_threshold,
                     unsigned max_trailing);

/* Count an applied entry of `len` bytes. True when threshold or trailing
 * changed (then give them to libraft). */
bool log_budget_add(struct log_budget *b, size_t len);

#endif /* KLAXON_LOG_BUDGET_H */
