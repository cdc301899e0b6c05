/*
 * Node metrics for Prometheus: counters the node keeps as things happen
 * (requests by operation and result, commit latency, page deliveries by
 * channel, trigger-to-page latency) and figures read from the applied
 * state when scraped (open incidents by service and severity,
 * escalations, SLA misses, Raft indexes).
 *
 * Counters are per node and start at zero when the process starts; the
 * state figures are the replicated state as this node has applied it.
 */
#ifndef KLAXON_METRICS_H
#define KLAXON_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_BUCKETS 14  /* latency buckets, the last is +Inf */
#define METRICS_OPS 40      /* request op numbers (klaxon.Request oneof) */
#define METRICS_CODES 16    /* klaxon.Code values */
#define METRICS_CHANNELS 4  /* klaxon.ContactKind values */
#define METRICS_LISTENERS 3 /* connlimit.h enum limit_listener */
#define METRICS_LIMITS 10   /* connlimit.h enum limit_kind */

struct histogram
{
    uint64_t buckets[METRICS_BUCKETS]; /* not cumulative */
    uint64_t count;
    double sum; /* seconds */
};

enum page_result { PAGE_SENT = 0, PAGE_FAILED, PAGE_RETRIED, PAGE_RESULTS };

struct metrics
{
    uint64_t requests[METRICS_OPS][METRICS_CODES];
    struct histogram commit_latency;
    uint64_t pages[METRICS_CHANNELS][PAGE_RESULTS];
    struct histogram trigger_to_page;
    uint64_t http_requests[6];  /* by status class: 1xx..5xx, [0] other */
    uint64_t forwarded;         /* requests forwarded to the leader */
    struct histogram loop_busy; /* busy time of each event-loop turn */
    /* TLS material in use (set at start and by each SIGHUP reload) */
    int64_t tls_cert_expiry; /* node certificate's notAfter, Unix time */
    unsigned tls_ca_certs;   /* CA certificates trusted */
    uint64_t tls_reloads[2]; /* SIGHUP reloads: [0] applied, [1] refused */
    /* connections refused or closed, and requests refused, by listener
     * and limit (connlimit.h) */
    uint64_t limits[METRICS_LISTENERS][METRICS_LIMITS];
};

/* Record one observation of `seconds`. */
void histogram_observe(struct histogram *h, double seconds);

/* A request (op number of klaxon.Request) answered with `code`. */
void metrics_request(struct metrics *m, int op, int code);

/* A delivery attempt of a page on channel `kind` (klaxon.ContactKind). */
void metrics_page(struct metrics *m, int kind, enum page_result r);

/* An HTTP answer with this status. */
void metrics_http(struct metrics *m, int status);

struct node;

/*
 * Render every metric of node n in the Prometheus text format (0.0.4)
 * into a malloc'ed buffer. 0, or -1 (out of memory, or the state could
 * not be read).
 */
int metrics_render(struct node *n, char **out, size_t *len);

#endif /* KLAXON_METRICS_H */
