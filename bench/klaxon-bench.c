/*
 * klaxon-bench: drives a running cluster through libklaxon at given
 * numbers of requests in flight and reports, per operation and level,
 * operations per second and latency percentiles (HDR-style histogram).
 *
 * N requests in flight are kept by a few threads, each with its own client
 * and a pipeline (klaxon_pipeline_*, one connection) holding its share of
 * the N requests: a new request is submitted as soon as one completes.
 * The threads default to one per 64 requests in flight (--connections).
 * With --mode threads, N threads each make synchronous calls one after
 * the other instead (N connections, one request in flight on each).
 *
 * Operations:
 *   trigger   a new incident per call (unique dedup key)
 *   dedup     a re-trigger of one of 8 open incidents per thread (the
 *             dedup-hit path: attach an alert)
 *   ack       an acknowledgement of the thread's own incident, again and
 *             again (each one a Raft write with a timeline event)
 *   get       a linearizable read of the thread's incident
 *
 * Every level runs a 1 s warm-up (not counted), then `--seconds`.
 *
 * With --gaps N, every successful call's completion time is kept, and the
 * N longest stretches without one are printed after each level: while
 * someone kills the leader, those are the failover gaps as a client sees
 * them (time without a committed write).
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_client.h"
#include "hdr.h"
#include "klaxon.h"

#define PROG "klaxon-bench"
#define LEVELS_MAX 16
#define THREADS_MAX 1024
#define DEDUP_KEYS 8
#define WARMUP_S 1.0
#define PER_CONNECTION 64 /* default requests in flight per pipeline */
#define POLL_BATCH 64

enum op { OP_TRIGGER, OP_DEDUP, OP_ACK, OP_GET, OP_COUNT };

static const char *const op_names[OP_COUNT] = {"trigger", "dedup", "ack",
                                               "get"};

struct opts
{
    struct klaxon_options client;
    unsigned levels[LEVELS_MAX];
    size_t n_levels;
    bool ops[OP_COUNT];
    double seconds;
    bool json;
    const char *service;
    unsigned gaps;        /* longest stretches without a completion to report */
    bool threads;         /* --mode threads: synchronous calls, a thread each */
    unsigned connections; /* pipelines per level; 0: one per 64 */
};

struct worker
{
    pthread_t thread;
    const struct opts *o;
    enum op op;
    unsigned index;
    klaxon_client *client;
    unsigned depth;    /* pipelined: requests in flight on this thread */
    uint64_t incident; /* ack, get: the thread's own incident */
    struct hdr hist;
    uint64_t ops, errors;
    char last_error[KLAXON_ERRMSG_SIZE];
    uint64_t *done_ns; /* --gaps: completion times */
    size_t n_done, cap_done;
};

/* The phase every worker follows: warming up, measuring, done. */
static _Atomic int phase;
enum { PHASE_WARMUP, PHASE_MEASURE, PHASE_STOP };

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* --- one operation -------------------------------------------------------- */

static int trigger(struct worker *w, const char *key)
{
    struct klaxon_trigger t = {0};
    struct klaxon_result r;

    t.service = w->o->service;
    t.severity = 3;
    t.summary = "benchmark alert";
    t.source = PROG;
    t.dedup_key = key;
    return klaxon_trigger(w->client, &t, &r) == KLAXON_OK ? 0 : -1;
}

static int run_op(struct worker *w, uint64_t seq)
{
    char key[64];
    struct klaxon_result r;
    struct klaxon_incident *inc;

    switch (w->op) {
        case OP_TRIGGER:
            snprintf(key, sizeof key, "t-%u-%" PRIu64 "-%" PRIu64, w->index,
                     (uint64_t)time(NULL), seq);
            return trigger(w, key);
        case OP_DEDUP:
            snprintf(key, sizeof key, "d-%u-%" PRIu64, w->index,
                     seq % DEDUP_KEYS);
            return trigger(w, key);
        case OP_ACK:
            return klaxon_ack(w->client, w->incident, "bench", &r) == KLAXON_OK
                       ? 0
                       : -1;
        default:
            if (klaxon_get(w->client, w->incident, KLAXON_READ_LINEARIZABLE,
                           &inc) != KLAXON_OK) {
                return -1;
            }
            klaxon_incident_free(inc);
            return 0;
    }
}

/* Submit one operation on a pipeline; tag names its start time slot. */
static int submit_op(struct worker *w,
                     klaxon_pipeline *p,
                     uint64_t seq,
                     void *tag)
{
    struct klaxon_trigger t = {0};
    char key[64];

    switch (w->op) {
        case OP_TRIGGER:
        case OP_DEDUP:
            if (w->op == OP_TRIGGER) {
                snprintf(key, sizeof key, "t-%u-%" PRIu64 "-%" PRIu64, w->index,
                         (uint64_t)time(NULL), seq);
            } else {
                snprintf(key, sizeof key, "d-%u-%" PRIu64, w->index,
                         seq % DEDUP_KEYS);
            }
            t.service = w->o->service;
            t.severity = 3;
            t.summary = "benchmark alert";
            t.source = PROG;
            t.dedup_key = key;
            return klaxon_pipeline_trigger(p, &t, tag);
        case OP_ACK:
            return klaxon_pipeline_ack(p, w->incident, "bench", tag);
        default:
            return klaxon_pipeline_get(p, w->incident, tag);
    }
}

/* ack and get work on an incident of their own. */
static int prepare(struct worker *w)
{
    struct klaxon_trigger t = {0};
    struct klaxon_result r;
    char key[64];

    if (w->op != OP_ACK && w->op != OP_GET) {
        return 0;
    }
    snprintf(key, sizeof key, "p-%u-%" PRIu64, w->index, (uint64_t)time(NULL));
    t.service = w->o->service;
    t.severity = 4;
    t.summary = "benchmark target";
    t.dedup_key = key;
    if (klaxon_trigger(w->client, &t, &r) != KLAXON_OK) {
        return -1;
    }
    w->incident = r.incident_id;
    return 0;
}

static void keep_done(struct worker *w, uint64_t t)
{
    if (w->n_done == w->cap_done) {
        size_t cap = w->cap_done == 0 ? 4096 : 2 * w->cap_done;
        uint64_t *p = realloc(w->done_ns, cap * sizeof *p);
        if (p == NULL) {
            return; /* a gap may then look longer than it was */
        }
        w->done_ns = p;
        w->cap_done = cap;
    }
    w->done_ns[w->n_done++] = t;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Print the `want` longest stretches between consecutive completions (of
 * any worker), longest first, in ms, with when they began. */
static void print_gaps(struct worker *ws, unsigned n, unsigned want, bool json)
{
    size_t total = 0, k = 0;
    uint64_t *all, *gap, *at, t0;

    for (unsigned i = 0; i < n; i++) {
        total += ws[i].n_done;
    }
    all = malloc((total + 1) * sizeof *all);
    gap = calloc(want, sizeof *gap);
    at = calloc(want, sizeof *at);
    if (all == NULL || gap == NULL || at == NULL || total < 2) {
        free(all);
        free(gap);
        free(at);
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        memcpy(all + k, ws[i].done_ns, ws[i].n_done * sizeof *all);
        k += ws[i].n_done;
    }
    qsort(all, total, sizeof *all, cmp_u64);
    t0 = all[0];
    for (size_t i = 1; i < total; i++) {
        uint64_t g = all[i] - all[i - 1];
        for (unsigned j = 0; j < want; j++) {
            if (g > gap[j]) {
                memmove(gap + j + 1, gap + j, (want - j - 1) * sizeof *gap);
                memmove(at + j + 1, at + j, (want - j - 1) * sizeof *at);
                gap[j] = g;
                at[j] = all[i - 1] - t0;
                break;
            }
        }
    }
    for (unsigned j = 0; j < want && gap[j] > 0; j++) {
        if (json) {
            printf("{\"system\":\"klaxon\",\"gap_ms\":%.1f,\"at_s\":%.1f}\n",
                   (double)gap[j] / 1e6, (double)at[j] / 1e9);
        } else {
            printf("gap %u: %.0f ms without a completed call, from %.1f s\n",
                   j + 1, (double)gap[j] / 1e6, (double)at[j] / 1e9);
        }
    }
    fflush(stdout);
    free(all);
    free(gap);
    free(at);
}

/* Count one request that ran from t0 to t1, while measuring. */
static void record(struct worker *w,
                   bool ok,
                   uint64_t t0,
                   uint64_t t1,
                   const char *error)
{
    if (atomic_load(&phase) != PHASE_MEASURE) {
        return;
    }
    if (ok) {
        hdr_record(&w->hist, t1 - t0);
        w->ops++;
        if (w->o->gaps > 0) {
            keep_done(w, t1);
        }
    } else {
        w->errors++;
        snprintf(w->last_error, sizeof w->last_error, "%s", error);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uint64_t seq = 0;

    while (atomic_load(&phase) != PHASE_STOP) {
        uint64_t t0 = now_ns();
        int rv = run_op(w, seq++);
        record(w, rv == 0, t0, now_ns(), klaxon_errmsg(w->client));
    }
    return NULL;
}

/* A completion of a pipelined request that started at t0. */
static void completed(struct worker *w,
                      struct klaxon_completion *c,
                      uint64_t t0,
                      uint64_t t1)
{
    klaxon_incident_free(c->incident);
    record(w, c->code == KLAXON_OK, t0, t1, c->message);
}

/* Keep w->depth requests in flight: start[i] is when the request with tag
 * i + 1 was submitted; free_tags the tags not in flight. */
static void pipeline_loop(struct worker *w,
                          klaxon_pipeline *p,
                          uint64_t *start,
                          unsigned *free_tags)
{
    struct klaxon_completion done[POLL_BATCH];
    unsigned n_free = w->depth;
    uint64_t seq = 0;
    size_t n;

    for (unsigned i = 0; i < w->depth; i++) {
        free_tags[i] = i;
    }
    while (atomic_load(&phase) != PHASE_STOP) {
        while (n_free > 0) {
            unsigned tag = free_tags[n_free - 1];
            start[tag] = now_ns();
            if (submit_op(w, p, seq++, (void *)(uintptr_t)(tag + 1)) !=
                KLAXON_OK) {
                w->errors++;
                snprintf(w->last_error, sizeof w->last_error, "%s",
                         klaxon_pipeline_errmsg(p));
                break;
            }
            n_free--;
        }
        if (klaxon_pipeline_poll(p, done, POLL_BATCH, 100, &n) != KLAXON_OK) {
            w->errors++;
            snprintf(w->last_error, sizeof w->last_error, "poll failed");
            sleep_s(0.01);
            continue;
        }
        uint64_t t1 = now_ns();
        for (size_t i = 0; i < n; i++) {
            unsigned tag = (unsigned)((uintptr_t)done[i].tag - 1);
            completed(w, &done[i], start[tag], t1);
            free_tags[n_free++] = tag;
        }
    }
}

static void *pipeline_main(void *arg)
{
    struct worker *w = arg;
    klaxon_pipeline *p = NULL;
    uint64_t *start = calloc(w->depth, sizeof *start);
    unsigned *free_tags = calloc(w->depth, sizeof *free_tags);

    if (start == NULL || free_tags == NULL ||
        klaxon_pipeline_new(w->client, w->depth, &p) != KLAXON_OK) {
        w->errors++;
        snprintf(w->last_error, sizeof w->last_error,
                 "cannot create a pipeline: %s", klaxon_errmsg(w->client));
    } else {
        pipeline_loop(w, p, start, free_tags);
    }
    klaxon_pipeline_free(p);
    free(free_tags);
    free(start);
    return NULL;
}

/* --- one level ------------------------------------------------------------ */

struct result
{
    enum op op;
    unsigned level;
    double seconds;
    uint64_t ops, errors;
    double p50, p99, p999; /* ms */
    char error[KLAXON_ERRMSG_SIZE];
};

/* How many threads carry `level` requests in flight. */
static unsigned threads_for(const struct opts *o, unsigned level)
{
    unsigned c = o->connections;

    if (o->threads) {
        return level;
    }
    if (c == 0) {
        c = (level + PER_CONNECTION - 1) / PER_CONNECTION;
    }
    return c < level ? c : level;
}

static int start_workers(const struct opts *o,
                         enum op op,
                         unsigned level,
                         unsigned n,
                         struct worker *ws)
{
    char err[KLAXON_ERRMSG_SIZE];

    for (unsigned i = 0; i < n; i++) {
        struct worker *w = &ws[i];
        memset(w, 0, sizeof *w);
        w->o = o;
        w->op = op;
        w->index = i;
        w->depth = level / n + (i < level % n ? 1 : 0);
        hdr_init(&w->hist);
        if (klaxon_client_new(&o->client, &w->client, err) != KLAXON_OK) {
            fprintf(stderr, "%s: client: %s\n", PROG, err);
            return -1;
        }
        if (prepare(w) != 0) {
            fprintf(stderr, "%s: preparing %s: %s\n", PROG, op_names[op],
                    klaxon_errmsg(w->client));
            return -1;
        }
    }
    return 0;
}

static void collect(struct worker *ws, unsigned n, struct result *r)
{
    struct hdr all;

    hdr_init(&all);
    for (unsigned i = 0; i < n; i++) {
        hdr_merge(&all, &ws[i].hist);
        r->ops += ws[i].ops;
        r->errors += ws[i].errors;
        if (ws[i].errors > 0 && r->error[0] == '\0') {
            snprintf(r->error, sizeof r->error, "%s", ws[i].last_error);
        }
    }
    r->p50 = (double)hdr_percentile(&all, 50.0) / 1e6;
    r->p99 = (double)hdr_percentile(&all, 99.0) / 1e6;
    r->p999 = (double)hdr_percentile(&all, 99.9) / 1e6;
}

static int run_level(const struct opts *o,
                     enum op op,
                     unsigned level,
                     struct result *r)
{
    unsigned n = threads_for(o, level);
    struct worker *ws = calloc(n, sizeof *ws);
    unsigned started = 0;
    int rv = -1;

    memset(r, 0, sizeof *r);
    r->op = op;
    r->level = level;
    r->seconds = o->seconds;
    if (ws == NULL) {
        return -1;
    }
    atomic_store(&phase, PHASE_WARMUP);
    if (start_workers(o, op, level, n, ws) == 0) {
        for (; started < n; started++) {
            if (pthread_create(&ws[started].thread, NULL,
                               o->threads ? worker_main : pipeline_main,
                               &ws[started]) != 0) {
                break;
            }
        }
    }
    if (started == n) {
        sleep_s(WARMUP_S);
        atomic_store(&phase, PHASE_MEASURE);
        sleep_s(o->seconds);
        rv = 0;
    }
    atomic_store(&phase, PHASE_STOP);
    for (unsigned i = 0; i < started; i++) {
        pthread_join(ws[i].thread, NULL);
    }
    if (rv == 0) {
        collect(ws, n, r);
        if (o->gaps > 0) {
            print_gaps(ws, n, o->gaps, o->json);
        }
    }
    for (unsigned i = 0; i < n; i++) {
        klaxon_client_free(ws[i].client);
        free(ws[i].done_ns);
    }
    free(ws);
    return rv;
}

/* --- output --------------------------------------------------------------- */

static void print_row(const struct result *r)
{
    printf("%-8s %8u %12.0f %9.2f %9.2f %9.2f %8" PRIu64 "\n", op_names[r->op],
           r->level, (double)r->ops / r->seconds, r->p50, r->p99, r->p999,
           r->errors);
    if (r->error[0] != '\0') {
        printf("         last error: %s\n", r->error);
    }
    fflush(stdout);
}

static void print_json(const struct result *r)
{
    printf(
        "{\"system\":\"klaxon\",\"op\":\"%s\",\"concurrency\":%u,"
        "\"seconds\":%.1f,\"ops\":%" PRIu64 ",\"errors\":%" PRIu64
        ",\"ops_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
        "\"p999_ms\":%.3f}\n",
        op_names[r->op], r->level, r->seconds, r->ops, r->errors,
        (double)r->ops / r->seconds, r->p50, r->p99, r->p999);
    fflush(stdout);
}

/* --- options -------------------------------------------------------------- */

static const char usage_text[] =
    "usage: " PROG
    " [--endpoints H:P,...] [--ca F --cert F --key F]\n"
    "                    [--levels 1,16,64,256] [--seconds S]\n"
    "                    [--ops trigger,dedup,ack,get] [--service NAME]\n"
    "                    [--gaps N] [--json] [--mode pipeline|threads]\n"
    "                    [--connections C]\n"
    "\n"
    "Endpoints and TLS files default to $KLAXON_ENDPOINTS, $KLAXON_CA,\n"
    "$KLAXON_CERT and $KLAXON_KEY (`source DIR/env` of a local cluster).\n"
    "Each level runs a 1 s warm-up, then S seconds (default 5).\n"
    "--gaps N prints the N longest stretches without a completed call.\n"
    "--mode pipeline (default): each level's requests are kept in flight\n"
    "on C pipelined connections (default: one per 64 requests), one\n"
    "thread each; --mode threads: one thread and connection per request\n"
    "in flight, each making synchronous calls.\n";

static int parse_levels(const char *s, struct opts *o)
{
    char *copy = strdup(s), *save = NULL;
    int rv = 0;

    o->n_levels = 0;
    for (char *t = strtok_r(copy, ",", &save); t != NULL && rv == 0;
         t = strtok_r(NULL, ",", &save)) {
        char *end;
        unsigned long v = strtoul(t, &end, 10);
        if (*end != '\0' || v == 0 || v > THREADS_MAX ||
            o->n_levels == LEVELS_MAX) {
            rv = -1;
        } else {
            o->levels[o->n_levels++] = (unsigned)v;
        }
    }
    free(copy);
    return o->n_levels > 0 ? rv : -1;
}

static int parse_ops(const char *s, struct opts *o)
{
    char *copy = strdup(s), *save = NULL;
    int rv = 0;

    memset(o->ops, 0, sizeof o->ops);
    for (char *t = strtok_r(copy, ",", &save); t != NULL && rv == 0;
         t = strtok_r(NULL, ",", &save)) {
        int k = 0;
        while (k < OP_COUNT && strcmp(op_names[k], t) != 0) {
            k++;
        }
        if (k == OP_COUNT) {
            rv = -1;
        } else {
            o->ops[k] = true;
        }
    }
    free(copy);
    return rv;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option opts[] = {
        {"endpoints", required_argument, NULL, 'e'},
        {"ca", required_argument, NULL, 'a'},
        {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},
        {"levels", required_argument, NULL, 'l'},
        {"seconds", required_argument, NULL, 's'},
        {"ops", required_argument, NULL, 'o'},
        {"service", required_argument, NULL, 'S'},
        {"json", no_argument, NULL, 'j'},
        {"gaps", required_argument, NULL, 'g'},
        {"mode", required_argument, NULL, 'm'},
        {"connections", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
            case 'e':
            case 'a':
            case 'c':
            case 'k':
                (void)bench_client_option(c, optarg, &o->client);
                break;
            case 'l':
                if (parse_levels(optarg, o) != 0) {
                    fprintf(stderr, "%s: --levels: 1..%d, comma-separated\n",
                            PROG, THREADS_MAX);
                    return -1;
                }
                break;
            case 's':
                o->seconds = atof(optarg);
                if (o->seconds < 0.1 || o->seconds > 3600) {
                    fprintf(stderr, "%s: --seconds: 0.1..3600\n", PROG);
                    return -1;
                }
                break;
            case 'o':
                if (parse_ops(optarg, o) != 0) {
                    fprintf(stderr, "%s: --ops: trigger, dedup, ack, get\n",
                            PROG);
                    return -1;
                }
                break;
            case 'S':
                o->service = optarg;
                break;
            case 'j':
                o->json = true;
                break;
            case 'g':
                o->gaps = (unsigned)atoi(optarg);
                if (o->gaps < 1 || o->gaps > 100) {
                    fprintf(stderr, "%s: --gaps: 1..100\n", PROG);
                    return -1;
                }
                break;
            case 'm':
                if (strcmp(optarg, "pipeline") != 0 &&
                    strcmp(optarg, "threads") != 0) {
                    fprintf(stderr, "%s: --mode: pipeline or threads\n", PROG);
                    return -1;
                }
                o->threads = strcmp(optarg, "threads") == 0;
                break;
            case 'C':
                o->connections = (unsigned)atoi(optarg);
                if (o->connections < 1 || o->connections > 64) {
                    fprintf(stderr, "%s: --connections: 1..64\n", PROG);
                    return -1;
                }
                break;
            case 'h':
                fputs(usage_text, stdout);
                exit(0);
            default:
                fputs(usage_text, stderr);
                return -1;
        }
    }
    return bench_client_check(PROG, &o->client);
}

static void defaults(struct opts *o)
{
    static const unsigned levels[] = {1, 16, 64, 256};

    memset(o, 0, sizeof *o);
    bench_client_from_env(&o->client);
    o->client.timeout_ms = 10000;
    memcpy(o->levels, levels, sizeof levels);
    o->n_levels = 4;
    for (int k = 0; k < OP_COUNT; k++) {
        o->ops[k] = true;
    }
    o->seconds = 5;
    o->service = "bench";
}

int main(int argc, char **argv)
{
    struct opts o;
    struct result r;
    int failed = 0;

    defaults(&o);
    if (parse_args(argc, argv, &o) != 0) {
        return 2;
    }
    if (!o.json) {
        printf("%-8s %8s %12s %9s %9s %9s %8s\n", "op", "inflight", "ops/s",
               "p50 ms", "p99 ms", "p999 ms", "errors");
    }
    for (int k = 0; k < OP_COUNT; k++) {
        for (size_t i = 0; o.ops[k] && i < o.n_levels; i++) {
            fprintf(stderr, "%s: %s at %u in flight, %.0f s...\n", PROG,
                    op_names[k], o.levels[i], o.seconds + WARMUP_S);
            if (run_level(&o, (enum op)k, o.levels[i], &r) != 0) {
                failed = 1;
                continue;
            }
            if (o.json) {
                print_json(&r);
            } else {
                print_row(&r);
            }
            failed |= r.ops == 0;
        }
    }
    return failed;
}
