/*
 * restart-bench: the two programs of bench/restart.sh, which measures how
 * long a node takes to be ready again with many incidents stored.
 *
 *   restart-bench load --incidents N ...
 *       opens N incidents as fast as it can (T threads, each with its own
 *       client and synchronous calls) and resolves all but every K-th one
 *       right after opening it, printing progress every few seconds;
 *       bounded by N and by --max-seconds.
 *
 *   restart-bench wait-ready --node HOST:PORT=PID ... [--read]
 *       polls each node's status on its client port every 10 ms until it
 *       is ready the way its /readyz says it (a leader is known and it is
 *       at most 64 entries behind the commit index; a leader once its first
 *       barrier committed), and prints for each the milliseconds from the
 *       start of its process (/proc/PID/stat) to its client port answering
 *       and to ready, with its memory (/proc/PID/status) at that point.
 *       With --read, also the time from the earliest process start to the
 *       first linearizable read the cluster answers.
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
#include "klaxon.h"

#define PROG "restart-bench"
#define THREADS_MAX 1024
#define NODES_MAX 9
#define MAX_ERRORS_IN_A_ROW 20 /* a thread gives up after as many */
#define READY_MAX_LAG 64       /* as server/http_routes.c's /readyz */
#define POLL_NS 10000000ull

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000ull),
                          (long)(ns % 1000000000ull)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static int parse_u64(const char *name,
                     const char *s,
                     uint64_t lo,
                     uint64_t hi,
                     uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);

    if (end == s || *end != '\0' || s[0] == '-' || v < lo || v > hi) {
        fprintf(stderr, "%s: --%s: %" PRIu64 "..%" PRIu64 ", got \"%s\"\n",
                PROG, name, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* --- load ----------------------------------------------------------------- */

struct load_opts
{
    struct klaxon_options client;
    uint64_t incidents, threads, open_every, max_seconds, progress;
    const char *service;
    bool json;
};

struct load
{
    const struct load_opts *o;
    char key_prefix[48];
    uint64_t deadline_ns;
    _Atomic uint64_t next, opened, resolved, errors;
    _Atomic unsigned gave_up;
};

struct loader
{
    pthread_t thread;
    struct load *l;
    klaxon_client *client;
    char last_error[KLAXON_ERRMSG_SIZE];
};

/* Open incident i, and resolve it unless it is one to keep open. */
static int load_one(struct loader *w, uint64_t i)
{
    const struct load_opts *o = w->l->o;
    struct klaxon_trigger t = {0};
    struct klaxon_result r;
    char key[96];

    snprintf(key, sizeof key, "%s%" PRIu64, w->l->key_prefix, i);
    t.service = o->service;
    t.severity = 3;
    t.summary = "restart-bench incident";
    t.source = PROG;
    t.dedup_key = key;
    if (klaxon_trigger(w->client, &t, &r) != KLAXON_OK) {
        return -1;
    }
    atomic_fetch_add(&w->l->opened, 1);
    if (o->open_every != 0 && i % o->open_every == 0) {
        return 0;
    }
    if (klaxon_resolve(w->client, r.incident_id, PROG, NULL) != KLAXON_OK) {
        return -1;
    }
    atomic_fetch_add(&w->l->resolved, 1);
    return 0;
}

static void *loader_main(void *arg)
{
    struct loader *w = arg;
    struct load *l = w->l;
    unsigned in_a_row = 0;

    for (;;) {
        uint64_t i = atomic_fetch_add(&l->next, 1);
        if (i >= l->o->incidents ||
            clock_ns(CLOCK_MONOTONIC) >= l->deadline_ns) {
            return NULL;
        }
        if (load_one(w, i) == 0) {
            in_a_row = 0;
            continue;
        }
        atomic_fetch_add(&l->errors, 1);
        snprintf(w->last_error, sizeof w->last_error, "%s",
                 klaxon_errmsg(w->client));
        if (++in_a_row == MAX_ERRORS_IN_A_ROW) {
            fprintf(stderr, "%s: a thread stops after %d errors in a row: %s\n",
                    PROG, MAX_ERRORS_IN_A_ROW, w->last_error);
            atomic_fetch_add(&l->gave_up, 1);
            return NULL;
        }
    }
}

/* Print progress until every thread is done (or gave up). */
static void watch_load(struct load *l, uint64_t t0, _Atomic unsigned *running)
{
    uint64_t next = t0 + l->o->progress * 1000000000ull;

    while (atomic_load(running) > 0) {
        uint64_t now = clock_ns(CLOCK_MONOTONIC);
        if (now >= next) {
            double s = (double)(now - t0) / 1e9;
            uint64_t n = atomic_load(&l->opened);
            fprintf(stderr,
                    "%s: %" PRIu64 "/%" PRIu64 " incidents opened, %" PRIu64
                    " resolved, %.0f s, %.0f incidents/s, %" PRIu64 " errors\n",
                    PROG, n, l->o->incidents, atomic_load(&l->resolved), s,
                    (double)n / s, atomic_load(&l->errors));
            next += l->o->progress * 1000000000ull;
        }
        sleep_ns(100000000ull);
    }
}

struct joiner
{
    struct loader *ws;
    unsigned n;
    _Atomic unsigned *running;
};

static void *join_all(void *arg)
{
    struct joiner *j = arg;

    for (unsigned i = 0; i < j->n; i++) {
        pthread_join(j->ws[i].thread, NULL);
        atomic_fetch_sub(j->running, 1);
    }
    return NULL;
}

static int start_loaders(struct load *l, struct loader *ws, unsigned *started)
{
    char err[KLAXON_ERRMSG_SIZE];

    for (unsigned i = 0; i < l->o->threads; i++) {
        ws[i].l = l;
        if (klaxon_client_new(&l->o->client, &ws[i].client, err) != KLAXON_OK) {
            fprintf(stderr, "%s: client: %s\n", PROG, err);
            return -1;
        }
    }
    for (*started = 0; *started < l->o->threads; (*started)++) {
        int rv = pthread_create(&ws[*started].thread, NULL, loader_main,
                                &ws[*started]);
        if (rv != 0) {
            fprintf(stderr, "%s: thread: %s\n", PROG, strerror(rv));
            atomic_store(&l->next, l->o->incidents); /* stop the others */
            return -1;
        }
    }
    return 0;
}

static void print_load(const struct load *l, double seconds, bool timed_out)
{
    uint64_t opened = atomic_load(&l->opened);
    uint64_t resolved = atomic_load(&l->resolved);
    uint64_t writes = opened + resolved;

    if (!l->o->json) {
        printf("%" PRIu64 " incidents opened (%" PRIu64 " resolved, %" PRIu64
               " left open) in %.1f s: %.0f incidents/s, %.0f writes/s, "
               "%" PRIu64 " errors%s\n",
               opened, resolved, opened - resolved, seconds,
               (double)opened / seconds, (double)writes / seconds,
               atomic_load(&l->errors),
               timed_out ? " (stopped at --max-seconds)" : "");
        return;
    }
    printf(
        "{\"system\":\"klaxon\",\"bench\":\"restart_load\",\"requested\":"
        "%" PRIu64 ",\"incidents\":%" PRIu64 ",\"resolved\":%" PRIu64
        ",\"open\":%" PRIu64 ",\"errors\":%" PRIu64
        ",\"seconds\":%.1f,\"incidents_per_s\":%.1f,\"writes_per_s\":%.1f,"
        "\"threads\":%" PRIu64 ",\"timed_out\":%s}\n",
        l->o->incidents, opened, resolved, opened - resolved,
        atomic_load(&l->errors), seconds, (double)opened / seconds,
        (double)writes / seconds, l->o->threads, timed_out ? "true" : "false");
}

static int run_load(const struct load_opts *o)
{
    struct load l = {.o = o};
    struct loader *ws = calloc(o->threads, sizeof *ws);
    _Atomic unsigned running = 0;
    struct joiner j = {ws, 0, &running};
    pthread_t joiner;
    uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
    int rv;

    if (ws == NULL) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        return 1;
    }
    snprintf(l.key_prefix, sizeof l.key_prefix, "rb-%ld-%ld-", (long)time(NULL),
             (long)getpid());
    l.deadline_ns = t0 + o->max_seconds * 1000000000ull;
    rv = start_loaders(&l, ws, &j.n);
    atomic_store(&running, j.n);
    if (pthread_create(&joiner, NULL, join_all, &j) != 0) {
        fprintf(stderr, "%s: thread: cannot start\n", PROG);
        atomic_store(&l.next, o->incidents);
        join_all(&j);
    } else {
        watch_load(&l, t0, &running);
        pthread_join(joiner, NULL);
    }
    for (unsigned i = 0; i < o->threads; i++) {
        klaxon_client_free(ws[i].client);
    }
    free(ws);
    print_load(&l, (double)(clock_ns(CLOCK_MONOTONIC) - t0) / 1e9,
               clock_ns(CLOCK_MONOTONIC) >= l.deadline_ns &&
                   atomic_load(&l.opened) < o->incidents);
    return rv != 0 || atomic_load(&l.opened) == 0 ? 1 : 0;
}

static const char load_usage[] =
    "usage: " PROG
    " load --incidents N [--threads T] [--open-every K]\n"
    "                         [--max-seconds S] [--progress S] "
    "[--service NAME]\n"
    "                         [--endpoints H:P,...] [--ca F --cert F --key "
    "F] [--json]\n"
    "\n"
    "Open N incidents (new dedup keys, Sev3, service NAME, default bench)\n"
    "from T threads (default 256), each with its own connection and\n"
    "synchronous calls; resolve each right after opening it except every\n"
    "K-th one (default 100: 1 % stay open; 0: none is resolved). Stops at N\n"
    "or after S seconds (default 900), printing progress every --progress\n"
    "seconds (default 5) on stderr. Exit status 1 if nothing was opened.\n";

static int parse_load_option(int c, const char *arg, struct load_opts *o)
{
    if (bench_client_option(c, arg, &o->client)) {
        return 0;
    }
    switch (c) {
        case 'S':
            o->service = arg;
            return 0;
        case 'n':
            return parse_u64("incidents", arg, 1, 100000000, &o->incidents);
        case 't':
            return parse_u64("threads", arg, 1, THREADS_MAX, &o->threads);
        case 'o':
            return parse_u64("open-every", arg, 0, 100000000, &o->open_every);
        case 'm':
            return parse_u64("max-seconds", arg, 1, 86400, &o->max_seconds);
        case 'p':
            return parse_u64("progress", arg, 1, 3600, &o->progress);
        default:
            return -1;
    }
}

static int load_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"endpoints", required_argument, NULL, 'e'},
        {"ca", required_argument, NULL, 'a'},
        {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},
        {"incidents", required_argument, NULL, 'n'},
        {"threads", required_argument, NULL, 't'},
        {"open-every", required_argument, NULL, 'o'},
        {"max-seconds", required_argument, NULL, 'm'},
        {"progress", required_argument, NULL, 'p'},
        {"service", required_argument, NULL, 'S'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct load_opts o = {.threads = 256,
                          .open_every = 100,
                          .max_seconds = 900,
                          .progress = 5,
                          .service = "bench"};
    int c;

    bench_client_from_env(&o.client);
    o.client.timeout_ms = 20000;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(load_usage, stdout);
            return 0;
        }
        if (c == 'j') {
            o.json = true;
        } else if (c == '?' || parse_load_option(c, optarg, &o) != 0) {
            fputs(load_usage, stderr);
            return 2;
        }
    }
    if (o.incidents == 0) {
        fprintf(stderr, "%s load: --incidents is required\n", PROG);
        return 2;
    }
    if (bench_client_check(PROG, &o.client) != 0) {
        return 2;
    }
    if (o.threads > o.incidents) {
        o.threads = o.incidents; /* no idle connections */
    }
    return run_load(&o);
}

/* --- wait-ready ----------------------------------------------------------- */

struct probe
{
    char endpoint[128];
    long pid;
    uint64_t start_ns; /* the process's start, CLOCK_BOOTTIME */
    klaxon_client *client;
    uint64_t api_ns, ready_ns; /* 0: not yet */
    uint64_t applied_index;
    char role[16];
    long hwm_kib, anon_kib, file_kib; /* at ready */
};

struct wait_opts
{
    struct klaxon_options client;
    struct probe nodes[NODES_MAX];
    unsigned n_nodes;
    uint64_t timeout_s;
    bool read;
    const char *label;
    bool json;
};

/* The start of process pid on CLOCK_BOOTTIME, from /proc/PID/stat. */
static int process_start_ns(long pid, uint64_t *out)
{
    char path[64], buf[1024];
    unsigned long long ticks;
    const char *p;
    FILE *f;
    size_t n;

    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')'); /* the name may hold spaces */
    /* After ")": state is field 3, starttime field 22. */
    for (int field = 2; p != NULL && field < 22; field++) {
        p = strchr(p + 1, ' ');
    }
    if (p == NULL || sscanf(p + 1, "%llu", &ticks) != 1) {
        return -1;
    }
    *out = ticks * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
    return 0;
}

/* VmHWM, RssAnon and RssFile of pid in KiB; -1 when it is gone. */
static int memory_kib(long pid, long *hwm, long *anon, long *file)
{
    char path[64], line[256];
    FILE *f;

    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        (void)(sscanf(line, "VmHWM: %ld", hwm) == 1 ||
               sscanf(line, "RssAnon: %ld", anon) == 1 ||
               sscanf(line, "RssFile: %ld", file) == 1);
    }
    fclose(f);
    return 0;
}

static bool is_ready(const struct klaxon_node_status *s)
{
    if (s->leader_id == 0 || (s->leader_id == s->id && !s->ready)) {
        return false;
    }
    return s->commit_index <= s->applied_index + READY_MAX_LAG;
}

/* Ask one node; 1 once it is ready, 0 not yet, -1 if its process is gone. */
static int poll_node(struct probe *p)
{
    struct klaxon_node_status *s;
    uint64_t now;

    if (memory_kib(p->pid, &p->hwm_kib, &p->anon_kib, &p->file_kib) != 0) {
        fprintf(stderr, "%s: the process of %s (pid %ld) is gone\n", PROG,
                p->endpoint, p->pid);
        return -1;
    }
    if (klaxon_node_status(p->client, p->endpoint, &s) != KLAXON_OK) {
        return 0;
    }
    now = clock_ns(CLOCK_BOOTTIME);
    if (p->api_ns == 0) {
        p->api_ns = now;
    }
    if (is_ready(s)) {
        p->ready_ns = now;
        p->applied_index = s->applied_index;
        snprintf(p->role, sizeof p->role, "%s", s->role);
    }
    klaxon_node_status_free(s);
    return p->ready_ns != 0;
}

struct reader
{
    const struct wait_opts *o;
    uint64_t deadline_ns;
    uint64_t read_ns; /* CLOCK_BOOTTIME of the first answer, 0: none */
    char error[KLAXON_ERRMSG_SIZE];
};

/* The first linearizable read the cluster answers. */
static void *reader_main(void *arg)
{
    struct reader *r = arg;
    struct klaxon_options co = r->o->client;
    struct klaxon_list_query q = {.limit = 1};
    struct klaxon_incident_list *list;
    klaxon_client *c;

    co.timeout_ms = 1000;
    co.connect_timeout_ms = 500;
    if (klaxon_client_new(&co, &c, r->error) != KLAXON_OK) {
        return NULL;
    }
    while (clock_ns(CLOCK_BOOTTIME) < r->deadline_ns) {
        if (klaxon_list(c, &q, KLAXON_READ_LINEARIZABLE, &list) == KLAXON_OK) {
            r->read_ns = clock_ns(CLOCK_BOOTTIME);
            klaxon_incident_list_free(list);
            break;
        }
        snprintf(r->error, sizeof r->error, "%s", klaxon_errmsg(c));
        sleep_ns(POLL_NS);
    }
    klaxon_client_free(c);
    return NULL;
}

static int open_probes(struct wait_opts *o)
{
    char err[KLAXON_ERRMSG_SIZE];

    for (unsigned i = 0; i < o->n_nodes; i++) {
        struct probe *p = &o->nodes[i];
        struct klaxon_options co = o->client;
        co.endpoints = p->endpoint;
        co.timeout_ms = 1000;
        co.connect_timeout_ms = 500;
        if (process_start_ns(p->pid, &p->start_ns) != 0) {
            fprintf(stderr, "%s: no process %ld (for %s)\n", PROG, p->pid,
                    p->endpoint);
            return -1;
        }
        if (klaxon_client_new(&co, &p->client, err) != KLAXON_OK) {
            fprintf(stderr, "%s: client: %s\n", PROG, err);
            return -1;
        }
    }
    return 0;
}

/* Poll every node until all are ready; 0, or -1 on timeout or exit. */
static int poll_all(struct wait_opts *o, uint64_t deadline)
{
    unsigned ready = 0;

    while (ready < o->n_nodes) {
        if (clock_ns(CLOCK_BOOTTIME) >= deadline) {
            fprintf(stderr,
                    "%s: %u of %u node(s) not ready after %" PRIu64 " s\n",
                    PROG, o->n_nodes - ready, o->n_nodes, o->timeout_s);
            return -1;
        }
        ready = 0;
        for (unsigned i = 0; i < o->n_nodes; i++) {
            struct probe *p = &o->nodes[i];
            int rv = p->ready_ns != 0 ? 1 : poll_node(p);
            if (rv < 0) {
                return -1;
            }
            ready += (unsigned)rv;
        }
        sleep_ns(POLL_NS);
    }
    return 0;
}

static double since_ms(uint64_t t, uint64_t start)
{
    return t == 0 ? -1 : (double)(t - start) / 1e6;
}

static void print_probe(const struct wait_opts *o, const struct probe *p)
{
    if (!o->json) {
        printf(
            "%s %s (pid %ld): client port answers after %.0f ms, ready "
            "(%s) after %.0f ms; peak RSS %.1f MiB, now heap %.1f + file "
            "%.1f MiB\n",
            o->label, p->endpoint, p->pid, since_ms(p->api_ns, p->start_ns),
            p->role, since_ms(p->ready_ns, p->start_ns),
            (double)p->hwm_kib / 1024, (double)p->anon_kib / 1024,
            (double)p->file_kib / 1024);
        return;
    }
    printf(
        "{\"system\":\"klaxon\",\"bench\":\"restart\",\"label\":\"%s\","
        "\"endpoint\":\"%s\",\"api_ms\":%.1f,\"ready_ms\":%.1f,"
        "\"role\":\"%s\",\"applied_index\":%" PRIu64
        ",\"vmhwm_kib\":%ld,\"rss_anon_kib\":%ld,\"rss_file_kib\":%ld}\n",
        o->label, p->endpoint, since_ms(p->api_ns, p->start_ns),
        since_ms(p->ready_ns, p->start_ns), p->role, p->applied_index,
        p->hwm_kib, p->anon_kib, p->file_kib);
}

static void print_read(const struct wait_opts *o, const struct reader *r)
{
    uint64_t first = UINT64_MAX;

    for (unsigned i = 0; i < o->n_nodes; i++) {
        first = o->nodes[i].start_ns < first ? o->nodes[i].start_ns : first;
    }
    if (!o->json) {
        printf("%s: first linearizable read after %.0f ms\n", o->label,
               since_ms(r->read_ns, first));
        return;
    }
    printf(
        "{\"system\":\"klaxon\",\"bench\":\"restart\",\"label\":\"%s\","
        "\"read_ms\":%.1f}\n",
        o->label, since_ms(r->read_ns, first));
}

static int run_wait(struct wait_opts *o)
{
    uint64_t deadline = clock_ns(CLOCK_BOOTTIME) + o->timeout_s * 1000000000ull;
    struct reader r = {.o = o, .deadline_ns = deadline};
    pthread_t reader;
    bool reading = false;
    int rv = open_probes(o);

    if (rv == 0 && o->read) {
        reading = pthread_create(&reader, NULL, reader_main, &r) == 0;
        rv = reading ? 0 : -1;
    }
    if (rv == 0) {
        rv = poll_all(o, deadline);
    }
    if (reading) {
        pthread_join(reader, NULL);
        if (r.read_ns == 0) {
            fprintf(stderr, "%s: no linearizable read answered: %s\n", PROG,
                    r.error);
            rv = -1;
        }
    }
    for (unsigned i = 0; i < o->n_nodes; i++) {
        if (rv == 0) {
            print_probe(o, &o->nodes[i]);
        }
        klaxon_client_free(o->nodes[i].client);
    }
    if (rv == 0 && o->read) {
        print_read(o, &r);
    }
    return rv == 0 ? 0 : 1;
}

static const char wait_usage[] =
    "usage: " PROG
    " wait-ready --node HOST:PORT=PID [--node ...] [--read]\n"
    "                               [--timeout S] [--label L] [--json]\n"
    "                               [--ca F --cert F --key F]\n"
    "\n"
    "Poll each node's status on its client port HOST:PORT every 10 ms until\n"
    "it is ready as its /readyz would say (default timeout 300 s), and print\n"
    "for each the ms from the start of process PID to its client port\n"
    "answering and to ready, and its memory then. --read: also the ms from\n"
    "the earliest start to the first linearizable read ($KLAXON_ENDPOINTS).\n";

static int add_node(struct wait_opts *o, const char *arg)
{
    const char *eq = strrchr(arg, '=');
    struct probe *p;
    char *end;

    if (o->n_nodes == NODES_MAX || eq == NULL || eq == arg ||
        (size_t)(eq - arg) >= sizeof p->endpoint) {
        fprintf(stderr, "%s: --node HOST:PORT=PID, at most %d\n", PROG,
                NODES_MAX);
        return -1;
    }
    p = &o->nodes[o->n_nodes];
    memcpy(p->endpoint, arg, (size_t)(eq - arg));
    p->endpoint[eq - arg] = '\0';
    p->pid = strtol(eq + 1, &end, 10);
    if (*end != '\0' || p->pid <= 0) {
        fprintf(stderr, "%s: --node %s: not a pid\n", PROG, arg);
        return -1;
    }
    o->n_nodes++;
    return 0;
}

static int parse_wait_option(int c, const char *arg, struct wait_opts *o)
{
    switch (c) {
        case 'N':
            return add_node(o, arg);
        case 'a':
        case 'c':
        case 'k':
            return bench_client_option(c, arg, &o->client) ? 0 : -1;
        case 'T':
            return parse_u64("timeout", arg, 1, 86400, &o->timeout_s);
        case 'L':
            o->label = arg;
            return 0;
        case 'r':
            o->read = true;
            return 0;
        case 'j':
            o->json = true;
            return 0;
        default:
            return -1;
    }
}

static int wait_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"node", required_argument, NULL, 'N'},
        {"ca", required_argument, NULL, 'a'},
        {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},
        {"timeout", required_argument, NULL, 'T'},
        {"label", required_argument, NULL, 'L'},
        {"read", no_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static struct wait_opts o;
    int c;

    o.timeout_s = 300;
    o.label = "restart";
    bench_client_from_env(&o.client);
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(wait_usage, stdout);
            return 0;
        }
        if (c == '?' || parse_wait_option(c, optarg, &o) != 0) {
            fputs(wait_usage, stderr);
            return 2;
        }
    }
    if (o.n_nodes == 0) {
        fprintf(stderr, "%s wait-ready: at least one --node is required\n",
                PROG);
        return 2;
    }
    if (o.client.endpoints == NULL && !o.read) {
        o.client.endpoints = o.nodes[0].endpoint; /* not used */
    }
    return bench_client_check(PROG, &o.client) != 0 ? 2 : run_wait(&o);
}

/* --- main ----------------------------------------------------------------- */

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "load") == 0) {
        return load_main(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "wait-ready") == 0) {
        return wait_main(argc - 1, argv + 1);
    }
    if (argc >= 2 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("%s\n%s", load_usage, wait_usage);
        return 0;
    }
    fprintf(stderr, "usage: %s load|wait-ready ... (--help)\n", PROG);
    return 2;
}
