/*
 * Limits hold under attack: a one-node cluster with tight `limits:` is
 * hit by a flood of half-open connections from several source addresses
 * (127.0.0.2...; all of 127/8 is loopback), slowloris clients that send a
 * TLS ClientHello or an HTTP request one byte per second, idle HTTPS
 * keep-alives and half-open connections to the Raft port. While that runs,
 * a normal client's triggers, and those of new clients connecting while
 * the flood fills every handshake slot, must each succeed within 1 s; the
 * caps must
 * hold (per source address and in total, before authentication), every
 * attacking connection must be closed once its deadline passes, and the
 * node's RSS must stay bounded. Then: the per-client cap by certificate,
 * and the per-client request rate (RESOURCE_EXHAUSTED with
 * retry_after_ms, KLAXON_ELIMIT in the library).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster.h"

#define HANDSHAKE_MS 2000
#define REQUEST_MS 2000
#define HTTP_IDLE_MS 2000
#define PER_CLIENT 6
#define MAX_HANDSHAKES 24
#define SLACK_MS 1500 /* sweep granularity plus a loaded machine */

#define FLOOD_ADDRS 8 /* 127.0.0.2 .. 127.0.0.9 */
#define FLOOD_PER_ADDR 8
#define MAX_SOCKS 128
#define ATTACK_MS 6000

static const char limits_attack[] =
    "limits:\n"
    "  max_connections: 200\n"
    "  max_handshakes: 24\n"
    "  max_connections_per_client: 6\n"
    "  handshake_timeout: 2s\n"
    "  idle_timeout: 3s\n"
    "  http_idle_timeout: 2s\n"
    "  request_timeout: 2s\n";

static const char limits_rate[] =
    "limits:\n"
    "  client_rate: 2\n";

/* --- node setup ---------------------------------------------------------- */

/* Restart node 1 with `limits` appended to its configuration. */
static int restart_with(struct cluster *c, const char *limits)
{
    char dir[PATH_MAX];
    char path[PATH_MAX + 32];
    FILE *f;

    if (cluster_term(c, 1) != 0 ||
        cluster_node_dir(c, 1, dir, sizeof dir) == NULL) {
        return -1;
    }
    snprintf(path, sizeof path, "%s/klaxond.yaml", dir);
    f = fopen(path, "a");
    if (f == NULL) {
        return -1;
    }
    fputs(limits, f);
    if (fclose(f) != 0 || cluster_restart(c, 1) != 0 ||
        cluster_wait_leader(c, 20000) != 1) {
        return -1;
    }
    return 0;
}

static int setup_with(void **state, const char *limits)
{
    struct cluster_fixture *f;

    if (cluster_fixture_setup(state, 1, NULL) != 0) {
        return -1;
    }
    f = *state;
    if (restart_with(&f->cluster, limits) != 0) {
        cluster_fixture_teardown(state);
        return -1;
    }
    return 0;
}

static int setup_attack(void **state)
{
    return setup_with(state, limits_attack);
}

static int setup_rate(void **state)
{
    return setup_with(state, limits_rate);
}

static int teardown(void **state)
{
    return cluster_fixture_teardown(state);
}

static unsigned api_port(const struct cluster *c)
{
    return c->base_port + CLUSTER_API_OFFSET;
}

static unsigned http_port(const struct cluster *c)
{
    return c->base_port + CLUSTER_HTTP_OFFSET;
}

static long rss_kib(const struct cluster *c)
{
    char path[64];
    char line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/status", cluster_node_pid(c, 1));
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) {
            break;
        }
    }
    fclose(f);
    return kib;
}

/* --- attacking sockets --------------------------------------------------- */

struct sock
{
    int fd;
    SSL *ssl;            /* set when TLS was completed before the drip */
    const char *group;   /* for messages */
    unsigned src;        /* last byte of the source address */
    const uint8_t *drip; /* bytes sent one per drip_ms, or NULL */
    size_t drip_len, dripped;
    uint64_t opened_ms, first_byte_ms, next_drip_ms, closed_ms;
};

struct attack
{
    struct sock s[MAX_SOCKS];
    unsigned n;
    unsigned drip_ms;
    uint64_t start_ms;
    /* open flood sockets at snapshot_ms after start, total and per addr */
    uint64_t snapshot_ms;
    bool snapped;
    unsigned open_total;
    unsigned open_by_addr[256];
    uint8_t hello[2048];
    size_t hello_len;
    SSL_CTX *ctx;
};

/* A TCP connection from 127.0.0.src to 127.0.0.1:port, non-blocking, or
 * -1. */
static int connect_from(unsigned src, unsigned port)
{
    struct sockaddr_in from = {.sin_family = AF_INET};
    struct sockaddr_in to = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0) {
        return -1;
    }
    from.sin_addr.s_addr = htonl(0x7f000000u | src);
    to.sin_addr.s_addr = htonl(0x7f000001u);
    to.sin_port = htons((uint16_t)port);
    if (bind(fd, (struct sockaddr *)&from, sizeof from) != 0 ||
        connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static struct sock *add(struct attack *a,
                        const char *group,
                        unsigned src,
                        unsigned port)
{
    struct sock *s = &a->s[a->n];
    int fd = connect_from(src, port);

    assert_true(a->n < MAX_SOCKS);
    if (fd < 0) {
        fail_msg("%s: connect from 127.0.0.%u: %s", group, src,
                 strerror(errno));
    }
    memset(s, 0, sizeof *s);
    s->fd = fd;
    s->group = group;
    s->src = src;
    s->opened_ms = cluster_now_ms();
    a->n++;
    return s;
}

/* Complete a TLS handshake (no client certificate) on s, blocking. */
static void tls_connect(struct attack *a, struct sock *s)
{
    s->ssl = SSL_new(a->ctx);
    assert_non_null(s->ssl);
    SSL_set_fd(s->ssl, s->fd);
    if (SSL_connect(s->ssl) != 1) {
        fail_msg("%s: TLS handshake with the node failed", s->group);
    }
}

/* The bytes of a TLS ClientHello, as an OpenSSL client would send. */
static void make_hello(struct attack *a)
{
    SSL *ssl = SSL_new(a->ctx);
    BIO *r = BIO_new(BIO_s_mem());
    BIO *w = BIO_new(BIO_s_mem());
    int n;

    assert_non_null(ssl);
    SSL_set_bio(ssl, r, w);
    SSL_set_connect_state(ssl);
    (void)SSL_do_handshake(ssl);
    n = BIO_read(w, a->hello, sizeof a->hello);
    assert_true(n > 0);
    a->hello_len = (size_t)n;
    SSL_free(ssl);
    ERR_clear_error();
}

static bool is_flood(const struct sock *s)
{
    return strcmp(s->group, "flood") == 0;
}

static void snapshot(struct attack *a)
{
    for (unsigned i = 0; i < a->n; i++) {
        const struct sock *s = &a->s[i];
        if (is_flood(s) && s->closed_ms == 0) {
            a->open_total++;
            a->open_by_addr[s->src]++;
        }
    }
    a->snapped = true;
}

static void drip(struct attack *a, struct sock *s, uint64_t now)
{
    const uint8_t *p;

    if (s->drip == NULL || s->closed_ms != 0 || s->dripped >= s->drip_len ||
        now < s->next_drip_ms) {
        return;
    }
    p = s->drip + s->dripped;
    if (s->ssl != NULL ? SSL_write(s->ssl, p, 1) == 1
                       : send(s->fd, p, 1, MSG_NOSIGNAL) == 1) {
        if (s->dripped++ == 0) {
            s->first_byte_ms = now;
        }
    }
    s->next_drip_ms = now + a->drip_ms;
}

/* Note sockets the node closed (EOF or reset); drain anything else. */
static void watch(struct attack *a, int timeout_ms)
{
    struct pollfd pfd[MAX_SOCKS];
    unsigned map[MAX_SOCKS];
    unsigned n = 0;
    uint64_t now;
    uint8_t buf[4096];

    for (unsigned i = 0; i < a->n; i++) {
        if (a->s[i].closed_ms == 0) {
            pfd[n].fd = a->s[i].fd;
            pfd[n].events = POLLIN | POLLRDHUP;
            pfd[n].revents = 0;
            map[n++] = i;
        }
    }
    if (n == 0) {
        usleep((useconds_t)timeout_ms * 1000);
        return;
    }
    (void)poll(pfd, n, timeout_ms);
    now = cluster_now_ms();
    for (unsigned j = 0; j < n; j++) {
        struct sock *s = &a->s[map[j]];
        ssize_t got;
        if (pfd[j].revents == 0) {
            continue;
        }
        do {
            got = recv(s->fd, buf, sizeof buf, MSG_DONTWAIT);
        } while (got > 0);
        if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) ||
            (pfd[j].revents & (POLLRDHUP | POLLHUP | POLLERR))) {
            s->closed_ms = now;
        }
    }
}

static void *attack_run(void *arg)
{
    struct attack *a = arg;
    uint64_t now;

    while ((now = cluster_now_ms()) - a->start_ms < ATTACK_MS) {
        if (!a->snapped && now - a->start_ms >= a->snapshot_ms) {
            snapshot(a);
        }
        for (unsigned i = 0; i < a->n; i++) {
            drip(a, &a->s[i], now);
        }
        watch(a, 50);
    }
    return NULL;
}

static void attack_free(struct attack *a)
{
    for (unsigned i = 0; i < a->n; i++) {
        SSL_free(a->s[i].ssl);
        close(a->s[i].fd);
    }
    SSL_CTX_free(a->ctx);
    free(a);
}

/* Every socket of `group`: closed, and (when min_ms > 0) not before
 * min_ms nor after max_ms from `from` (opened, or first byte sent). */
static unsigned check_closed(const struct attack *a,
                             const char *group,
                             bool from_first_byte,
                             uint64_t min_ms,
                             uint64_t max_ms)
{
    unsigned n = 0;

    for (unsigned i = 0; i < a->n; i++) {
        const struct sock *s = &a->s[i];
        uint64_t from = from_first_byte ? s->first_byte_ms : s->opened_ms;
        if (strcmp(s->group, group) != 0) {
            continue;
        }
        n++;
        if (s->closed_ms == 0) {
            fail_msg(
                "%s: connection %u from 127.0.0.%u still open after "
                "%d ms",
                group, i, s->src, ATTACK_MS);
        }
        if (s->closed_ms - from < min_ms || s->closed_ms - from > max_ms) {
            fail_msg(
                "%s: connection %u closed after %llu ms, expected "
                "%llu..%llu",
                group, i, (unsigned long long)(s->closed_ms - from),
                (unsigned long long)min_ms, (unsigned long long)max_ms);
        }
    }
    return n;
}

/* Flood sockets closed at once (refused) and kept until the deadline. */
static void check_flood(const struct attack *a)
{
    unsigned refused = 0;
    unsigned kept = 0;

    for (unsigned i = 0; i < a->n; i++) {
        const struct sock *s = &a->s[i];
        if (!is_flood(s)) {
            continue;
        }
        if (s->closed_ms == 0) {
            fail_msg("flood: connection %u still open", i);
        }
        if (s->closed_ms - s->opened_ms < HANDSHAKE_MS - 100) {
            refused++;
        } else {
            assert_true(s->closed_ms - s->opened_ms <=
                        HANDSHAKE_MS + SLACK_MS + 1000);
            kept++;
        }
    }
    fprintf(stderr,
            "flood: %u connections, %u refused at once, %u closed at the "
            "handshake deadline; %u open at %llu ms\n",
            refused + kept, refused, kept, a->open_total,
            (unsigned long long)a->snapshot_ms);
    assert_true(a->open_total <= MAX_HANDSHAKES);
    assert_true(kept <= MAX_HANDSHAKES);
    for (unsigned src = 0; src < 256; src++) {
        assert_true(a->open_by_addr[src] <= PER_CLIENT);
    }
    assert_true(refused >= FLOOD_ADDRS * FLOOD_PER_ADDR - MAX_HANDSHAKES);
}

static char http_request[] =
    "POST /v2/enqueue HTTP/1.1\r\nHost: klaxon\r\nContent-Type: "
    "application/json\r\nContent-Length: 2\r\n\r\n{}";

static struct attack *attack_new(const struct cluster *c)
{
    struct attack *a = calloc(1, sizeof *a);
    struct sock *s;

    assert_non_null(a);
    a->drip_ms = 1000;
    a->snapshot_ms = 700;
    a->ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(a->ctx);
    SSL_CTX_set_verify(a->ctx, SSL_VERIFY_NONE, NULL);
    make_hello(a);
    /* First (so that the oldest handshakes, the ones closed to make room
     * for new connections, are its own) the flood: half-open API
     * connections from several addresses. */
    for (unsigned src = 2; src < 2 + FLOOD_ADDRS; src++) {
        for (unsigned i = 0; i < FLOOD_PER_ADDR; i++) {
            add(a, "flood", src, api_port(c));
        }
    }
    /* Slowloris on the API: a ClientHello, one byte per second. */
    for (unsigned i = 0; i < 3; i++) {
        s = add(a, "api-slow-hello", 10, api_port(c));
        s->drip = a->hello;
        s->drip_len = a->hello_len;
    }
    /* Slowloris on HTTPS: TLS done, then a request one byte per second. */
    for (unsigned i = 0; i < 3; i++) {
        s = add(a, "http-slow-request", 11, http_port(c));
        tls_connect(a, s);
        s->drip = (const uint8_t *)http_request;
        s->drip_len = sizeof http_request - 1;
    }
    /* Kept-alive HTTPS connections that never send a request. */
    for (unsigned i = 0; i < 2; i++) {
        tls_connect(a, add(a, "http-idle", 11, http_port(c)));
    }
    /* Half-open connections to the Raft port. */
    for (unsigned i = 0; i < 10; i++) {
        add(a, "raft-half-open", 12, c->base_port);
    }
    for (unsigned i = 0; i < a->n; i++) {
        int fl = fcntl(a->s[i].fd, F_GETFL);
        assert_int_equal(fcntl(a->s[i].fd, F_SETFL, fl | O_NONBLOCK), 0);
    }
    a->start_ms = cluster_now_ms();
    return a;
}

static void trigger_timed(klaxon_client *k, unsigned i, uint64_t *worst)
{
    struct klaxon_trigger t = {0};
    struct klaxon_result r;
    char dedup[32];
    uint64_t t0 = cluster_now_ms();
    int rv;

    snprintf(dedup, sizeof dedup, "limits-%u", i);
    t.service = "limits";
    t.severity = 3;
    t.summary = "trigger under attack";
    t.dedup_key = dedup;
    rv = klaxon_trigger(k, &t, &r);
    if (rv != KLAXON_OK) {
        fail_msg("trigger %u during the attack: %s", i, klaxon_errmsg(k));
    }
    if (cluster_now_ms() - t0 > *worst) {
        *worst = cluster_now_ms() - t0;
    }
}

/* The count of one limit hit on node 1, or -1. */
static long metric(const struct cluster *c,
                   const char *listener,
                   const char *limit)
{
    char series[160];

    snprintf(series, sizeof series,
             "klaxon_limit_hits_total{listener=\"%s\",limit=\"%s\"}", listener,
             limit);
    return cluster_metric(c, 1, series);
}

static void test_attack(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    klaxon_client *k = cluster_client(c, NULL, 3000);
    long rss0;
    long rss_max;
    uint64_t worst = 0;
    unsigned triggers = 0;
    unsigned fresh_ok = 0;
    struct attack *a;
    pthread_t th;

    assert_non_null(k);
    trigger_timed(k, triggers++, &worst); /* connected before the attack */
    rss0 = rss_kib(c);
    rss_max = rss0;
    a = attack_new(c);
    assert_int_equal(pthread_create(&th, NULL, attack_run, a), 0);
    while (cluster_now_ms() - a->start_ms < ATTACK_MS - 500) {
        long rss = rss_kib(c);
        trigger_timed(k, triggers++, &worst);
        if (triggers % 10 == 0) {
            /* A new client gets in although the handshake slots are full
             * of the flood's connections. */
            klaxon_client *fresh = cluster_client(c, NULL, 3000);
            assert_non_null(fresh);
            trigger_timed(fresh, triggers++, &worst);
            klaxon_client_free(fresh);
            fresh_ok++;
        }
        rss_max = rss > rss_max ? rss : rss_max;
        usleep(100 * 1000);
    }
    assert_int_equal(pthread_join(th, NULL), 0);
    fprintf(stderr,
            "%u triggers during the attack (%u from new clients), slowest "
            "%llu ms; RSS %ld KiB before, at most %ld KiB during\n",
            triggers, fresh_ok, (unsigned long long)worst, rss0, rss_max);
    assert_true(fresh_ok >= 3);
    assert_true(worst <= 1000);
    assert_true(rss_max - rss0 < 32 * 1024);

    check_flood(a);
    check_closed(a, "api-slow-hello", false, HANDSHAKE_MS - 100,
                 HANDSHAKE_MS + SLACK_MS);
    check_closed(a, "http-slow-request", true, REQUEST_MS - 100,
                 REQUEST_MS + SLACK_MS);
    check_closed(a, "http-idle", false, HTTP_IDLE_MS - 100,
                 HTTP_IDLE_MS + SLACK_MS);
    /* Raft: up to PER_CLIENT wait for the deadline, the rest at once. */
    check_closed(a, "raft-half-open", false, 0, HANDSHAKE_MS + SLACK_MS);
    attack_free(a);

    assert_true(
        cluster_log_contains(c, 1, "comp=api msg=\"limits.handshake_timeout"));
    assert_true(
        cluster_log_contains(c, 1, "comp=api msg=\"limits.max_handshakes"));
    assert_true(cluster_log_contains(
        c, 1, "comp=api msg=\"limits.max_connections_per_client_ip"));
    assert_true(
        cluster_log_contains(c, 1, "comp=http msg=\"limits.request_timeout"));
    assert_true(
        cluster_log_contains(c, 1, "comp=http msg=\"limits.idle_timeout"));
    assert_true(
        cluster_log_contains(c, 1, "comp=raft msg=\"limits.handshake_timeout"));
    assert_true(metric(c, "api", "handshake_timeout") >= 1);
    assert_true(metric(c, "api", "max_handshakes") >= 1);
    assert_true(metric(c, "raft", "max_connections_per_client_ip") >= 1);
    assert_true(metric(c, "http", "request_timeout") >= 3);

    /* The API idle timeout closes the normal client's quiet connection;
     * the library reconnects on the next call. */
    usleep(3500 * 1000);
    assert_true(
        cluster_log_contains(c, 1, "comp=api msg=\"limits.idle_timeout"));
    trigger_timed(k, triggers++, &worst);
    klaxon_client_free(k);
    f->passed = true;
}

/* Certificate "admin" may hold PER_CLIENT connections: the next one's
 * first request gets RESOURCE_EXHAUSTED and the connection is closed. */
static void test_per_client_cap(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    klaxon_client *k[PER_CLIENT + 1];
    struct klaxon_incident_list *l;

    for (unsigned i = 0; i < PER_CLIENT; i++) {
        k[i] = cluster_client(c, NULL, 3000);
        assert_non_null(k[i]);
        assert_int_equal(klaxon_list(k[i], NULL, KLAXON_READ_STALE, &l),
                         KLAXON_OK);
        klaxon_incident_list_free(l);
    }
    k[PER_CLIENT] = cluster_client(c, NULL, 500);
    assert_non_null(k[PER_CLIENT]);
    assert_int_equal(klaxon_list(k[PER_CLIENT], NULL, KLAXON_READ_STALE, &l),
                     KLAXON_ELIMIT);
    assert_int_equal(klaxon_retry_after_ms(k[PER_CLIENT]), 1000);
    assert_non_null(strstr(klaxon_errmsg(k[PER_CLIENT]),
                           "limits.max_connections_per_client"));
    /* Once one closes, there is room again. */
    klaxon_client_free(k[0]);
    usleep(200 * 1000);
    assert_int_equal(klaxon_list(k[PER_CLIENT], NULL, KLAXON_READ_STALE, &l),
                     KLAXON_OK);
    klaxon_incident_list_free(l);
    for (unsigned i = 1; i <= PER_CLIENT; i++) {
        klaxon_client_free(k[i]);
    }
    assert_true(metric(c, "api", "max_connections_per_client") >= 1);
    f->passed = true;
}

/* client_rate 2: a burst of two, then RESOURCE_EXHAUSTED with the wait
 * for the next token; a client with time to wait gets through. */
static void test_client_rate(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    klaxon_client *quick = cluster_client(c, NULL, 300);
    klaxon_client *patient;
    struct klaxon_incident_list *l;
    unsigned ok = 0;
    int rv = KLAXON_OK;
    uint64_t t0;

    assert_non_null(quick);
    usleep(1500 * 1000); /* the bucket refills after the fixture's calls */
    for (unsigned i = 0; i < 5 && rv == KLAXON_OK; i++) {
        rv = klaxon_list(quick, NULL, KLAXON_READ_STALE, &l);
        if (rv == KLAXON_OK) {
            klaxon_incident_list_free(l);
            ok++;
        }
    }
    assert_int_equal(rv, KLAXON_ELIMIT);
    assert_in_range(ok, 1, 2);
    assert_in_range(klaxon_retry_after_ms(quick), 1, 501);
    assert_non_null(strstr(klaxon_errmsg(quick), "limits.client_rate"));
    klaxon_client_free(quick);

    patient = cluster_client(c, NULL, 5000);
    assert_non_null(patient);
    t0 = cluster_now_ms();
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(klaxon_list(patient, NULL, KLAXON_READ_STALE, &l),
                         KLAXON_OK);
        klaxon_incident_list_free(l);
    }
    assert_true(cluster_now_ms() - t0 >= 400); /* waited for tokens */
    assert_int_equal(klaxon_retry_after_ms(patient), 0);
    klaxon_client_free(patient);
    assert_true(metric(c, "api", "rate") >= 1);
    assert_true(cluster_log_contains(c, 1, "comp=api msg=\"limits.rate"));
    f->passed = true;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* writes on sockets the node closed */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_attack, setup_attack, teardown),
        cmocka_unit_test_setup_teardown(test_per_client_cap, setup_attack,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_client_rate, setup_rate, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
