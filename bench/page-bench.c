/*
 * page-bench: trigger-to-page latency under a paced load.
 *
 * It runs a webhook receiver on 127.0.0.1 (plain HTTP, webhook_rx.c),
 * applies an on-call configuration in which service `--service` pages
 * one user whose only contact is a webhook at that receiver, at once
 * (level 1 of its escalation policy is paged when the incident opens),
 * and then triggers a new incident (unique dedup key) every 1/rate
 * seconds from a pool of threads, each with its own libklaxon client and
 * its synchronous calls. For every incident it records the time from the
 * start of the trigger call to the arrival of its page at the receiver
 * (matched by the dedup key in the webhook's JSON body).
 *
 * The configuration it applies replaces the one in force: run it against
 * a cluster made for the benchmark. Its incidents are left open.
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_client.h"
#include "hdr.h"
#include "klaxon.h"
#include "webhook_rx.h"

#define PROG "page-bench"
#define THREADS_MAX 1024
#define COUNT_MAX 10000000ull
#define SEVERITY 2 /* "escalate": level 1 is paged when it opens */

struct opts
{
    struct klaxon_options client;
    double rate;    /* triggers per second */
    double seconds; /* of triggering */
    uint64_t count; /* triggers: rate x seconds unless given */
    unsigned threads;
    double wait; /* for the last pages, after the last trigger */
    unsigned port;
    const char *service;
    bool json;
};

/* What every thread and the receiver share. */
struct run
{
    const struct opts *o;
    char prefix[96]; /* "dedup_key":"pb-<run>- in a page's body */
    size_t prefix_len;
    char key_prefix[48]; /* pb-<run>- */
    uint64_t t0, interval_ns, stop_ns;
    _Atomic uint64_t next;
    uint64_t *start_ns;          /* per incident: start of its trigger */
    _Atomic uint64_t *arrive_ns; /* per incident: its page's arrival */
    _Atomic bool *ok;            /* per incident: the trigger succeeded */
    _Atomic uint64_t probe_ns, arrived, duplicates, foreign;
};

struct worker
{
    pthread_t thread;
    struct run *r;
    klaxon_client *client;
    struct hdr call; /* trigger call latency */
    struct hdr lag;  /* start of the call after its scheduled time */
    uint64_t ok, errors;
    char last_error[KLAXON_ERRMSG_SIZE];
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
    struct timespec ts = {(time_t)(t / 1000000000ull),
                          (long)(t % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
    }
}

/* --- the receiver's side -------------------------------------------------- */

static void record_arrival(struct run *r, uint64_t i, uint64_t at)
{
    uint64_t none = 0;

    if (i >= r->o->count) {
        atomic_fetch_add(&r->foreign, 1);
    } else if (atomic_compare_exchange_strong(&r->arrive_ns[i], &none, at)) {
        atomic_fetch_add(&r->arrived, 1);
    } else {
        atomic_fetch_add(&r->duplicates, 1);
    }
}

/* A page arrived: whose is it? */
static void on_page(void *arg, const char *body, size_t len, uint64_t at)
{
    struct run *r = arg;
    const char *p = memmem(body, len, r->prefix, r->prefix_len);
    const char *end = body + len;
    uint64_t i = 0;
    const char *q;

    if (p == NULL) {
        atomic_fetch_add(&r->foreign, 1);
        return;
    }
    p += r->prefix_len;
    if ((size_t)(end - p) > 6 && memcmp(p, "probe\"", 6) == 0) {
        uint64_t none = 0;
        atomic_compare_exchange_strong(&r->probe_ns, &none, at);
        return;
    }
    for (q = p; q < end && *q >= '0' && *q <= '9' && q - p < 19; q++) {
        i = i * 10 + (uint64_t)(*q - '0');
    }
    if (q == p || q == end || *q != '"') {
        atomic_fetch_add(&r->foreign, 1);
        return;
    }
    record_arrival(r, i, at);
}

/* --- the configuration ---------------------------------------------------- */

static const char config_fmt[] =
    "# page-bench: one user, paged by webhook at once.\n"
    "users:\n"
    "  - id: pager\n"
    "    contacts:\n"
    "      - { type: webhook, url: \"http://127.0.0.1:%u/page\" }\n"
    "escalation_policies:\n"
    "  - id: page-bench\n"
    "    levels:\n"
    "      - timeout: 1h\n"
    "        targets: [{ type: user, id: pager }]\n"
    "services:\n"
    "  - name: %s\n"
    "    escalation_policy: page-bench\n"
    "notifications:\n"
    "  timeout: 10s\n"
    "  max_attempts: 3\n"
    "  retry_base: 1s\n";

static int apply_config(klaxon_client *c, const struct opts *o, unsigned port)
{
    char yaml[sizeof config_fmt + 256];
    struct klaxon_apply_result res;
    int n = snprintf(yaml, sizeof yaml, config_fmt, port, o->service);

    if (n < 0 || (size_t)n >= sizeof yaml) {
        fprintf(stderr, "%s: --service is too long\n", PROG);
        return -1;
    }
    if (klaxon_apply_config(c, "page-bench.yaml", yaml, (size_t)n, false, PROG,
                            &res) != KLAXON_OK) {
        fprintf(stderr, "%s: applying the on-call configuration: %s\n", PROG,
                klaxon_errmsg(c));
        return -1;
    }
    return 0;
}

/* --- triggers ------------------------------------------------------------- */

static int trigger(klaxon_client *c, const struct run *r, const char *suffix)
{
    struct klaxon_trigger t = {0};
    char key[96];

    snprintf(key, sizeof key, "%s%s", r->key_prefix, suffix);
    t.service = r->o->service;
    t.severity = SEVERITY;
    t.summary = "page-bench alert";
    t.source = PROG;
    t.dedup_key = key;
    return klaxon_trigger(c, &t, NULL) == KLAXON_OK ? 0 : -1;
}

/* One incident before the measurement: its page shows that the path from
 * trigger to receiver works (and opens the first delivery connection). */
static int probe(klaxon_client *c, struct run *r)
{
    uint64_t t0 = now_ns();
    uint64_t deadline = t0 + (uint64_t)(r->o->wait * 1e9);

    if (trigger(c, r, "probe") != 0) {
        fprintf(stderr, "%s: probe trigger: %s\n", PROG, klaxon_errmsg(c));
        return -1;
    }
    while (atomic_load(&r->probe_ns) == 0 && now_ns() < deadline) {
        sleep_until(now_ns() + 5000000ull);
    }
    if (atomic_load(&r->probe_ns) == 0) {
        fprintf(stderr,
                "%s: the probe incident's page did not arrive within "
                "%.0f s: check that the nodes can reach the receiver "
                "(see the nodes' logs for \"dispatch\")\n",
                PROG, r->o->wait);
        return -1;
    }
    fprintf(stderr, "%s: probe page arrived after %.1f ms\n", PROG,
            (double)(atomic_load(&r->probe_ns) - t0) / 1e6);
    return 0;
}

static void one_trigger(struct worker *w, uint64_t i)
{
    struct run *r = w->r;
    uint64_t due = r->t0 + i * r->interval_ns;
    uint64_t t0, t1;
    char suffix[24];

    sleep_until(due);
    snprintf(suffix, sizeof suffix, "%" PRIu64, i);
    t0 = now_ns();
    r->start_ns[i] = t0;
    hdr_record(&w->lag, t0 - due);
    if (trigger(w->client, r, suffix) != 0) {
        w->errors++;
        snprintf(w->last_error, sizeof w->last_error, "%s",
                 klaxon_errmsg(w->client));
        return;
    }
    t1 = now_ns();
    atomic_store(&r->ok[i], true);
    hdr_record(&w->call, t1 - t0);
    w->ok++;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->r;

    for (;;) {
        uint64_t i = atomic_fetch_add(&r->next, 1);
        if (i >= r->o->count || now_ns() >= r->stop_ns) {
            return NULL;
        }
        one_trigger(w, i);
    }
}

static int start_workers(struct run *r, struct worker *ws, unsigned *started)
{
    char err[KLAXON_ERRMSG_SIZE];

    for (unsigned i = 0; i < r->o->threads; i++) {
        ws[i].r = r;
        hdr_init(&ws[i].call);
        hdr_init(&ws[i].lag);
        if (klaxon_client_new(&r->o->client, &ws[i].client, err) != KLAXON_OK) {
            fprintf(stderr, "%s: client: %s\n", PROG, err);
            return -1;
        }
    }
    /* Scheduled times count from here; a little ahead so that every
     * thread is up before the first one is due. */
    r->t0 = now_ns() + 50000000ull;
    r->stop_ns = r->t0 + (uint64_t)((2 * r->o->seconds + 10) * 1e9);
    for (*started = 0; *started < r->o->threads; (*started)++) {
        int rv = pthread_create(&ws[*started].thread, NULL, worker_main,
                                &ws[*started]);
        if (rv != 0) {
            fprintf(stderr, "%s: thread: %s\n", PROG, strerror(rv));
            atomic_store(&r->next, r->o->count); /* stop the others */
            return -1;
        }
    }
    return 0;
}

/* Wait for the pages of the triggers that succeeded, up to o->wait. */
static double wait_pages(struct run *r, uint64_t expected)
{
    uint64_t t0 = now_ns();
    uint64_t deadline = t0 + (uint64_t)(r->o->wait * 1e9);

    while (atomic_load(&r->arrived) < expected && now_ns() < deadline) {
        sleep_until(now_ns() + 10000000ull);
    }
    return (double)(now_ns() - t0) / 1e9;
}

/* --- results -------------------------------------------------------------- */

struct result
{
    uint64_t triggers, errors, arrived, late_or_lost, duplicates, foreign;
    double seconds, wait_s;
    struct hdr page, call, lag;
    char error[KLAXON_ERRMSG_SIZE];
};

static void collect(struct run *r, struct worker *ws, struct result *res)
{
    hdr_init(&res->page);
    hdr_init(&res->call);
    hdr_init(&res->lag);
    for (unsigned i = 0; i < r->o->threads; i++) {
        res->triggers += ws[i].ok;
        res->errors += ws[i].errors;
        hdr_merge(&res->call, &ws[i].call);
        hdr_merge(&res->lag, &ws[i].lag);
        if (ws[i].errors > 0 && res->error[0] == '\0') {
            snprintf(res->error, sizeof res->error, "%s", ws[i].last_error);
        }
    }
    for (uint64_t i = 0; i < r->o->count; i++) {
        uint64_t at = atomic_load(&r->arrive_ns[i]);
        if (!atomic_load(&r->ok[i])) {
            continue;
        }
        if (at == 0) {
            res->late_or_lost++;
            continue;
        }
        res->arrived++;
        hdr_record(&res->page, at - r->start_ns[i]);
    }
    res->duplicates = atomic_load(&r->duplicates);
    res->foreign = atomic_load(&r->foreign);
}

static double ms(const struct hdr *h, double p)
{
    return (double)hdr_percentile(h, p) / 1e6;
}

static void print_text(const struct opts *o, const struct result *res)
{
    printf("trigger-to-page at %.0f triggers/s (%.0f/s achieved), %" PRIu64
           " triggers (%" PRIu64 " failed), pages arrived %" PRIu64 "/%" PRIu64
           " (%" PRIu64 " duplicates)\n",
           o->rate, (double)res->triggers / res->seconds, res->triggers,
           res->errors, res->arrived, res->triggers, res->duplicates);
    printf("  page latency ms: p50 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n",
           ms(&res->page, 50), ms(&res->page, 99), ms(&res->page, 99.9),
           (double)hdr_max(&res->page) / 1e6);
    printf(
        "  trigger call ms: p50 %.2f  p99 %.2f; call start after its "
        "slot: p99 %.2f ms, max %.2f ms\n",
        ms(&res->call, 50), ms(&res->call, 99), ms(&res->lag, 99),
        (double)hdr_max(&res->lag) / 1e6);
    if (res->error[0] != '\0') {
        printf("  last trigger error: %s\n", res->error);
    }
}

static void print_json(const struct opts *o, const struct result *res)
{
    printf(
        "{\"system\":\"klaxon\",\"bench\":\"page\",\"rate\":%.1f,"
        "\"seconds\":%.2f,\"threads\":%u,\"triggers\":%" PRIu64
        ",\"trigger_errors\":%" PRIu64
        ",\"achieved_rate\":%.1f,"
        "\"pages_expected\":%" PRIu64 ",\"pages_arrived\":%" PRIu64
        ",\"pages_missing\":%" PRIu64 ",\"duplicates\":%" PRIu64
        ",\"other_requests\":%" PRIu64
        ",\"wait_s\":%.2f,\"p50_ms\":%.3f,"
        "\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,"
        "\"trigger_p50_ms\":%.3f,\"trigger_p99_ms\":%.3f,"
        "\"start_lag_p99_ms\":%.3f,\"start_lag_max_ms\":%.3f}\n",
        o->rate, res->seconds, o->threads, res->triggers, res->errors,
        (double)res->triggers / res->seconds, res->triggers, res->arrived,
        res->late_or_lost, res->duplicates, res->foreign, res->wait_s,
        ms(&res->page, 50), ms(&res->page, 99), ms(&res->page, 99.9),
        (double)hdr_max(&res->page) / 1e6, ms(&res->call, 50),
        ms(&res->call, 99), ms(&res->lag, 99),
        (double)hdr_max(&res->lag) / 1e6);
}

/* --- the run -------------------------------------------------------------- */

static int alloc_run(struct run *r, const struct opts *o)
{
    memset(r, 0, sizeof *r);
    r->o = o;
    r->interval_ns = (uint64_t)(1e9 / o->rate);
    snprintf(r->key_prefix, sizeof r->key_prefix, "pb-%ld-%ld-",
             (long)time(NULL), (long)getpid());
    r->prefix_len = (size_t)snprintf(r->prefix, sizeof r->prefix,
                                     "\"dedup_key\":\"%s", r->key_prefix);
    r->start_ns = calloc(o->count, sizeof *r->start_ns);
    r->arrive_ns = calloc(o->count, sizeof *r->arrive_ns);
    r->ok = calloc(o->count, sizeof *r->ok);
    if (r->start_ns == NULL || r->arrive_ns == NULL || r->ok == NULL) {
        fprintf(stderr, "%s: out of memory for %" PRIu64 " incidents\n", PROG,
                o->count);
        return -1;
    }
    return 0;
}

static void free_run(struct run *r)
{
    free(r->start_ns);
    free((void *)r->arrive_ns);
    free((void *)r->ok);
}

/* Trigger at the paced rate, then wait for the pages. */
static int measure(struct run *r, struct webhook_rx *rx, struct result *res)
{
    struct worker *ws = calloc(r->o->threads, sizeof *ws);
    unsigned started = 0;
    int rv;

    if (ws == NULL) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        return -1;
    }
    fprintf(stderr, "%s: %" PRIu64 " triggers at %.0f/s from %u threads...\n",
            PROG, r->o->count, r->o->rate, r->o->threads);
    rv = start_workers(r, ws, &started);
    for (unsigned i = 0; i < started; i++) {
        pthread_join(ws[i].thread, NULL);
    }
    res->seconds = (double)(now_ns() - r->t0) / 1e9;
    if (rv == 0) {
        uint64_t expected = 0;
        for (unsigned i = 0; i < started; i++) {
            expected += ws[i].ok;
        }
        res->wait_s = wait_pages(r, expected);
        webhook_rx_stop(rx); /* no arrival from here on */
        collect(r, ws, res);
    }
    for (unsigned i = 0; i < r->o->threads; i++) {
        klaxon_client_free(ws[i].client);
    }
    free(ws);
    return rv;
}

static int run_bench(const struct opts *o, struct result *res)
{
    struct run r;
    struct webhook_rx *rx = NULL;
    klaxon_client *c = NULL;
    char err[KLAXON_ERRMSG_SIZE];
    int rv = -1;

    if (alloc_run(&r, o) != 0) {
        goto out;
    }
    rx = webhook_rx_start(o->port, on_page, &r, err, sizeof err);
    if (rx == NULL) {
        fprintf(stderr, "%s: %s\n", PROG, err);
        goto out;
    }
    if (klaxon_client_new(&o->client, &c, err) != KLAXON_OK) {
        fprintf(stderr, "%s: client: %s\n", PROG, err);
        goto out;
    }
    fprintf(stderr, "%s: webhook receiver on http://127.0.0.1:%u/page\n", PROG,
            webhook_rx_port(rx));
    if (apply_config(c, o, webhook_rx_port(rx)) != 0 || probe(c, &r) != 0) {
        goto out;
    }
    rv = measure(&r, rx, res);
    rx = NULL; /* measure() stopped it */
out:
    klaxon_client_free(c);
    webhook_rx_stop(rx);
    free_run(&r);
    return rv;
}

/* --- options -------------------------------------------------------------- */

static const char usage_text[] =
    "usage: " PROG
    " [--endpoints H:P,...] [--ca F --cert F --key F]\n"
    "                  [--rate R] [--seconds S] [--count N] [--threads T]\n"
    "                  [--wait S] [--port P] [--service NAME] [--json]\n"
    "\n"
    "Trigger-to-page latency: runs a webhook receiver on 127.0.0.1:P\n"
    "(default: a free port), applies an on-call configuration in which\n"
    "service NAME (default page-bench) pages a webhook at the receiver at\n"
    "once (it REPLACES the configuration in force), checks that one probe\n"
    "incident's page arrives, then triggers new incidents at R per second\n"
    "(default 1000) for S seconds (default 10; at most N triggers, default\n"
    "R x S) from T threads (default 32), each with its own connection and\n"
    "synchronous calls, and waits up to --wait seconds (default 10) after\n"
    "the last trigger for the pages. Reports the time from the start of\n"
    "each trigger call to the arrival of its page (p50, p99, p99.9, max)\n"
    "and how many pages arrived. Exit status 1 if no page arrived.\n"
    "\n"
    "Endpoints and TLS files default to $KLAXON_ENDPOINTS, $KLAXON_CA,\n"
    "$KLAXON_CERT and $KLAXON_KEY (`source DIR/env` of a local cluster).\n";

static int parse_number(const char *name,
                        const char *s,
                        double lo,
                        double hi,
                        double *out)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || *end != '\0' || !(v >= lo && v <= hi)) {
        fprintf(stderr, "%s: --%s: %g..%g, got \"%s\"\n", PROG, name, lo, hi,
                s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_option(int c, const char *arg, struct opts *o)
{
    double v = 0;

    if (bench_client_option(c, arg, &o->client)) {
        return 0;
    }
    switch (c) {
        case 'S':
            o->service = arg;
            return 0;
        case 'r':
            return parse_number("rate", arg, 1, 100000, &o->rate);
        case 's':
            return parse_number("seconds", arg, 0.1, 3600, &o->seconds);
        case 'w':
            return parse_number("wait", arg, 1, 600, &o->wait);
        case 'n':
            if (parse_number("count", arg, 1, (double)COUNT_MAX, &v) != 0) {
                return -1;
            }
            o->count = (uint64_t)v;
            return 0;
        case 't':
            if (parse_number("threads", arg, 1, THREADS_MAX, &v) != 0) {
                return -1;
            }
            o->threads = (unsigned)v;
            return 0;
        default:
            if (parse_number("port", arg, 0, 65535, &v) != 0) {
                return -1;
            }
            o->port = (unsigned)v;
            return 0;
    }
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option opts[] = {
        {"endpoints", required_argument, NULL, 'e'},
        {"ca", required_argument, NULL, 'a'},
        {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},
        {"rate", required_argument, NULL, 'r'},
        {"seconds", required_argument, NULL, 's'},
        {"count", required_argument, NULL, 'n'},
        {"threads", required_argument, NULL, 't'},
        {"wait", required_argument, NULL, 'w'},
        {"port", required_argument, NULL, 'p'},
        {"service", required_argument, NULL, 'S'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_text, stdout);
            exit(0);
        }
        if (c == 'j') {
            o->json = true;
        } else if (c == '?' || parse_option(c, optarg, o) != 0) {
            fputs(usage_text, stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument \"%s\"\n", PROG, argv[optind]);
        return -1;
    }
    return bench_client_check(PROG, &o->client);
}

static void defaults(struct opts *o)
{
    memset(o, 0, sizeof *o);
    bench_client_from_env(&o->client);
    o->client.timeout_ms = 10000;
    o->rate = 1000;
    o->seconds = 10;
    o->threads = 32;
    o->wait = 10;
    o->service = "page-bench";
}

int main(int argc, char **argv)
{
    struct opts o;
    struct result res;

    defaults(&o);
    if (parse_args(argc, argv, &o) != 0) {
        return 2;
    }
    if (o.count == 0) {
        double n = o.rate * o.seconds;
        o.count = n < 1 ? 1 : n > (double)COUNT_MAX ? COUNT_MAX : (uint64_t)n;
    }
    memset(&res, 0, sizeof res);
    if (run_bench(&o, &res) != 0) {
        return 1;
    }
    if (o.json) {
        print_json(&o, &res);
    } else {
        print_text(&o, &res);
    }
    if (res.arrived == 0) {
        fprintf(stderr, "%s: no page arrived\n", PROG);
        return 1;
    }
    if (res.arrived < res.triggers) {
        fprintf(stderr,
                "%s: %" PRIu64 " of %" PRIu64
                " pages did not arrive "
                "within %.0f s of the last trigger\n",
                PROG, res.triggers - res.arrived, res.triggers, o.wait);
    }
    return 0;
}
