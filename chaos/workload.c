/*
 * chaos-workload: the load generator of a chaos run and the reader of every
 * node's final state. Both append JSON lines, in the format of
 * chaos/HISTORY.md, to the run's history.
 *
 *   run    N worker threads ("processes") trigger, acknowledge, resolve and
 *          read incidents through libklaxon: an invoke line before each
 *          call, exactly one ok/fail/info line after it. With
 *          --sample-leader one more thread records the ready leader every
 *          200 ms.
 *   final  reads every incident one node holds (stale reads served by that
 *          node alone) and its applied index, as one "final" line.
 *
 * Every line goes out with a single write() to a file opened with
 * O_APPEND, under one mutex: lines stay whole next to other writers of the
 * same file, and a killed run loses nothing it had already written.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "klaxon.h"

#define PROG "chaos-workload"

/* Exit statuses. */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* Operation mix in percent; the rest (30) are reads. */
#define PCT_TRIGGER 40
#define PCT_ACK 20
#define PCT_RESOLVE 10
#define PCT_UNATTENDED 2 /* of triggers, with --unattended */

/* Severity of every trigger: Sev1 incidents escalate (chaos/HISTORY.md). */
#define SEVERITY 1

/* Leader sampler: period, and the deadlines of one status call. */
#define SAMPLE_MS 200
#define SAMPLE_CONNECT_MS 150
#define SAMPLE_TIMEOUT_MS 300

/* Longest sleep before a thread notices the run is stopping. */
#define WAIT_SLICE_MS 50

/* final: page size of klaxon_list, attempts at a stable snapshot. */
#define LIST_LIMIT 1000
#define FINAL_ATTEMPTS 5

/* Defaults and limits of the options. */
#define DEFAULT_SERVICES "svc0,svc1,svc2"
#define DEFAULT_DEDUP_KEYS 8
#define DEFAULT_PAUSE_MS 20
#define DEFAULT_TIMEOUT_MS 5000
#define DEFAULT_MAX_OPS 100000
#define MAX_PROCESSES 1024
#define MAX_DEDUP_KEYS 1000000
#define MAX_PAUSE_MS 600000
#define MAX_TIMEOUT_MS 3600000
#define MAX_SERVICE_LEN 128

/* Significant digits of "t": seconds since the epoch to the microsecond. */
#define T_DIGITS 16

static const char usage_text[] =
    "usage: chaos-workload run --endpoints A,B,C --ca F --cert F --key F\n"
    "           --out HISTORY --duration SECONDS --processes N --seed S\n"
    "           [--services svc0,svc1,svc2] [--dedup-keys 8] [--pause-ms 20]\n"
    "           [--timeout-ms 5000] [--max-ops 100000] [--sample-leader]\n"
    "           [--unattended SERVICE]\n"
    "       chaos-workload final --endpoint ADDR --node ID --ca F --cert F\n"
    "           --key F --out HISTORY [--timeout-ms 5000]\n"
    "       chaos-workload --help\n"
    "\n"
    "Load generator of chaos runs. Appends JSON lines in the format of\n"
    "chaos/HISTORY.md to HISTORY (created if missing).\n"
    "\n"
    "run: N processes (threads, each with its own client on every endpoint)\n"
    "trigger (40%), acknowledge (20%), resolve (10%) and read (30%)\n"
    "incidents, pausing a random 0..--pause-ms between operations, until\n"
    "--duration has passed, --max-ops operations have started, or SIGINT or\n"
    "SIGTERM arrives. Operations in flight then finish (each within\n"
    "--timeout-ms), a workload-end line is written and a summary printed on\n"
    "stderr. Acknowledge, resolve and read pick an incident learnt from a\n"
    "successful trigger; until one is known they trigger instead. Triggers\n"
    "are Sev1, of a random service and dedup key k0..k(M-1), so keys overlap\n"
    "across processes. Each process draws its choices from --seed and its\n"
    "number: the same seed makes the same choices as far as the cluster's\n"
    "answers allow.\n"
    "\n"
    "  --endpoints A,B,C  node API addresses, host:port\n"
    "  --ca, --cert, --key F\n"
    "                     cluster CA, client certificate and its key (PEM)\n"
    "  --out HISTORY      history file to append to\n"
    "  --duration SECONDS how long to start operations (may be fractional)\n"
    "  --processes N      worker threads, 1..1024\n"
    "  --seed S           seed of every random choice\n"
    "  --services LIST    services to trigger (default svc0,svc1,svc2)\n"
    "  --unattended SVC   also trigger SVC now and then (2% of triggers),\n"
    "                     each with a dedup key of its own, and never\n"
    "                     acknowledge or resolve those incidents: they\n"
    "                     escalate through every level and repeat\n"
    "  --dedup-keys M     number of dedup keys (default 8)\n"
    "  --pause-ms MS      longest pause between operations (default 20)\n"
    "  --timeout-ms MS    deadline of a call and its retries (default 5000)\n"
    "  --max-ops N        at most N operations in all (default 100000)\n"
    "  --sample-leader    every 200 ms ask every endpoint for its status and\n"
    "                     write which node is the ready leader (0: none)\n"
    "\n"
    "final: reads every incident node ADDR holds, from that node alone\n"
    "(stale reads, pages of 1000), and its applied index, and appends one\n"
    "\"final\" line with the incidents sorted by id. Reads again (up to 5\n"
    "times) while the applied index moves during the read.\n"
    "\n"
    "  --endpoint ADDR    the node's API address, host:port\n"
    "  --node ID          its node id (checked against the node's answer)\n"
    "  --timeout-ms MS    deadline of one call (default 5000)\n"
    "\n"
    "Exit status: 0 done; 1 the history cannot be written, a client cannot\n"
    "be created or (final) the node cannot be read; 2 usage error.\n";

/* --- small helpers -------------------------------------------------------- */

static uint64_t mono_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Seconds since the Unix epoch, to the microsecond. */
static double wall_now(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)(ts.tv_nsec / 1000) / 1e6;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
                          .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* splitmix64: small, fast and good enough to pick operations. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A number in 0..n-1 (n > 0). */
static uint64_t rng_below(uint64_t *state, uint64_t n)
{
    return rng_next(state) % n;
}

/* A comma-separated list split into its items. */
struct strlist
{
    char *buf;
    char **items;
    size_t n;
};

static void strlist_free(struct strlist *l)
{
    free(l->items);
    free(l->buf);
    *l = (struct strlist){0};
}

/* Splits s at commas; -1 when out of memory or an item is empty. */
static int strlist_split(const char *s, struct strlist *l)
{
    size_t n = 1;
    char *p;

    for (const char *q = s; *q != '\0'; q++) {
        n += *q == ',';
    }
    l->buf = strdup(s);
    l->items = calloc(n, sizeof *l->items);
    l->n = 0;
    if (l->buf == NULL || l->items == NULL) {
        strlist_free(l);
        return -1;
    }
    for (p = l->buf; p != NULL; l->n++) {
        l->items[l->n] = p;
        p = strchr(p, ',');
        if (p != NULL) {
            *p++ = '\0';
        }
        if (l->items[l->n][0] == '\0') {
            strlist_free(l);
            return -1;
        }
    }
    return 0;
}

/* --- history ------------------------------------------------------------- */

static struct
{
    int fd;
    pthread_mutex_t mu;
    atomic_bool failed;
} hist = {.fd = -1, .mu = PTHREAD_MUTEX_INITIALIZER};

static int history_open(const char *path)
{
    hist.fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (hist.fd < 0) {
        fprintf(stderr, "%s: %s: %s\n", PROG, path, strerror(errno));
        return -1;
    }
    return 0;
}

static int history_close(void)
{
    int rv = 0;

    if (hist.fd >= 0 && close(hist.fd) != 0) {
        fprintf(stderr, "%s: closing the history: %s\n", PROG, strerror(errno));
        rv = -1;
    }
    hist.fd = -1;
    return rv;
}

/* The first failure is reported; later lines are still attempted. */
static void history_failure(const char *what)
{
    if (!atomic_exchange(&hist.failed, true)) {
        fprintf(stderr, "%s: writing the history: %s\n", PROG, what);
    }
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes `line` as one line; -1 with *why set on failure. */
static int dump_line(const json_t *line, const char **why)
{
    char *s = json_dumps(line, JSON_REAL_PRECISION(T_DIGITS));
    size_t n = s != NULL ? strlen(s) : 0;
    char *l = s != NULL ? realloc(s, n + 1) : NULL;
    int rv;

    if (l == NULL) {
        free(s);
        *why = "out of memory building a line";
        return -1;
    }
    l[n] = '\n';
    rv = write_all(hist.fd, l, n + 1);
    if (rv != 0) {
        *why = strerror(errno);
    }
    free(l);
    return rv;
}

/*
 * Stamps `line` (stolen; NULL when it could not be built) with the time and
 * writes it. Stamping under the lock keeps the file in time order; an
 * invoke line is written before its call, a completion after it.
 */
static void history_write(json_t *line)
{
    const char *why = "out of memory building a line";
    int rv = -1;

    (void)pthread_mutex_lock(&hist.mu);
    if (line != NULL &&
        json_real_set(json_object_get(line, "t"), wall_now()) == 0) {
        rv = dump_line(line, &why);
    }
    (void)pthread_mutex_unlock(&hist.mu);
    json_decref(line);
    if (rv != 0) {
        history_failure(why);
    }
}

/* {"t": ..., "type": type}, the start of every line; "t" is set when the
 * line is written. */
static json_t *line_new(const char *type)
{
    return json_pack("{s:f, s:s}", "t", 0.0, "type", type);
}

/* Adds the members of `fields` (stolen) to *line; on failure frees the
 * line and leaves *line NULL. */
static void line_merge(json_t **line, json_t *fields)
{
    if (*line != NULL &&
        (fields == NULL || json_object_update(*line, fields) != 0)) {
        json_decref(*line);
        *line = NULL;
    }
    json_decref(fields);
}

/* --- result codes -------------------------------------------------------- */

struct code_name
{
    int code;
    const char *name;
    bool definite; /* the operation definitely did not happen */
};

static const struct code_name code_names[] = {
    {KLAXON_EINVAL, "invalid", true},
    {KLAXON_ENOTFOUND, "notfound", true},
    {KLAXON_ESTATE, "state", true},
    {KLAXON_EPERM, "permission", true},
    {KLAXON_ETOOLARGE, "toolarge", true},
    {KLAXON_EUNSUPPORTED, "unsupported", true},
    {KLAXON_ETIMEOUT, "timeout", false},
    {KLAXON_EUNAVAILABLE, "unavailable", false},
    {KLAXON_ECONNECT, "connect", false},
    {KLAXON_ETLS, "tls", false},
    {KLAXON_EPROTO, "proto", false},
    {KLAXON_EINTERNAL, "internal", false},
    {KLAXON_ENOMEM, "nomem", false},
    {KLAXON_ECONFIG, "config", false},
    {KLAXON_EAUTH, "auth", false},
};

/* The entry of code; NULL for a code this program does not know. */
static const struct code_name *code_lookup(int code)
{
    for (size_t i = 0; i < sizeof code_names / sizeof code_names[0]; i++) {
        if (code_names[i].code == code) {
            return &code_names[i];
        }
    }
    return NULL;
}

/* --- options ------------------------------------------------------------- */

struct run_opts
{
    const char *endpoints, *ca, *cert, *key, *out;
    double duration_s;
    unsigned processes;
    uint64_t seed;
    unsigned dedup_keys;
    unsigned pause_ms;
    unsigned timeout_ms;
    uint64_t max_ops;
    bool sample_leader;
    const char *unattended; /* service of never-acknowledged incidents */
    struct strlist services;
    struct strlist endpoint_list;
};

struct final_opts
{
    const char *endpoint, *ca, *cert, *key, *out;
    uint64_t node;
    unsigned timeout_ms;
};

/* Option codes of getopt_long; every option is long. */
enum {
    OPT_HELP = 'h',
    OPT_ENDPOINTS = 256,
    OPT_ENDPOINT,
    OPT_NODE,
    OPT_CA,
    OPT_CERT,
    OPT_KEY,
    OPT_OUT,
    OPT_DURATION,
    OPT_PROCESSES,
    OPT_SEED,
    OPT_SERVICES,
    OPT_DEDUP_KEYS,
    OPT_PAUSE_MS,
    OPT_TIMEOUT_MS,
    OPT_MAX_OPS,
    OPT_SAMPLE_LEADER,
    OPT_UNATTENDED,
};

static const struct option run_options[] = {
    {"help", no_argument, NULL, OPT_HELP},
    {"endpoints", required_argument, NULL, OPT_ENDPOINTS},
    {"ca", required_argument, NULL, OPT_CA},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"out", required_argument, NULL, OPT_OUT},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"processes", required_argument, NULL, OPT_PROCESSES},
    {"seed", required_argument, NULL, OPT_SEED},
    {"services", required_argument, NULL, OPT_SERVICES},
    {"dedup-keys", required_argument, NULL, OPT_DEDUP_KEYS},
    {"pause-ms", required_argument, NULL, OPT_PAUSE_MS},
    {"timeout-ms", required_argument, NULL, OPT_TIMEOUT_MS},
    {"max-ops", required_argument, NULL, OPT_MAX_OPS},
    {"sample-leader", no_argument, NULL, OPT_SAMPLE_LEADER},
    {"unattended", required_argument, NULL, OPT_UNATTENDED},
    {NULL, 0, NULL, 0},
};

static const struct option final_options[] = {
    {"help", no_argument, NULL, OPT_HELP},
    {"endpoint", required_argument, NULL, OPT_ENDPOINT},
    {"node", required_argument, NULL, OPT_NODE},
    {"ca", required_argument, NULL, OPT_CA},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"out", required_argument, NULL, OPT_OUT},
    {"timeout-ms", required_argument, NULL, OPT_TIMEOUT_MS},
    {NULL, 0, NULL, 0},
};

/* Outcome of parsing: go on, stop with success (--help), usage error. */
enum parsed { PARSE_OK, PARSE_HELP, PARSE_ERROR };

static enum parsed usage_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "%s %s: %s (see %s --help)\n", PROG, cmd, msg, PROG);
    return PARSE_ERROR;
}

/* An unknown option ('?'), one missing its value (':') or, with 0, a
 * word that is no option. */
static enum parsed getopt_error(const char *cmd, int opt, const char *arg)
{
    fprintf(stderr, "%s %s: %s: %s (see %s --help)\n", PROG, cmd, arg,
            opt == ':'   ? "missing its value"
            : opt == '?' ? "unknown option"
                         : "unexpected argument",
            PROG);
    return PARSE_ERROR;
}

/* The long name of option code `opt` in `table`. */
static const char *option_name(const struct option *table, int opt)
{
    for (; table->name != NULL; table++) {
        if (table->val == opt) {
            return table->name;
        }
    }
    return "?";
}

static enum parsed bad_number(const char *cmd,
                              const char *name,
                              const char *value,
                              uint64_t min,
                              uint64_t max)
{
    fprintf(stderr,
            "%s %s: --%s: expected a whole number in %" PRIu64 "..%" PRIu64
            ", got \"%s\" (see %s --help)\n",
            PROG, cmd, name, min, max, value, PROG);
    return PARSE_ERROR;
}

static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (s[0] < '0' || s[0] > '9') {
        return false;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

/* Parses the value of numeric option `opt` into *out. */
static enum parsed number_option(const char *cmd,
                                 const struct option *table,
                                 int opt,
                                 uint64_t min,
                                 uint64_t max,
                                 uint64_t *out)
{
    if (!parse_u64(optarg, min, max, out)) {
        return bad_number(cmd, option_name(table, opt), optarg, min, max);
    }
    return PARSE_OK;
}

static enum parsed unsigned_option(const char *cmd,
                                   const struct option *table,
                                   int opt,
                                   unsigned min,
                                   unsigned max,
                                   unsigned *out)
{
    uint64_t v;
    enum parsed p = number_option(cmd, table, opt, min, max, &v);

    if (p == PARSE_OK) {
        *out = (unsigned)v;
    }
    return p;
}

static enum parsed duration_option(double *out)
{
    char *end;

    errno = 0;
    *out = strtod(optarg, &end);
    if (errno != 0 || end == optarg || *end != '\0' || !(*out > 0) ||
        *out > 1e7) {
        fprintf(stderr,
                "%s run: --duration: expected seconds > 0, got \"%s\" (see "
                "%s --help)\n",
                PROG, optarg, PROG);
        return PARSE_ERROR;
    }
    return PARSE_OK;
}

/* Options of run that take a number. */
static enum parsed run_number(struct run_opts *o, int opt, bool *have_seed)
{
    const char *c = "run";
    const struct option *t = run_options;

    switch (opt) {
        case OPT_DURATION:
            return duration_option(&o->duration_s);
        case OPT_PROCESSES:
            return unsigned_option(c, t, opt, 1, MAX_PROCESSES, &o->processes);
        case OPT_SEED:
            *have_seed = true;
            return number_option(c, t, opt, 0, UINT64_MAX, &o->seed);
        case OPT_DEDUP_KEYS:
            return unsigned_option(c, t, opt, 1, MAX_DEDUP_KEYS,
                                   &o->dedup_keys);
        case OPT_PAUSE_MS:
            return unsigned_option(c, t, opt, 0, MAX_PAUSE_MS, &o->pause_ms);
        case OPT_TIMEOUT_MS:
            return unsigned_option(c, t, opt, 1, MAX_TIMEOUT_MS,
                                   &o->timeout_ms);
        case OPT_MAX_OPS:
            return number_option(c, t, opt, 1, UINT64_MAX, &o->max_ops);
        default:
            return usage_error(c, "unknown option");
    }
}

/* One option of run. */
static enum parsed run_option(struct run_opts *o,
                              int opt,
                              const char **services,
                              bool *have_seed)
{
    switch (opt) {
        case OPT_HELP:
            fputs(usage_text, stdout);
            return PARSE_HELP;
        case OPT_ENDPOINTS:
            o->endpoints = optarg;
            return PARSE_OK;
        case OPT_CA:
            o->ca = optarg;
            return PARSE_OK;
        case OPT_CERT:
            o->cert = optarg;
            return PARSE_OK;
        case OPT_KEY:
            o->key = optarg;
            return PARSE_OK;
        case OPT_OUT:
            o->out = optarg;
            return PARSE_OK;
        case OPT_SERVICES:
            *services = optarg;
            return PARSE_OK;
        case OPT_SAMPLE_LEADER:
            o->sample_leader = true;
            return PARSE_OK;
        case OPT_UNATTENDED:
            o->unattended = optarg;
            return strlen(optarg) > 0 && strlen(optarg) <= MAX_SERVICE_LEN
                       ? PARSE_OK
                       : usage_error("run", "--unattended: 1..128 bytes");
        default:
            return run_number(o, opt, have_seed);
    }
}

/* The first required option of run that is missing, or NULL. */
static const char *run_missing(const struct run_opts *o, bool have_seed)
{
    return o->endpoints == NULL ? "--endpoints"
           : o->ca == NULL      ? "--ca"
           : o->cert == NULL    ? "--cert"
           : o->key == NULL     ? "--key"
           : o->out == NULL     ? "--out"
           : o->duration_s == 0 ? "--duration"
           : o->processes == 0  ? "--processes"
           : !have_seed         ? "--seed"
                                : NULL;
}

static enum parsed check_services(const struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strlen(l->items[i]) > MAX_SERVICE_LEN) {
            return usage_error("run", "--services: a name is over 128 bytes");
        }
    }
    return PARSE_OK;
}

/* Required options present, lists split. */
static enum parsed run_check(struct run_opts *o,
                             const char *services,
                             bool have_seed)
{
    const char *missing = run_missing(o, have_seed);

    if (missing != NULL) {
        fprintf(stderr, "%s run: %s is required (see %s --help)\n", PROG,
                missing, PROG);
        return PARSE_ERROR;
    }
    if (strlist_split(o->endpoints, &o->endpoint_list) != 0) {
        return usage_error("run", "--endpoints: empty address in the list");
    }
    if (strlist_split(services, &o->services) != 0) {
        return usage_error("run", "--services: empty name in the list");
    }
    return check_services(&o->services);
}

static enum parsed parse_run(int argc, char **argv, struct run_opts *o)
{
    const char *services = DEFAULT_SERVICES;
    bool have_seed = false;
    int opt;

    opterr = 0;
    *o = (struct run_opts){.dedup_keys = DEFAULT_DEDUP_KEYS,
                           .pause_ms = DEFAULT_PAUSE_MS,
                           .timeout_ms = DEFAULT_TIMEOUT_MS,
                           .max_ops = DEFAULT_MAX_OPS};
    while ((opt = getopt_long(argc, argv, ":h", run_options, NULL)) != -1) {
        enum parsed p = opt == '?' || opt == ':'
                            ? getopt_error("run", opt, argv[optind - 1])
                            : run_option(o, opt, &services, &have_seed);
        if (p != PARSE_OK) {
            return p;
        }
    }
    if (optind < argc) {
        return getopt_error("run", 0, argv[optind]);
    }
    return run_check(o, services, have_seed);
}

static enum parsed final_option(struct final_opts *o, int opt)
{
    const struct option *t = final_options;

    switch (opt) {
        case OPT_HELP:
            fputs(usage_text, stdout);
            return PARSE_HELP;
        case OPT_ENDPOINT:
            o->endpoint = optarg;
            return PARSE_OK;
        case OPT_NODE:
            return number_option("final", t, opt, 1, UINT64_MAX, &o->node);
        case OPT_CA:
            o->ca = optarg;
            return PARSE_OK;
        case OPT_CERT:
            o->cert = optarg;
            return PARSE_OK;
        case OPT_KEY:
            o->key = optarg;
            return PARSE_OK;
        case OPT_OUT:
            o->out = optarg;
            return PARSE_OK;
        case OPT_TIMEOUT_MS:
            return unsigned_option("final", t, opt, 1, MAX_TIMEOUT_MS,
                                   &o->timeout_ms);
        default:
            return usage_error("final", "unknown option");
    }
}

static enum parsed parse_final(int argc, char **argv, struct final_opts *o)
{
    const char *missing;
    int opt;

    opterr = 0;
    *o = (struct final_opts){.timeout_ms = DEFAULT_TIMEOUT_MS};
    while ((opt = getopt_long(argc, argv, ":h", final_options, NULL)) != -1) {
        enum parsed p = opt == '?' || opt == ':'
                            ? getopt_error("final", opt, argv[optind - 1])
                            : final_option(o, opt);
        if (p != PARSE_OK) {
            return p;
        }
    }
    if (optind < argc) {
        return getopt_error("final", 0, argv[optind]);
    }
    missing = o->endpoint == NULL ? "--endpoint"
              : o->node == 0      ? "--node"
              : o->ca == NULL     ? "--ca"
              : o->cert == NULL   ? "--cert"
              : o->key == NULL    ? "--key"
              : o->out == NULL    ? "--out"
                                  : NULL;
    if (missing != NULL) {
        fprintf(stderr, "%s final: %s is required (see %s --help)\n", PROG,
                missing, PROG);
        return PARSE_ERROR;
    }
    return PARSE_OK;
}

/* --- clients ------------------------------------------------------------- */

struct tls_files
{
    const char *ca, *cert, *key;
};

static klaxon_client *client_new(const char *endpoints,
                                 const struct tls_files *tls,
                                 unsigned timeout_ms,
                                 unsigned connect_timeout_ms)
{
    struct klaxon_options opts = {
        .endpoints = endpoints,
        .ca_file = tls->ca,
        .cert_file = tls->cert,
        .key_file = tls->key,
        .timeout_ms = timeout_ms,
        .connect_timeout_ms = connect_timeout_ms,
    };
    char errmsg[KLAXON_ERRMSG_SIZE] = "";
    klaxon_client *c = NULL;
    int rc = klaxon_client_new(&opts, &c, errmsg);

    if (rc != KLAXON_OK) {
        fprintf(stderr, "%s: creating a client for %s: %s: %s\n", PROG,
                endpoints, klaxon_strerror(rc), errmsg);
        return NULL;
    }
    return c;
}

/* The message of the client's last failure, or the code's name. */
static const char *failure_message(const klaxon_client *c, int rc)
{
    const char *m = klaxon_errmsg(c);

    return m != NULL && m[0] != '\0' ? m : klaxon_strerror(rc);
}

/* --- incidents learnt ---------------------------------------------------- */

/* Every incident id returned by an ok trigger, shared by the workers. */
static struct
{
    pthread_mutex_t mu;
    uint64_t *ids; /* in the order learnt, for picking at random */
    size_t n, cap;
    uint64_t *slots; /* hash set of the same ids, 0 = empty slot */
    size_t n_slots;  /* a power of two, 4 * cap */
} known = {.mu = PTHREAD_MUTEX_INITIALIZER};

static size_t slot_of(uint64_t id, size_t n_slots)
{
    id ^= id >> 33;
    id *= 0xFF51AFD7ED558CCDull;
    id ^= id >> 33;
    return (size_t)id & (n_slots - 1);
}

/* Puts id into a table with room; false when it was there already. */
static bool slots_insert(uint64_t *slots, size_t n_slots, uint64_t id)
{
    size_t i = slot_of(id, n_slots);

    while (slots[i] != 0) {
        if (slots[i] == id) {
            return false;
        }
        i = (i + 1) & (n_slots - 1);
    }
    slots[i] = id;
    return true;
}

static int known_grow(void)
{
    size_t cap = known.cap != 0 ? known.cap * 2 : 256;
    uint64_t *ids = realloc(known.ids, cap * sizeof *ids);
    uint64_t *slots;

    if (ids == NULL) {
        return -1;
    }
    known.ids = ids;
    slots = calloc(cap * 4, sizeof *slots);
    if (slots == NULL) {
        return -1;
    }
    for (size_t i = 0; i < known.n; i++) {
        (void)slots_insert(slots, cap * 4, known.ids[i]);
    }
    free(known.slots);
    known.slots = slots;
    known.n_slots = cap * 4;
    known.cap = cap;
    return 0;
}

static int known_add(uint64_t id)
{
    int rv = 0;

    (void)pthread_mutex_lock(&known.mu);
    if (known.n == known.cap) {
        rv = known_grow();
    }
    if (rv == 0 && id != 0 && slots_insert(known.slots, known.n_slots, id)) {
        known.ids[known.n++] = id;
    }
    (void)pthread_mutex_unlock(&known.mu);
    return rv;
}

/* Most picks go to the latest incidents, which are likely still open, so
 * that acks, resolves and reads contend on the same ones. */
#define RECENT 16
#define RECENT_SHARE 80 /* percent */

/* A random learnt id into *id; false when none is known yet. */
static bool known_pick(uint64_t *rng, uint64_t *id)
{
    bool found;
    size_t from;

    (void)pthread_mutex_lock(&known.mu);
    found = known.n > 0;
    if (found) {
        from = known.n > RECENT && rng_below(rng, 100) < RECENT_SHARE
                   ? known.n - RECENT
                   : 0;
        *id = known.ids[from + rng_below(rng, known.n - from)];
    }
    (void)pthread_mutex_unlock(&known.mu);
    return found;
}

static void known_free(void)
{
    free(known.ids);
    free(known.slots);
    known.ids = known.slots = NULL;
    known.n = known.cap = known.n_slots = 0;
}

/* --- the run ------------------------------------------------------------- */

enum fn { F_TRIGGER, F_ACK, F_RESOLVE, F_GET, F_COUNT };
static const char *const fn_names[F_COUNT] = {"trigger", "ack", "resolve",
                                              "get"};

enum outcome { OUT_OK, OUT_FAIL, OUT_INFO, OUT_COUNT };
static const char *const outcome_names[OUT_COUNT] = {"ok", "fail", "info"};

/* Why the run stopped starting operations. */
enum stop_reason {
    STOP_NONE,
    STOP_DURATION,
    STOP_MAX_OPS,
    STOP_SIGINT,
    STOP_SIGTERM,
    STOP_ERROR,
};
static const char *const stop_names[] = {"",       "duration", "max-ops",
                                         "SIGINT", "SIGTERM",  "error"};

static struct
{
    const struct run_opts *o;
    atomic_int stop; /* an enum stop_reason, STOP_NONE while running */
    atomic_uint_fast64_t next_id;
    atomic_uint_fast64_t counts[F_COUNT][OUT_COUNT];
} run;

static void request_stop(enum stop_reason why)
{
    int none = STOP_NONE;

    (void)atomic_compare_exchange_strong(&run.stop, &none, (int)why);
}

static bool stopping(void)
{
    return atomic_load(&run.stop) != STOP_NONE || atomic_load(&hist.failed);
}

/* The id of the next operation; 0 (and the run stops) past --max-ops. */
static uint64_t next_op_id(void)
{
    uint64_t id = atomic_fetch_add(&run.next_id, 1) + 1;

    if (id > run.o->max_ops) {
        request_stop(STOP_MAX_OPS);
        return 0;
    }
    return id;
}

/* One operation of a worker. */
struct op
{
    enum fn f;
    uint64_t id;
    unsigned process;
    uint64_t incident;   /* ack, resolve, get */
    const char *service; /* trigger */
    char dedup[24];      /* trigger */
    bool unattended;     /* trigger: never acknowledged or resolved */
};

struct worker
{
    unsigned process;
    klaxon_client *client;
    uint64_t rng;
    char by[24];
    pthread_t thread;
};

static json_t *op_line(const struct op *op, const char *type)
{
    json_t *l = line_new(type);

    line_merge(&l,
               json_pack("{s:I, s:i, s:s}", "id", (json_int_t)op->id, "process",
                         (int)op->process, "f", fn_names[op->f]));
    return l;
}

static void write_invoke(const struct op *op)
{
    json_t *l = op_line(op, "invoke");

    if (op->f == F_TRIGGER) {
        line_merge(&l, json_pack("{s:s, s:s, s:i}", "service", op->service,
                                 "dedup", op->dedup, "severity", SEVERITY));
    } else {
        line_merge(&l,
                   json_pack("{s:I}", "incident", (json_int_t)op->incident));
    }
    history_write(l);
}

/* The completion line: `result` (stolen) holds the fields of an ok. */
static void write_completion(const struct op *op,
                             int rc,
                             const klaxon_client *c,
                             json_t *result)
{
    const struct code_name *cn = code_lookup(rc);
    enum outcome r = rc == KLAXON_OK              ? OUT_OK
                     : cn != NULL && cn->definite ? OUT_FAIL
                                                  : OUT_INFO;
    json_t *l = op_line(op, outcome_names[r]);

    if (op->f != F_TRIGGER) {
        line_merge(&l,
                   json_pack("{s:I}", "incident", (json_int_t)op->incident));
    }
    if (r == OUT_OK) {
        line_merge(&l, result);
    } else {
        json_decref(result);
        line_merge(&l, json_pack("{s:s, s:s}", "error",
                                 cn != NULL ? cn->name : "unknown", "message",
                                 failure_message(c, rc)));
    }
    atomic_fetch_add(&run.counts[op->f][r], 1);
    history_write(l);
}

static json_t *status_result(enum klaxon_status status)
{
    return json_pack("{s:s}", "status", klaxon_status_name(status));
}

static int do_trigger(struct worker *w, const struct op *op, json_t **result)
{
    char summary[32];
    struct klaxon_trigger t = {.service = op->service,
                               .severity = SEVERITY,
                               .summary = summary,
                               .dedup_key = op->dedup};
    struct klaxon_result res;
    int rc;

    (void)snprintf(summary, sizeof summary, "chaos %" PRIu64, op->id);
    rc = klaxon_trigger(w->client, &t, &res);
    if (rc == KLAXON_OK) {
        if (!op->unattended && known_add(res.incident_id) != 0) {
            fprintf(stderr, "%s: out of memory learning incidents\n", PROG);
            request_stop(STOP_ERROR);
        }
        *result = json_pack("{s:I, s:b, s:s}", "incident",
                            (json_int_t)res.incident_id, "deduplicated",
                            (int)res.deduplicated, "status",
                            klaxon_status_name(res.status));
    }
    return rc;
}

typedef int (*write_fn)(klaxon_client *c,
                        uint64_t incident_id,
                        const char *by,
                        struct klaxon_result *out);

static int do_write(struct worker *w,
                    const struct op *op,
                    write_fn fn,
                    json_t **result)
{
    struct klaxon_result res;
    int rc = fn(w->client, op->incident, w->by, &res);

    if (rc == KLAXON_OK) {
        *result = status_result(res.status);
    }
    return rc;
}

static int do_get(struct worker *w, const struct op *op, json_t **result)
{
    struct klaxon_incident *inc = NULL;
    int rc =
        klaxon_get(w->client, op->incident, KLAXON_READ_LINEARIZABLE, &inc);

    if (rc == KLAXON_OK) {
        *result = status_result(inc->status);
    }
    klaxon_incident_free(inc);
    return rc;
}

/* Picks the operation and its arguments from the worker's random stream. */
static void choose_op(struct worker *w, struct op *op)
{
    uint64_t r = rng_below(&w->rng, 100);

    op->f = r < PCT_TRIGGER                           ? F_TRIGGER
            : r < PCT_TRIGGER + PCT_ACK               ? F_ACK
            : r < PCT_TRIGGER + PCT_ACK + PCT_RESOLVE ? F_RESOLVE
                                                      : F_GET;
    if (op->f != F_TRIGGER && !known_pick(&w->rng, &op->incident)) {
        op->f = F_TRIGGER;
    }
    if (op->f == F_TRIGGER && run.o->unattended != NULL &&
        rng_below(&w->rng, 100) < PCT_UNATTENDED) {
        op->unattended = true;
        op->service = run.o->unattended;
        (void)snprintf(op->dedup, sizeof op->dedup, "u%" PRIu64, op->id);
    } else if (op->f == F_TRIGGER) {
        const struct strlist *s = &run.o->services;
        op->service = s->items[rng_below(&w->rng, s->n)];
        (void)snprintf(op->dedup, sizeof op->dedup, "k%" PRIu64,
                       rng_below(&w->rng, run.o->dedup_keys));
    }
}

static void run_op(struct worker *w, uint64_t id)
{
    struct op op = {.id = id, .process = w->process};
    json_t *result = NULL;
    int rc;

    choose_op(w, &op);
    write_invoke(&op);
    switch (op.f) {
        case F_TRIGGER:
            rc = do_trigger(w, &op, &result);
            break;
        case F_ACK:
            rc = do_write(w, &op, klaxon_ack, &result);
            break;
        case F_RESOLVE:
            rc = do_write(w, &op, klaxon_resolve, &result);
            break;
        default:
            rc = do_get(w, &op, &result);
            break;
    }
    write_completion(&op, rc, w->client, result);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    while (!stopping()) {
        uint64_t id = next_op_id();
        if (id == 0) {
            break;
        }
        run_op(w, id);
        if (run.o->pause_ms > 0 && !stopping()) {
            sleep_ms(rng_below(&w->rng, (uint64_t)run.o->pause_ms + 1));
        }
    }
    return NULL;
}

/* --- leader sampler ------------------------------------------------------ */

struct sampler
{
    const struct strlist *endpoints;
    klaxon_client **clients; /* one per endpoint, to keep its connection */
    pthread_t thread;
};

/* The node that says it is the ready leader (the higher term if several
 * do), or 0. */
static uint64_t ready_leader(const struct sampler *s)
{
    uint64_t leader = 0, term = 0;

    for (size_t i = 0; i < s->endpoints->n; i++) {
        struct klaxon_node_status *st = NULL;
        int rc = klaxon_node_status(s->clients[i], s->endpoints->items[i], &st);
        if (rc == KLAXON_OK && st->ready && strcmp(st->role, "leader") == 0 &&
            (leader == 0 || st->term > term)) {
            leader = st->id;
            term = st->term;
        }
        klaxon_node_status_free(st);
    }
    return leader;
}

/* Sleeps until monotonic time `at` or until the run stops. */
static void sleep_until(uint64_t at)
{
    uint64_t now;

    while (!stopping() && (now = mono_ms()) < at) {
        uint64_t left = at - now;
        sleep_ms(left < WAIT_SLICE_MS ? left : WAIT_SLICE_MS);
    }
}

static void *sampler_main(void *arg)
{
    const struct sampler *s = arg;
    uint64_t next = mono_ms();

    while (!stopping()) {
        json_t *l = line_new("leader");
        uint64_t leader = ready_leader(s);
        uint64_t now = mono_ms();

        if (!stopping()) {
            line_merge(&l, json_pack("{s:I}", "leader", (json_int_t)leader));
            history_write(l);
        } else {
            json_decref(l);
        }
        /* A round slower than the period skips the ticks it overran. */
        next += SAMPLE_MS;
        if (next < now) {
            next = now;
        }
        sleep_until(next);
    }
    return NULL;
}

static void sampler_free(struct sampler *s)
{
    for (size_t i = 0; s->clients != NULL && i < s->endpoints->n; i++) {
        klaxon_client_free(s->clients[i]);
    }
    free(s->clients);
    s->clients = NULL;
}

static int sampler_init(struct sampler *s,
                        const struct run_opts *o,
                        const struct tls_files *tls)
{
    s->endpoints = &o->endpoint_list;
    s->clients = calloc(s->endpoints->n, sizeof *s->clients);
    if (s->clients == NULL) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        return -1;
    }
    for (size_t i = 0; i < s->endpoints->n; i++) {
        s->clients[i] = client_new(s->endpoints->items[i], tls,
                                   SAMPLE_TIMEOUT_MS, SAMPLE_CONNECT_MS);
        if (s->clients[i] == NULL) {
            sampler_free(s);
            return -1;
        }
    }
    return 0;
}

/* --- running the run ----------------------------------------------------- */

static void workers_free(struct worker *w, unsigned n)
{
    for (unsigned i = 0; w != NULL && i < n; i++) {
        klaxon_client_free(w[i].client);
    }
    free(w);
}

/* Workers with their clients and random streams; NULL on failure. */
static struct worker *workers_new(const struct run_opts *o,
                                  const struct tls_files *tls)
{
    struct worker *w = calloc(o->processes, sizeof *w);

    if (w == NULL) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        return NULL;
    }
    for (unsigned i = 0; i < o->processes; i++) {
        w[i].process = i;
        w[i].rng = o->seed ^ (0xD1B54A32D192ED03ull * (i + 1));
        (void)rng_next(&w[i].rng);
        (void)snprintf(w[i].by, sizeof w[i].by, "w%u", i);
        w[i].client = client_new(o->endpoints, tls, o->timeout_ms, 0);
        if (w[i].client == NULL) {
            workers_free(w, o->processes);
            return NULL;
        }
    }
    return w;
}

/* Starts the threads; returns how many workers run (all, or fewer after a
 * failure, which stops the run). */
static unsigned start_threads(struct worker *w,
                              unsigned n,
                              struct sampler *s,
                              bool *sampler_started)
{
    unsigned started = 0;
    int err = 0;

    *sampler_started = false;
    if (s != NULL) {
        err = pthread_create(&s->thread, NULL, sampler_main, s);
        *sampler_started = err == 0;
    }
    for (; err == 0 && started < n; started++) {
        err =
            pthread_create(&w[started].thread, NULL, worker_main, &w[started]);
        if (err != 0) {
            break;
        }
    }
    if (err != 0) {
        fprintf(stderr, "%s: starting a thread: %s\n", PROG, strerror(err));
        request_stop(STOP_ERROR);
    }
    return started;
}

/* Waits until the duration has passed, a signal came or the run stopped. */
static void wait_for_end(double duration_s, const sigset_t *signals)
{
    uint64_t deadline = mono_ms() + (uint64_t)(duration_s * 1000.0);
    uint64_t now;

    while (!stopping() && (now = mono_ms()) < deadline) {
        uint64_t left = deadline - now;
        uint64_t slice = left < WAIT_SLICE_MS ? left : WAIT_SLICE_MS;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)slice * 1000000L};
        int sig = sigtimedwait(signals, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM) {
            request_stop(sig == SIGINT ? STOP_SIGINT : STOP_SIGTERM);
        }
    }
    if (atomic_load(&hist.failed)) {
        request_stop(STOP_ERROR);
    }
    request_stop(STOP_DURATION);
}

static void print_summary(double elapsed_s)
{
    uint64_t by_outcome[OUT_COUNT] = {0}, total = 0;

    for (int f = 0; f < F_COUNT; f++) {
        for (int r = 0; r < OUT_COUNT; r++) {
            by_outcome[r] += atomic_load(&run.counts[f][r]);
        }
    }
    for (int r = 0; r < OUT_COUNT; r++) {
        total += by_outcome[r];
    }
    fprintf(stderr,
            "%s: %" PRIu64 " operations in %.1f s (stopped: %s): %" PRIu64
            " ok, %" PRIu64 " fail, %" PRIu64 " info;",
            PROG, total, elapsed_s, stop_names[atomic_load(&run.stop)],
            by_outcome[OUT_OK], by_outcome[OUT_FAIL], by_outcome[OUT_INFO]);
    for (int f = 0; f < F_COUNT; f++) {
        fprintf(stderr, " %s %" PRIu64 "/%" PRIu64 "/%" PRIu64, fn_names[f],
                (uint64_t)atomic_load(&run.counts[f][OUT_OK]),
                (uint64_t)atomic_load(&run.counts[f][OUT_FAIL]),
                (uint64_t)atomic_load(&run.counts[f][OUT_INFO]));
    }
    fprintf(stderr, " (ok/fail/info)\n");
}

/* Runs the threads from start to the workload-end line. */
static void run_threads(const struct run_opts *o,
                        struct worker *w,
                        struct sampler *s)
{
    uint64_t start = mono_ms();
    sigset_t signals;
    bool sampler_started;
    unsigned started;

    (void)sigemptyset(&signals);
    (void)sigaddset(&signals, SIGINT);
    (void)sigaddset(&signals, SIGTERM);
    /* The threads inherit the mask: only sigtimedwait() takes them. */
    (void)pthread_sigmask(SIG_BLOCK, &signals, NULL);
    started = start_threads(w, o->processes, s, &sampler_started);
    wait_for_end(o->duration_s, &signals);
    for (unsigned i = 0; i < started; i++) {
        (void)pthread_join(w[i].thread, NULL);
    }
    if (sampler_started) {
        (void)pthread_join(s->thread, NULL);
    }
    history_write(line_new("workload-end"));
    print_summary((double)(mono_ms() - start) / 1000.0);
}

static int run_main(int argc, char **argv)
{
    struct run_opts o;
    struct sampler s = {0};
    struct worker *w = NULL;
    struct tls_files tls;
    enum parsed p = parse_run(argc, argv, &o);
    int rv = EXIT_FAIL;

    if (p != PARSE_OK) {
        strlist_free(&o.services);
        strlist_free(&o.endpoint_list);
        return p == PARSE_HELP ? EXIT_OK : EXIT_USAGE;
    }
    run.o = &o;
    tls = (struct tls_files){o.ca, o.cert, o.key};
    if ((w = workers_new(&o, &tls)) != NULL &&
        (!o.sample_leader || sampler_init(&s, &o, &tls) == 0) &&
        history_open(o.out) == 0) {
        run_threads(&o, w, o.sample_leader ? &s : NULL);
        rv = atomic_load(&hist.failed) || atomic_load(&run.stop) == STOP_ERROR
                 ? EXIT_FAIL
                 : EXIT_OK;
    }
    if (history_close() != 0) {
        rv = EXIT_FAIL;
    }
    sampler_free(&s);
    workers_free(w, o.processes);
    known_free();
    strlist_free(&o.services);
    strlist_free(&o.endpoint_list);
    return rv;
}

/* --- final --------------------------------------------------------------- */

/* An incident of the final line with its id, for sorting. */
struct item
{
    uint64_t id;
    json_t *json;
};

struct items
{
    struct item *v;
    size_t n, cap;
};

static void items_free(struct items *it)
{
    for (size_t i = 0; i < it->n; i++) {
        json_decref(it->v[i].json);
    }
    free(it->v);
    *it = (struct items){0};
}

static int items_push(struct items *it, uint64_t id, json_t *json)
{
    if (json == NULL) {
        return -1;
    }
    if (it->n == it->cap) {
        size_t cap = it->cap != 0 ? it->cap * 2 : 1024;
        struct item *v = realloc(it->v, cap * sizeof *v);
        if (v == NULL) {
            json_decref(json);
            return -1;
        }
        it->v = v;
        it->cap = cap;
    }
    it->v[it->n++] = (struct item){id, json};
    return 0;
}

static int item_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct item *)a)->id;
    uint64_t y = ((const struct item *)b)->id;

    return (x > y) - (x < y);
}

static const char *str_or_empty(const char *s)
{
    return s != NULL ? s : "";
}

static json_t *incident_json(const struct klaxon_incident *i)
{
    return json_pack(
        "{s:I, s:s, s:s, s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:b}", "id",
        (json_int_t)i->id, "service", str_or_empty(i->service), "dedup_key",
        str_or_empty(i->dedup_key), "status", klaxon_status_name(i->status),
        "created_ms", (json_int_t)i->created_ms, "acknowledged_ms",
        (json_int_t)i->acknowledged_ms, "acknowledged_by",
        str_or_empty(i->acknowledged_by), "resolved_ms",
        (json_int_t)i->resolved_ms, "alert_count", (json_int_t)i->alert_count,
        "escalation_level", (json_int_t)i->escalation_level, "escalation_loop",
        (json_int_t)i->escalation_loop, "unanswered", (int)i->unanswered);
}

/* Adds one page of incidents; *before is the lowest id seen. */
static int add_page(struct items *it,
                    const struct klaxon_incident_list *page,
                    uint64_t *before)
{
    for (size_t k = 0; k < page->n; k++) {
        const struct klaxon_incident *i = &page->items[k];
        if (items_push(it, i->id, incident_json(i)) != 0) {
            fprintf(stderr, "%s final: out of memory\n", PROG);
            return -1;
        }
        if (*before == 0 || i->id < *before) {
            *before = i->id;
        }
    }
    return 0;
}

/* Every incident of the node, newest first, page by page. */
static int read_incidents(klaxon_client *c, struct items *it)
{
    struct klaxon_list_query q = {.filter = KLAXON_FILTER_ANY,
                                  .limit = LIST_LIMIT};
    bool more = true;

    while (more) {
        struct klaxon_incident_list *page = NULL;
        uint64_t before = q.before_id;
        int rc = klaxon_list(c, &q, KLAXON_READ_STALE, &page);
        if (rc != KLAXON_OK) {
            fprintf(stderr, "%s final: listing incidents: %s: %s\n", PROG,
                    klaxon_strerror(rc), failure_message(c, rc));
            return -1;
        }
        rc = add_page(it, page, &q.before_id);
        more = page->more && page->n > 0;
        klaxon_incident_list_free(page);
        if (rc == 0 && more && q.before_id == before) {
            fprintf(stderr, "%s final: the node lists the same page again\n",
                    PROG);
            rc = -1;
        }
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

/* The node's applied index, after checking it is node `node`. */
static int applied_index(klaxon_client *c,
                         const struct final_opts *o,
                         uint64_t *applied)
{
    struct klaxon_node_status *st = NULL;
    int rc = klaxon_node_status(c, o->endpoint, &st);

    if (rc != KLAXON_OK) {
        fprintf(stderr, "%s final: status of %s: %s: %s\n", PROG, o->endpoint,
                klaxon_strerror(rc), failure_message(c, rc));
        return -1;
    }
    if (st->id != o->node) {
        fprintf(stderr, "%s final: %s is node %" PRIu64 ", not %" PRIu64 "\n",
                PROG, o->endpoint, st->id, o->node);
        klaxon_node_status_free(st);
        return -1;
    }
    *applied = st->applied_index;
    klaxon_node_status_free(st);
    return 0;
}

/* Incidents read while the applied index stood still (or the last try). */
static int read_snapshot(klaxon_client *c,
                         const struct final_opts *o,
                         struct items *it,
                         uint64_t *applied)
{
    for (int attempt = 1; attempt <= FINAL_ATTEMPTS; attempt++) {
        uint64_t before;
        items_free(it);
        if (applied_index(c, o, &before) != 0 || read_incidents(c, it) != 0 ||
            applied_index(c, o, applied) != 0) {
            return -1;
        }
        if (before == *applied) {
            return 0;
        }
    }
    fprintf(stderr,
            "%s final: node %" PRIu64
            " kept applying entries while read; "
            "its incidents may be newer than applied index %" PRIu64 "\n",
            PROG, o->node, *applied);
    return 0;
}

static json_t *final_line(const struct final_opts *o,
                          struct items *it,
                          uint64_t applied)
{
    json_t *incidents = json_array();
    json_t *l = line_new("final");

    if (it->n > 1) {
        qsort(it->v, it->n, sizeof *it->v, item_cmp);
    }
    for (size_t i = 0; incidents != NULL && i < it->n; i++) {
        if (json_array_append(incidents, it->v[i].json) != 0) {
            json_decref(incidents);
            incidents = NULL;
        }
    }
    line_merge(&l, json_pack("{s:I, s:I, s:o}", "node", (json_int_t)o->node,
                             "applied_index", (json_int_t)applied, "incidents",
                             incidents));
    return l;
}

static int final_main(int argc, char **argv)
{
    struct final_opts o;
    struct tls_files tls;
    struct items it = {0};
    klaxon_client *c = NULL;
    uint64_t applied = 0;
    enum parsed p = parse_final(argc, argv, &o);
    int rv = EXIT_FAIL;

    if (p != PARSE_OK) {
        return p == PARSE_HELP ? EXIT_OK : EXIT_USAGE;
    }
    tls = (struct tls_files){o.ca, o.cert, o.key};
    c = client_new(o.endpoint, &tls, o.timeout_ms, 0);
    if (c != NULL && read_snapshot(c, &o, &it, &applied) == 0 &&
        history_open(o.out) == 0) {
        history_write(final_line(&o, &it, applied));
        rv = atomic_load(&hist.failed) ? EXIT_FAIL : EXIT_OK;
    }
    if (history_close() != 0) {
        rv = EXIT_FAIL;
    }
    items_free(&it);
    klaxon_client_free(c);
    return rv;
}

/* --- main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";

    /* A history on a pipe whose reader is gone fails the write instead. */
    (void)signal(SIGPIPE, SIG_IGN);
    if (strcmp(cmd, "run") == 0) {
        return run_main(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "final") == 0) {
        return final_main(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
        strcmp(cmd, "help") == 0) {
        fputs(usage_text, stdout);
        return EXIT_OK;
    }
    fprintf(stderr, "%s: %s%s%s (expected run or final; see %s --help)\n", PROG,
            cmd[0] != '\0' ? "unknown command \"" : "missing command", cmd,
            cmd[0] != '\0' ? "\"" : "", PROG);
    return EXIT_USAGE;
}
