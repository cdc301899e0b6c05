/*
 * Pipelining on one client connection to the leader of a 3-node cluster:
 * thousands of requests (triggers, status, stale lists whose answers span
 * several TLS records) are written before their answers are read, the
 * client reading only as fast as it gets to it. Every request must get
 * exactly one answer of its kind, whole; the answers the node gives at
 * once (status, stale list) must come in the order of their requests.
 * Frames lost, repeated, cut or moved in the node's write path fail it.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster.h"
#include "frame.h"
#include "klaxon.pb-c.h"

#define N_REQUESTS 3000
#define LIST_LIMIT 60
#define DEADLINE_MS 60000

enum kind { K_TRIGGER, K_STATUS, K_LIST };

struct pipeline
{
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;
    uint8_t *out; /* every request frame, back to back */
    size_t out_len, out_off;
    uint8_t *in; /* answers read, not yet parsed */
    size_t in_len, in_cap;
    bool answered[N_REQUESTS + 1];
    unsigned n_answers;
    uint64_t last_sync_seq; /* of the last status or list answer */
    size_t biggest;         /* largest answer frame */
};

static int setup(void **state)
{
    return cluster_fixture_setup(state, 3, NULL);
}

static int teardown(void **state)
{
    return cluster_fixture_teardown(state);
}

static enum kind kind_of(uint64_t seq)
{
    return (enum kind)(seq % 3);
}

/* --- requests -------------------------------------------------------------
 */

static void append_request(struct pipeline *p, const Klaxon__Request *q)
{
    size_t n = klaxon__request__get_packed_size(q);

    frame_put_len(p->out + p->out_len, (uint32_t)n);
    klaxon__request__pack(q, p->out + p->out_len + FRAME_HEADER);
    p->out_len += FRAME_HEADER + n;
}

static void add_request(struct pipeline *p, uint64_t seq)
{
    Klaxon__Request q;
    Klaxon__TriggerRequest t;
    Klaxon__StatusRequest st;
    Klaxon__ListRequest l;
    uint8_t rid[16] = {'p', 'i', 'p', 'e'};
    char summary[300];

    klaxon__request__init(&q);
    q.version = PROTOCOL_VERSION;
    q.seq = seq;
    if (kind_of(seq) == K_TRIGGER) {
        klaxon__trigger_request__init(&t);
        memcpy(rid + 8, &seq, sizeof seq);
        q.request_id.data = rid;
        q.request_id.len = sizeof rid;
        snprintf(summary, sizeof summary, "pipelined %llu %.*s",
                 (unsigned long long)seq, (int)(seq % 250),
                 "...................................................."
                 "...................................................."
                 "...................................................."
                 "...................................................."
                 "....................................................");
        t.service = "pipeline";
        t.severity = 2;
        t.summary = summary;
        t.source = "itest";
        q.op_case = KLAXON__REQUEST__OP_TRIGGER;
        q.trigger = &t;
    } else if (kind_of(seq) == K_STATUS) {
        klaxon__status_request__init(&st);
        q.op_case = KLAXON__REQUEST__OP_STATUS;
        q.status = &st;
    } else {
        klaxon__list_request__init(&l);
        l.limit = LIST_LIMIT;
        q.stale = true;
        q.op_case = KLAXON__REQUEST__OP_LIST;
        q.list = &l;
    }
    append_request(p, &q);
}

/* Open LIST_LIMIT incidents with long summaries, so that each stale list
 * answer spans several TLS records. */
static void open_incidents(const struct cluster *c)
{
    klaxon_client *k = cluster_client(c, NULL, 20000);
    char summary[600];

    assert_non_null(k);
    memset(summary, 's', sizeof summary - 1);
    summary[sizeof summary - 1] = '\0';
    for (int i = 0; i < LIST_LIMIT; i++) {
        struct klaxon_trigger t = {0};
        struct klaxon_result res;
        t.service = "pipeline";
        t.severity = 2;
        t.summary = summary;
        t.source = "itest";
        if (klaxon_trigger(k, &t, &res) != KLAXON_OK) {
            fail_msg("trigger: %s", klaxon_errmsg(k));
        }
    }
    klaxon_client_free(k);
}

/* --- the connection -------------------------------------------------------
 */

static int connect_tcp(unsigned port)
{
    struct sockaddr_in to = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
        fail_msg("connect to port %u: %s", port, strerror(errno));
    }
    return fd;
}

/* TLS with the admin client certificate, then non-blocking. */
static void open_connection(struct pipeline *p,
                            const struct cluster *c,
                            unsigned node)
{
    const char *addr = cluster_api_address(c, node);
    const char *colon = strrchr(addr, ':');

    p->ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(p->ctx);
    assert_int_equal(SSL_CTX_load_verify_locations(p->ctx, c->ca, NULL), 1);
    assert_int_equal(SSL_CTX_use_certificate_chain_file(p->ctx, c->cert), 1);
    assert_int_equal(
        SSL_CTX_use_PrivateKey_file(p->ctx, c->key, SSL_FILETYPE_PEM), 1);
    SSL_CTX_set_verify(p->ctx, SSL_VERIFY_PEER, NULL);
    p->fd = connect_tcp((unsigned)atoi(colon + 1));
    p->ssl = SSL_new(p->ctx);
    assert_non_null(p->ssl);
    assert_int_equal(SSL_set_fd(p->ssl, p->fd), 1);
    assert_int_equal(SSL_connect(p->ssl), 1);
    SSL_set_mode(p->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
                             SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    assert_int_equal(fcntl(p->fd, F_SETFL, O_NONBLOCK), 0);
}

static void close_connection(struct pipeline *p)
{
    SSL_free(p->ssl);
    close(p->fd);
    SSL_CTX_free(p->ctx);
    free(p->out);
    free(p->in);
}

/* SSL_read/SSL_write result n: true to go on, false if it would block. */
static bool progress(struct pipeline *p, int n, const char *what)
{
    int err;

    if (n > 0) {
        return true;
    }
    err = SSL_get_error(p->ssl, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        return false;
    }
    fail_msg("%s failed (SSL error %d, %u answers so far)", what, err,
             p->n_answers);
    return false;
}

/* --- answers --------------------------------------------------------------
 */

static void check_answer(struct pipeline *p, const Klaxon__Response *r)
{
    uint64_t seq = r->seq;

    if (seq == 0 || seq > N_REQUESTS || p->answered[seq]) {
        fail_msg("answer with seq %llu: unknown or repeated",
                 (unsigned long long)seq);
    }
    p->answered[seq] = true;
    p->n_answers++;
    if (r->code != KLAXON__CODE__OK) {
        fail_msg("seq %llu: code %d: %s", (unsigned long long)seq, r->code,
                 r->message);
    }
    switch (kind_of(seq)) {
        case K_TRIGGER:
            assert_int_equal(r->result_case, KLAXON__RESPONSE__RESULT_MUTATION);
            return; /* Raft writes may be answered in any order */
        case K_STATUS:
            assert_int_equal(r->result_case, KLAXON__RESPONSE__RESULT_STATUS);
            break;
        case K_LIST:
            assert_int_equal(r->result_case, KLAXON__RESPONSE__RESULT_LIST);
            break;
    }
    if (seq < p->last_sync_seq) {
        fail_msg("answer %llu came after answer %llu", (unsigned long long)seq,
                 (unsigned long long)p->last_sync_seq);
    }
    p->last_sync_seq = seq;
}

/* Decode every whole answer frame read so far. */
static void parse_answers(struct pipeline *p)
{
    size_t off = 0;

    while (p->in_len - off >= FRAME_HEADER) {
        uint32_t n = frame_get_len(p->in + off);
        Klaxon__Response *r;
        if (n > FRAME_MAX) {
            fail_msg("answer frame of %u bytes: the stream is corrupt", n);
        }
        if (p->in_len - off - FRAME_HEADER < n) {
            break;
        }
        r = klaxon__response__unpack(NULL, n, p->in + off + FRAME_HEADER);
        if (r == NULL) {
            fail_msg("undecodable answer frame after %u answers", p->n_answers);
        }
        check_answer(p, r);
        klaxon__response__free_unpacked(r, NULL);
        if (n > p->biggest) {
            p->biggest = n;
        }
        off += FRAME_HEADER + n;
    }
    memmove(p->in, p->in + off, p->in_len - off);
    p->in_len -= off;
}

static void read_some(struct pipeline *p)
{
    for (;;) {
        int n;
        if (p->in_cap - p->in_len < 65536) {
            p->in_cap = p->in_cap * 2 + 65536;
            p->in = realloc(p->in, p->in_cap);
            assert_non_null(p->in);
        }
        n = SSL_read(p->ssl, p->in + p->in_len, 65536);
        if (!progress(p, n, "read")) {
            break;
        }
        p->in_len += (size_t)n;
        parse_answers(p);
    }
}

static void write_some(struct pipeline *p)
{
    while (p->out_off < p->out_len) {
        size_t left = p->out_len - p->out_off;
        int n = SSL_write(p->ssl, p->out + p->out_off,
                          left > 16384 ? 16384 : (int)left);
        if (!progress(p, n, "write")) {
            break;
        }
        p->out_off += (size_t)n;
    }
}

/* Write everything as fast as the node takes it; read as it comes. */
static void exchange(struct pipeline *p)
{
    uint64_t deadline = cluster_now_ms() + DEADLINE_MS;

    while (p->n_answers < N_REQUESTS) {
        struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
        if (p->out_off < p->out_len) {
            pfd.events |= POLLOUT;
        }
        if (cluster_now_ms() > deadline) {
            fail_msg("%u of %d answers after %d ms (%zu of %zu bytes sent)",
                     p->n_answers, N_REQUESTS, DEADLINE_MS, p->out_off,
                     p->out_len);
        }
        (void)poll(&pfd, 1, 100);
        write_some(p);
        read_some(p);
    }
}

static void test_pipelined_answers_whole_and_in_order(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    struct pipeline *p = calloc(1, sizeof *p);
    int leader = cluster_wait_leader(c, 20000);

    assert_non_null(p);
    assert_in_range(leader, 1, 3);
    open_incidents(c);
    p->out = malloc((size_t)N_REQUESTS * 512);
    assert_non_null(p->out);
    for (uint64_t seq = 1; seq <= N_REQUESTS; seq++) {
        add_request(p, seq);
    }
    open_connection(p, c, (unsigned)leader);
    exchange(p);
    print_message(
        "%u answers to %d pipelined requests (%zu bytes), the "
        "largest answer %zu bytes\n",
        p->n_answers, N_REQUESTS, p->out_len, p->biggest);
    assert_true(p->biggest > 16384); /* answers spanning records */
    assert_int_equal(p->in_len, 0);  /* nothing after the last answer */
    close_connection(p);
    free(p);
    f->passed = true;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_pipelined_answers_whole_and_in_order, setup, teardown),
    };
    return cmocka_run_group_tests_name("pipeline", tests, NULL, NULL);
}
