/*
 * Keeps the LMDB map's resident pages within a budget.
 *
 * LMDB reads through a read-only shared mapping of its file. Every page a
 * B-tree search touches stays mapped into the process (the kernel maps a
 * faulting page's whole large folio, and its neighbours, with it), and
 * LMDB's copy-on-write puts each commit's pages at new places in the
 * file. Under a steady stream of writes the whole file ends up mapped and
 * counted in the process's RSS, although it is page cache the kernel may
 * reclaim at any time.
 *
 * map_trim_check reads the process's resident file pages
 * (/proc/self/statm) and, once they exceed the code's share (measured at
 * the start) by more than the budget, drops the mapping's page-table
 * entries with madvise(MADV_DONTNEED). The pages stay in the page cache:
 * the next read maps them again with a minor fault and no I/O. Nothing is
 * lost, since the mapping is read-only and LMDB writes with pwrite. A
 * timer calls it every MAP_TRIM_INTERVAL_MS; the state machine calls it
 * every few commands and dumps of the whole state (snapshots, backups) as
 * they scan, since both map pages faster than the timer looks.
 *
 * A budget of 0 turns the trimming off. Errors (no /proc, the map not
 * found, madvise refused) stop the trimming with a warning and change nothing
 * else.
 */
#ifndef KLAXON_MAP_TRIM_H
#define KLAXON_MAP_TRIM_H

#include <lmdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define MAP_TRIM_INTERVAL_MS 50

struct map_trim
{
    uv_timer_t timer;
    MDB_env *env;
    uintptr_t map_start; /* LMDB's map of its data file */
    uintptr_t map_end;
    size_t page_size;     /* LMDB's */
    uint64_t budget;      /* bytes of mapped file pages over the floor */
    uint64_t base;        /* resident file bytes at the start */
    uint64_t floor;       /* other resident file bytes (code, libraries) */
    uint64_t resident;    /* resident file bytes at the last look */
    uint64_t trims;       /* madvise calls made */
    int statm;            /* open /proc/self/statm, or -1 */
    pthread_mutex_t lock; /* map_trim_check runs on the loop and in dumps */
    bool running;
    bool closing;
};

/* Start the timer on `loop` for `env` with `budget_mb` (0: off). */
int map_trim_start(struct map_trim *t,
                   uv_loop_t *loop,
                   MDB_env *env,
                   unsigned budget_mb);

/* One look: trim now if over budget. Returns true if it trimmed. Safe to
 * call from any thread (snapshot and backup dumps call it as they scan). */
bool map_trim_check(struct map_trim *t);

/* Resident file-backed bytes of this process, or 0 if unknown. */
uint64_t map_trim_resident_file(void);

/* What the last look found (what there is now when trimming is off), and
 * the trims so far (for /metrics). */
void map_trim_figures(struct map_trim *t, uint64_t *resident, uint64_t *trims);

/* Stop and close the timer. */
void map_trim_stop(struct map_trim *t);

/* Release the rest, once no dump can call map_trim_check any more. */
void map_trim_destroy(struct map_trim *t);

#endif
