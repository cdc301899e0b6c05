/*
 * How long each turn of the event loop keeps it busy (time not spent
 * waiting for I/O), into a histogram for /metrics: a node whose loop
 * stalls delays every request, heartbeat and page, and this shows it.
 *
 * Needs the loop configured with UV_METRICS_IDLE_TIME before it runs.
 * The prepare handle does not keep the loop alive; loopstat_stop closes
 * it (before the loop's last run).
 */
#ifndef KLAXON_LOOPSTAT_H
#define KLAXON_LOOPSTAT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "metrics.h"

struct loopstat
{
    uv_prepare_t prepare;
    struct histogram *busy;
    uint64_t last_ns;   /* uv_hrtime() at the previous prepare */
    uint64_t last_idle; /* uv_metrics_idle_time() then */
    bool started;
};

/* Start measuring into busy. 0, or a libuv error. */
int loopstat_start(struct loopstat *s, uv_loop_t *loop, struct histogram *busy);

void loopstat_stop(struct loopstat *s);

#endif /* KLAXON_LOOPSTAT_H */
