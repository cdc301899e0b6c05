/*
 * etcd-bench: etcd v3 puts through etcd's JSON gateway (POST /v3/kv/put)
 * over mutual TLS, at one or more numbers of requests in flight, the way
 * klaxon's bench measures klaxon writes, so that the two can be compared
 * (bench/README-etcd.md).
 *
 * A level of N in flight is N threads, each with its own libcurl easy
 * handle, each sending one put, waiting for the answer and sending the
 * next (a closed loop). Each worker sends its puts to the endpoints in
 * turn (worker i starts at endpoint i mod E), over one keep-alive HTTP/1.1
 * connection per endpoint that its handle keeps: with the three members
 * given, two puts in three go to a follower, which forwards them to the
 * leader inside etcd, whatever member won the election and at every level,
 * 1 in flight included. Give only the leader's URL to load the leader
 * alone.
 *
 * Each level starts unmeasured: first every worker sends one put to every
 * endpoint and waits for the others, so that all connections and TLS
 * handshakes are made before the load starts (768 of them at 256 in
 * flight and three endpoints; done under load, the last ones would take
 * many seconds); then all of them run for --warmup seconds. Then the
 * measured window opens. The puts measured are those
 * that start in the window, each counted and timed when it finishes, even
 * after the window has closed (the workers start no more puts then, and
 * finish the one in flight): so no slow put escapes the latencies by
 * outlasting the window, and in a steady state as many puts started in
 * the window as finished in it, so puts/s is their number over the
 * window's length. Each thread keeps its own latency histogram (hdr.h);
 * they are merged at the end.
 */
#include <errno.h>
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
#include <unistd.h>

#include <curl/curl.h>

#include "hdr.h"

#define PROG "etcd-bench"
#define MAX_LEVELS 16
#define MAX_CONCURRENCY 1024
#define MAX_ENDPOINTS 16
#define MAX_VALUE_BYTES (1024 * 1024) /* etcd takes requests up to 1.5 MiB */
#define MAX_SECONDS 3600.0
#define RESPONSE_CAP 2048 /* answer bytes kept, for checking and errors */
#define KEY_MAX 96
#define ERROR_PAUSE_NS 10000000ull /* after a failed put: no busy loop */
#define CONNECT_LIMIT_S 60 /* for every worker to have its connections */
#define NS_PER_S 1000000000ull
#define B64_LEN(n) (4 * (((n) + 2) / 3))
#define DEFAULT_ENDPOINTS                              \
    "https://127.0.0.1:23790,https://127.0.0.1:23791," \
    "https://127.0.0.1:23792"
#define DEFAULT_LEVELS "1,16,64,256"

struct options
{
    char *put_urls[MAX_ENDPOINTS]; /* owned: ENDPOINT/v3/kv/put */
    size_t n_endpoints;
    const char *cacert;
    const char *cert;
    const char *key;
    unsigned levels[MAX_LEVELS];
    size_t n_levels;
    double seconds;
    double warmup;
    uint64_t count; /* measured puts per level; 0: no bound but time */
    size_t value_bytes;
    long timeout_ms;
    bool json;
};

/* What the workers of one level share; the atomics change while they
 * run. */
struct level
{
    const struct options *opt;
    unsigned concurrency;
    const char *value_b64;
    char prefix[64];
    atomic_uint_fast64_t measure_from;  /* CLOCK_MONOTONIC ns; 0: warm-up */
    atomic_uint_fast64_t measure_until; /* set before measure_from */
    atomic_uint_fast64_t tickets;       /* measured puts started, for --count */
    atomic_bool error_shown;            /* one error message per level */
    atomic_bool stop;                   /* set when the level is abandoned */
    pthread_mutex_t mu;                 /* guards connected and go */
    pthread_cond_t all_connected;       /* CLOCK_MONOTONIC, main waits */
    pthread_cond_t go_cond;             /* the workers wait */
    unsigned connected;                 /* workers that put to every endpoint */
    bool go;                            /* the load may start */
};

struct worker
{
    pthread_t thread;
    unsigned id;
    struct level *lv;
    CURL *curl;
    struct curl_slist *headers;
    const char *url; /* of the last put */
    size_t next_endpoint;
    char *body;
    size_t body_cap;
    char response[RESPONSE_CAP];
    size_t response_len;
    char errbuf[CURL_ERROR_SIZE];
    uint64_t seq;
    uint64_t ops;
    uint64_t errors;
    uint64_t last_done; /* when the last measured put finished */
    struct hdr hist;
};

struct result
{
    unsigned concurrency;
    unsigned connected; /* workers with all connections when load began */
    double connect_s;
    uint64_t ops;
    uint64_t errors;
    double seconds;
    double ops_per_s;
    uint64_t p50;
    uint64_t p99;
    uint64_t p999;
    uint64_t max;
};

/* --- small helpers ------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;

    /* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer. */
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / NS_PER_S),
                          .tv_nsec = (long)(ns % NS_PER_S)};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Standard base64 with padding, NUL-terminated; out holds B64_LEN(n) + 1. */
static void b64_encode(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i = 0;

    for (; i + 2 < n; i += 3) {
        uint32_t v =
            (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

        *out++ = tab[v >> 18];
        *out++ = tab[(v >> 12) & 63];
        *out++ = tab[(v >> 6) & 63];
        *out++ = tab[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16;

        if (i + 1 < n) {
            v |= (uint32_t)in[i + 1] << 8;
        }
        *out++ = tab[v >> 18];
        *out++ = tab[(v >> 12) & 63];
        *out++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        *out++ = '=';
    }
    *out = '\0';
}

/* The value every put writes: bytes bytes of pseudo-random data, base64.
 * Returns NULL when out of memory. */
static char *make_value_b64(size_t bytes)
{
    unsigned char *raw = malloc(bytes + 1);
    char *b64 = malloc(B64_LEN(bytes) + 1);
    uint32_t x = 2463534242u;

    if (raw == NULL || b64 == NULL) {
        free(raw);
        free(b64);
        return NULL;
    }
    for (size_t i = 0; i < bytes; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        raw[i] = (unsigned char)x;
    }
    b64_encode(raw, bytes, b64);
    free(raw);
    return b64;
}

/* --- options ------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG
            " --cacert FILE --cert FILE --key FILE [options]\n"
            "\n"
            "Puts into an etcd v3 cluster through its JSON gateway\n"
            "(POST /v3/kv/put) over mutual TLS, at each number of requests\n"
            "in flight, and reports puts/s and latency percentiles.\n"
            "\n"
            "  --endpoints URL,...  members to send to, in turn by every\n"
            "                       worker (default " DEFAULT_ENDPOINTS
            ")\n"
            "  --cacert FILE        CA certificate of the members (PEM)\n"
            "  --cert FILE          client certificate (PEM)\n"
            "  --key FILE           its private key (PEM)\n"
            "  --levels N,...       requests in flight, one level after the\n"
            "                       other (default " DEFAULT_LEVELS
            ")\n"
            "  --concurrency N      a single level of N in flight (1..%d)\n"
            "  --seconds S          measured time per level (default 10)\n"
            "  --count N            stop a level after N measured puts\n"
            "                       (or at --seconds, whichever comes first)\n"
            "  --warmup S           unmeasured time before each level\n"
            "                       (default 1)\n"
            "  --value-bytes B      bytes per value (default 200)\n"
            "  --timeout S          per-put timeout (default 30)\n"
            "  --json               one JSON object per level on stdout;\n"
            "                       the table then goes to stderr\n"
            "  -h, --help           this text\n"
            "\n"
            "Exit status: 0 when every level completed puts, 1 when one\n"
            "completed none or could not run, 2 on a usage error.\n",
            MAX_CONCURRENCY);
}

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (s[0] < '0' || s[0] > '9') {
        return -1;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi) {
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_seconds(const char *s, double lo, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= lo) ||
        v > MAX_SECONDS) {
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_levels(const char *s, struct options *o)
{
    char buf[256];
    char *save = NULL;
    uint64_t v;

    if (strlen(s) >= sizeof buf) {
        return -1;
    }
    strcpy(buf, s);
    o->n_levels = 0;
    for (char *t = strtok_r(buf, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save)) {
        if (o->n_levels == MAX_LEVELS ||
            parse_u64(t, 1, MAX_CONCURRENCY, &v) != 0) {
            return -1;
        }
        o->levels[o->n_levels++] = (unsigned)v;
    }
    return o->n_levels > 0 ? 0 : -1;
}

static void free_endpoints(struct options *o)
{
    for (size_t i = 0; i < o->n_endpoints; i++) {
        free(o->put_urls[i]);
    }
    o->n_endpoints = 0;
}

/* One endpoint URL (a trailing '/' dropped) into o->put_urls. */
static int add_endpoint(struct options *o, const char *url)
{
    int n = (int)strlen(url);

    if (o->n_endpoints == MAX_ENDPOINTS ||
        (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)) {
        return -1;
    }
    while (n > 0 && url[n - 1] == '/') {
        n--;
    }
    if (asprintf(&o->put_urls[o->n_endpoints], "%.*s/v3/kv/put", n, url) < 0) {
        return -1;
    }
    o->n_endpoints++;
    return 0;
}

/* The comma-separated endpoint list, in place of any earlier one. */
static int parse_endpoints(const char *s, struct options *o)
{
    char *list = strdup(s);
    char *save = NULL;
    int rc = 0;

    free_endpoints(o);
    if (list == NULL) {
        return -1;
    }
    for (char *t = strtok_r(list, ",", &save); t != NULL && rc == 0;
         t = strtok_r(NULL, ",", &save)) {
        rc = add_endpoint(o, t);
    }
    free(list);
    return rc == 0 && o->n_endpoints > 0 ? 0 : -1;
}

enum {
    OPT_ENDPOINTS = 256,
    OPT_CACERT,
    OPT_CERT,
    OPT_KEY,
    OPT_LEVELS,
    OPT_CONCURRENCY,
    OPT_SECONDS,
    OPT_COUNT,
    OPT_WARMUP,
    OPT_VALUE_BYTES,
    OPT_TIMEOUT,
    OPT_JSON,
};

static const struct option long_options[] = {
    {"endpoints", required_argument, NULL, OPT_ENDPOINTS},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"levels", required_argument, NULL, OPT_LEVELS},
    {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
    {"seconds", required_argument, NULL, OPT_SECONDS},
    {"count", required_argument, NULL, OPT_COUNT},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"value-bytes", required_argument, NULL, OPT_VALUE_BYTES},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* One option; returns 0, or -1 when its value is bad. */
static int apply_option(struct options *o, int c, const char *arg)
{
    uint64_t v;
    double s;

    switch (c) {
        case OPT_ENDPOINTS:
            return parse_endpoints(arg, o);
        case OPT_CACERT:
            o->cacert = arg;
            return 0;
        case OPT_CERT:
            o->cert = arg;
            return 0;
        case OPT_KEY:
            o->key = arg;
            return 0;
        case OPT_LEVELS:
        case OPT_CONCURRENCY:
            return parse_levels(arg, o);
        case OPT_SECONDS:
            return parse_seconds(arg, 0.001, &o->seconds);
        case OPT_COUNT:
            return parse_u64(arg, 1, UINT64_MAX / 2, &o->count);
        case OPT_WARMUP:
            return parse_seconds(arg, 0.0, &o->warmup);
        case OPT_VALUE_BYTES:
            if (parse_u64(arg, 0, MAX_VALUE_BYTES, &v) != 0) {
                return -1;
            }
            o->value_bytes = (size_t)v;
            return 0;
        case OPT_TIMEOUT:
            if (parse_seconds(arg, 0.001, &s) != 0) {
                return -1;
            }
            o->timeout_ms = (long)(s * 1000.0);
            return 0;
        case OPT_JSON:
            o->json = true;
            return 0;
        default:
            return -1;
    }
}

static const char *option_name(int c)
{
    for (const struct option *l = long_options; l->name != NULL; l++) {
        if (l->val == c) {
            return l->name;
        }
    }
    return "?";
}

/* Fills o; returns 0, 1 after --help, or 2 on a usage error (said). The
 * caller calls free_endpoints(o) in every case. */
static int parse_options(int argc, char **argv, struct options *o)
{
    int c;
    bool levels_given = false;
    bool concurrency_given = false;

    memset(o, 0, sizeof *o);
    o->seconds = 10.0;
    o->warmup = 1.0;
    o->value_bytes = 200;
    o->timeout_ms = 30000;
    if (parse_endpoints(DEFAULT_ENDPOINTS, o) != 0 ||
        parse_levels(DEFAULT_LEVELS, o) != 0) {
        fprintf(stderr, PROG ": out of memory\n");
        return 2;
    }
    while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 1;
        }
        if (c == '?') {
            fprintf(stderr, "run '" PROG " --help' for usage\n");
            return 2;
        }
        levels_given |= c == OPT_LEVELS;
        concurrency_given |= c == OPT_CONCURRENCY;
        if (c == OPT_CONCURRENCY && strchr(optarg, ',') != NULL) {
            fprintf(stderr, PROG ": --concurrency takes one number\n");
            return 2;
        }
        if (apply_option(o, c, optarg) != 0) {
            fprintf(stderr, PROG ": bad value '%s' for --%s\n", optarg,
                    option_name(c));
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (levels_given && concurrency_given) {
        fprintf(stderr, PROG ": give --levels or --concurrency, not both\n");
        return 2;
    }
    if (o->cacert == NULL || o->cert == NULL || o->key == NULL) {
        fprintf(stderr, PROG
                ": --cacert, --cert and --key are required "
                "(etcd runs with --client-cert-auth)\n");
        return 2;
    }
    return 0;
}

/* --- one worker ---------------------------------------------------------- */

static size_t read_response(char *ptr, size_t size, size_t nmemb, void *data)
{
    struct worker *w = data;
    size_t n = size * nmemb;
    size_t room = sizeof w->response - 1 - w->response_len;
    size_t take = n < room ? n : room;

    memcpy(w->response + w->response_len, ptr, take);
    w->response_len += take;
    w->response[w->response_len] = '\0';
    return n; /* read the rest and drop it: keeps the connection usable */
}

static int add_headers(struct worker *w)
{
    static const char *const fixed[] = {
        "Content-Type: application/json",
        "Expect:", /* no 100-continue round trip on larger values */
    };
    struct curl_slist *l;

    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        l = curl_slist_append(w->headers, fixed[i]);
        if (l == NULL) {
            return -1;
        }
        w->headers = l;
    }
    return 0;
}

static int set_curl_options(struct worker *w)
{
    const struct options *o = w->lv->opt;
    CURL *e = w->curl;

    if (curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1) !=
            CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_MAXCONNECTS, (long)o->n_endpoints) !=
            CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, w->errbuf) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, read_response) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEDATA, w) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, w->headers) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, w->body) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_CAINFO, o->cacert) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_SSLCERT, o->cert) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_SSLKEY, o->key) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK) {
        return -1;
    }
    return 0;
}

static void worker_cleanup(struct worker *w)
{
    curl_easy_cleanup(w->curl);
    curl_slist_free_all(w->headers);
    free(w->body);
}

static int worker_init(struct worker *w, struct level *lv, unsigned id)
{
    w->id = id;
    w->lv = lv;
    w->next_endpoint = id % lv->opt->n_endpoints;
    hdr_init(&w->hist);
    w->body_cap = 48 + B64_LEN(KEY_MAX) + strlen(lv->value_b64);
    w->body = calloc(1, w->body_cap);
    if (w->body == NULL) {
        goto err;
    }
    w->curl = curl_easy_init();
    if (w->curl == NULL || add_headers(w) != 0 || set_curl_options(w) != 0) {
        goto err;
    }
    return 0;
err:
    worker_cleanup(w);
    memset(w, 0, sizeof *w);
    return -1;
}

/* The body of the next put: a key of its own, the level's value. */
static size_t next_body(struct worker *w)
{
    char key[KEY_MAX];
    char key_b64[B64_LEN(KEY_MAX) + 1];
    int n;

    n = snprintf(key, sizeof key, "%s/w%u/%" PRIu64, w->lv->prefix, w->id,
                 w->seq++);
    b64_encode((const unsigned char *)key,
               n > 0 && (size_t)n < sizeof key ? (size_t)n : sizeof key - 1,
               key_b64);
    n = snprintf(w->body, w->body_cap, "{\"key\":\"%s\",\"value\":\"%s\"}",
                 key_b64, w->lv->value_b64);
    return n > 0 ? (size_t)n : 0;
}

/* Say what went wrong, once per level. */
static void show_error(struct worker *w, CURLcode rc, long status)
{
    if (atomic_exchange(&w->lv->error_shown, true)) {
        return;
    }
    if (rc != CURLE_OK) {
        fprintf(stderr, "\n" PROG ": put to %s: %s\n", w->url,
                w->errbuf[0] != '\0' ? w->errbuf : curl_easy_strerror(rc));
    } else {
        fprintf(stderr, "\n" PROG ": put to %s: HTTP %ld: %.300s\n", w->url,
                status, w->response);
    }
}

/* One put, to the next endpoint; 0 when etcd answered it with a
 * revision. */
static int worker_put(struct worker *w)
{
    const struct options *o = w->lv->opt;
    CURLcode rc;
    long status = 0;
    size_t len = next_body(w);

    w->url = o->put_urls[w->next_endpoint];
    w->next_endpoint = (w->next_endpoint + 1) % o->n_endpoints;
    w->response_len = 0;
    w->response[0] = '\0';
    w->errbuf[0] = '\0';
    if (curl_easy_setopt(w->curl, CURLOPT_URL, w->url) != CURLE_OK ||
        curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE, (long)len) !=
            CURLE_OK) {
        return -1;
    }
    rc = curl_easy_perform(w->curl);
    if (rc == CURLE_OK &&
        curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status) ==
            CURLE_OK &&
        status == 200 && strstr(w->response, "\"revision\"") != NULL) {
        return 0;
    }
    show_error(w, rc, status);
    return -1;
}

/* May this worker start a put at t, and is that put measured? */
static bool may_start(struct worker *w, uint64_t t, bool *measured)
{
    struct level *lv = w->lv;
    uint64_t from = atomic_load(&lv->measure_from);
    uint64_t limit = lv->opt->count;

    if (atomic_load(&lv->stop) ||
        (from != 0 && t >= atomic_load(&lv->measure_until))) {
        return false;
    }
    *measured = from != 0 && t >= from;
    return !*measured || limit == 0 ||
           atomic_fetch_add(&lv->tickets, 1) < limit;
}

/* A worker that has been to every endpoint waits for the others. */
static void wait_for_go(struct level *lv)
{
    /* Locking a valid default mutex, and waiting on a valid condition
     * variable with it, cannot fail. */
    (void)pthread_mutex_lock(&lv->mu);
    if (++lv->connected == lv->concurrency) {
        (void)pthread_cond_signal(&lv->all_connected);
    }
    while (!lv->go) {
        (void)pthread_cond_wait(&lv->go_cond, &lv->mu);
    }
    (void)pthread_mutex_unlock(&lv->mu);
}

/* Lets the workers start the load (or stop, lv->stop set). */
static void let_go(struct level *lv)
{
    (void)pthread_mutex_lock(&lv->mu);
    lv->go = true;
    (void)pthread_cond_broadcast(&lv->go_cond);
    (void)pthread_mutex_unlock(&lv->mu);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uint64_t start;
    uint64_t done;
    bool measured;
    int rc;

    while (start = now_ns(), may_start(w, start, &measured)) {
        rc = worker_put(w);
        done = now_ns();
        if (measured) {
            if (rc == 0) {
                hdr_record(&w->hist, done - start);
                w->ops++;
            } else {
                w->errors++;
            }
            w->last_done = done;
        }
        if (rc != 0) {
            sleep_ns(ERROR_PAUSE_NS);
        }
        if (w->seq == w->lv->opt->n_endpoints) {
            wait_for_go(w->lv);
        }
    }
    return NULL;
}

/* --- one level ----------------------------------------------------------- */

/* Start every worker; on a failure, stop those started and join them. */
static int start_workers(struct worker *ws, unsigned n, struct level *lv)
{
    int err;

    for (unsigned i = 0; i < n; i++) {
        err = pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]);
        if (err != 0) {
            fprintf(stderr, PROG ": cannot start thread %u of %u: %s\n", i + 1,
                    n, strerror(err));
            atomic_store(&lv->stop, true);
            let_go(lv);
            for (unsigned j = 0; j < i; j++) {
                (void)pthread_join(ws[j].thread, NULL);
            }
            return -1;
        }
    }
    return 0;
}

/* Joins the workers and adds up what they measured into r. */
static int collect(struct worker *ws,
                   unsigned n,
                   const struct level *lv,
                   struct result *r)
{
    struct hdr *all = malloc(sizeof *all);
    uint64_t from = atomic_load(&lv->measure_from);
    uint64_t last = from;

    for (unsigned i = 0; i < n; i++) {
        (void)pthread_join(ws[i].thread, NULL);
    }
    if (all == NULL) {
        return -1;
    }
    hdr_init(all);
    for (unsigned i = 0; i < n; i++) {
        hdr_merge(all, &ws[i].hist);
        r->ops += ws[i].ops;
        r->errors += ws[i].errors;
        if (ws[i].last_done > last) {
            last = ws[i].last_done;
        }
    }
    /* A --count level ends with its last put; a timed one at its end. */
    if (lv->opt->count > 0 && atomic_load(&lv->tickets) >= lv->opt->count) {
        r->seconds = (double)(last - from) / 1e9;
    } else {
        r->seconds = (double)(atomic_load(&lv->measure_until) - from) / 1e9;
    }
    r->ops_per_s = r->seconds > 0 ? (double)r->ops / r->seconds : 0;
    r->p50 = hdr_percentile(all, 50);
    r->p99 = hdr_percentile(all, 99);
    r->p999 = hdr_percentile(all, 99.9);
    r->max = hdr_max(all);
    free(all);
    return 0;
}

/* A condition variable whose timed waits use CLOCK_MONOTONIC. */
static int cond_init_monotonic(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    int err = pthread_condattr_init(&attr);

    if (err != 0) {
        return err;
    }
    err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (err == 0) {
        err = pthread_cond_init(cond, &attr);
    }
    (void)pthread_condattr_destroy(&attr); /* cannot fail once made */
    return err;
}

static int level_init(struct level *lv,
                      const struct options *o,
                      unsigned concurrency,
                      const char *value_b64)
{
    int err;

    memset(lv, 0, sizeof *lv);
    lv->opt = o;
    lv->concurrency = concurrency;
    lv->value_b64 = value_b64;
    /* Keys of their own per run and level: every put adds a key, as a
     * klaxon trigger adds an incident. */
    snprintf(lv->prefix, sizeof lv->prefix, "klaxon-bench/%ld-%d/c%u",
             (long)time(NULL), (int)getpid(), concurrency);
    atomic_init(&lv->measure_from, 0);
    atomic_init(&lv->measure_until, 0);
    atomic_init(&lv->tickets, 0);
    atomic_init(&lv->error_shown, false);
    atomic_init(&lv->stop, false);
    err = pthread_mutex_init(&lv->mu, NULL);
    if (err != 0) {
        goto err;
    }
    err = cond_init_monotonic(&lv->all_connected);
    if (err != 0) {
        goto err_after_mutex;
    }
    err = pthread_cond_init(&lv->go_cond, NULL);
    if (err != 0) {
        goto err_after_all_connected;
    }
    return 0;
err_after_all_connected:
    (void)pthread_cond_destroy(&lv->all_connected);
err_after_mutex:
    (void)pthread_mutex_destroy(&lv->mu);
err:
    fprintf(stderr, PROG ": cannot set up a level: %s\n", strerror(err));
    return -1;
}

/* Once no worker runs: neither can fail then. */
static void level_destroy(struct level *lv)
{
    (void)pthread_cond_destroy(&lv->go_cond);
    (void)pthread_cond_destroy(&lv->all_connected);
    (void)pthread_mutex_destroy(&lv->mu);
}

/* Waits until every worker has its connections (CONNECT_LIMIT_S at most)
 * and lets them go; returns how many had them. */
static unsigned wait_connected(struct level *lv)
{
    struct timespec deadline;
    unsigned n;
    int err = 0;

    (void)clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += CONNECT_LIMIT_S;
    (void)pthread_mutex_lock(&lv->mu);
    while (lv->connected < lv->concurrency && err != ETIMEDOUT) {
        err = pthread_cond_timedwait(&lv->all_connected, &lv->mu, &deadline);
    }
    n = lv->connected;
    (void)pthread_mutex_unlock(&lv->mu);
    let_go(lv);
    return n;
}

/* Connections, the warm-up of workers started at t0, then the measured
 * window opens. */
static void open_window(struct level *lv, uint64_t t0, struct result *r)
{
    const struct options *o = lv->opt;
    uint64_t t;

    r->connected = wait_connected(lv);
    t = now_ns();
    r->connect_s = (double)(t - t0) / 1e9;
    sleep_ns((uint64_t)(o->warmup * 1e9));
    t = now_ns();
    /* measure_until first: a worker that sees measure_from sees it too */
    atomic_store(&lv->measure_until, t + (uint64_t)(o->seconds * 1e9));
    atomic_store(&lv->measure_from, t);
}

static int run_level(const struct options *o,
                     unsigned concurrency,
                     const char *value_b64,
                     struct result *r)
{
    struct level lv;
    struct worker *ws = calloc(concurrency, sizeof *ws);
    unsigned ready = 0;
    uint64_t t0;
    int rc = -1;

    memset(r, 0, sizeof *r);
    r->concurrency = concurrency;
    if (ws == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        return -1;
    }
    if (level_init(&lv, o, concurrency, value_b64) != 0) {
        free(ws);
        return -1;
    }
    for (; ready < concurrency; ready++) {
        if (worker_init(&ws[ready], &lv, ready) != 0) {
            fprintf(stderr, PROG ": cannot set up worker %u\n", ready + 1);
            goto out;
        }
    }
    t0 = now_ns();
    if (start_workers(ws, concurrency, &lv) != 0) {
        goto out;
    }
    open_window(&lv, t0, r);
    rc = collect(ws, concurrency, &lv, r);
out:
    for (unsigned i = 0; i < ready; i++) {
        worker_cleanup(&ws[i]);
    }
    level_destroy(&lv);
    free(ws);
    return rc;
}

/* --- output -------------------------------------------------------------- */

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static void print_table(FILE *f,
                        const struct options *o,
                        const struct result *rs,
                        size_t n)
{
    fprintf(f, "etcd put, %zu-byte values, %zu endpoint(s)\n", o->value_bytes,
            o->n_endpoints);
    fprintf(f, "%9s %10s %7s %8s %10s %9s %9s %9s %9s\n", "in-flight", "puts",
            "errors", "seconds", "puts/s", "p50 ms", "p99 ms", "p99.9 ms",
            "max ms");
    for (size_t i = 0; i < n; i++) {
        const struct result *r = &rs[i];

        fprintf(f,
                "%9u %10" PRIu64 " %7" PRIu64
                " %8.2f %10.1f %9.3f %9.3f %9.3f %9.3f\n",
                r->concurrency, r->ops, r->errors, r->seconds, r->ops_per_s,
                ms(r->p50), ms(r->p99), ms(r->p999), ms(r->max));
    }
}

static void print_json(const struct options *o, const struct result *r)
{
    printf(
        "{\"system\":\"etcd\",\"op\":\"put\",\"concurrency\":%u,"
        "\"value_bytes\":%zu,\"seconds\":%.3f,\"ops\":%" PRIu64
        ",\"errors\":%" PRIu64
        ",\"ops_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
        "\"p999_ms\":%.3f}\n",
        r->concurrency, o->value_bytes, r->seconds, r->ops, r->errors,
        r->ops_per_s, ms(r->p50), ms(r->p99), ms(r->p999));
}

/* Runs every level, one progress line each on stderr, and counts in *done
 * those that ran; 0 when all of them completed puts. */
static int run_levels(const struct options *o,
                      const char *value_b64,
                      struct result *rs,
                      size_t *done)
{
    int status = 0;

    for (size_t i = 0; i < o->n_levels; i++) {
        struct result *r = &rs[i];

        fprintf(stderr, PROG ": %u in flight:", o->levels[i]);
        fflush(stderr);
        if (run_level(o, o->levels[i], value_b64, r) != 0) {
            fprintf(stderr, " failed\n");
            return 1;
        }
        if (r->connected < r->concurrency) {
            fprintf(stderr, " only %u of %u workers connected in %d s,",
                    r->connected, r->concurrency, CONNECT_LIMIT_S);
        }
        fprintf(stderr,
                " connected in %.2f s, warm-up %.3g s, measured %.2f s: "
                "%" PRIu64 " puts, %" PRIu64 " errors, %.1f/s\n",
                r->connect_s, o->warmup, r->seconds, r->ops, r->errors,
                r->ops_per_s);
        *done = i + 1;
        if (r->ops == 0) {
            status = 1;
        }
    }
    return status;
}

int main(int argc, char **argv)
{
    struct options o;
    struct result rs[MAX_LEVELS];
    char *value_b64;
    size_t done = 0;
    int status;

    status = parse_options(argc, argv, &o);
    if (status != 0) {
        free_endpoints(&o);
        return status == 1 ? 0 : 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, PROG ": curl_global_init failed\n");
        free_endpoints(&o);
        return 1;
    }
    value_b64 = make_value_b64(o.value_bytes);
    if (value_b64 == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        status = 1;
        goto out;
    }
    status = run_levels(&o, value_b64, rs, &done);
    print_table(o.json ? stderr : stdout, &o, rs, done);
    for (size_t i = 0; o.json && i < done; i++) {
        print_json(&o, &rs[i]);
    }
out:
    free(value_b64);
    curl_global_cleanup();
    free_endpoints(&o);
    return status;
}
