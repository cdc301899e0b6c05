/*
 * tls_stream between two ends on loopback (certificates from
 * deploy/gen-certs.sh): writes made in one turn of the loop are buffered
 * and written after it, and nothing is lost, reordered or delayed; a
 * graceful close writes what is buffered, an abort drops it; the queued
 * count covers buffered plaintext.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tls.h"
#include "tls_stream.h"

#define WATCHDOG_MS 10000
/* Long enough for the handshake's last messages (session tickets) to have
 * arrived, so that nothing but the stream itself wakes the loop. */
#define WRITE_DELAY_MS 100

enum scenario { SC_ECHO, SC_CLOSE, SC_ABORT };

struct end
{
    struct tls_stream ts;
    struct harness *h;
    uint64_t received;
    bool bad; /* a byte differed from the pattern */
    int closes;
    unsigned drains;
};

struct harness
{
    enum scenario scenario;
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_connect_t connect;
    uv_timer_t writer;
    uv_timer_t watchdog;
    SSL_CTX *server_ctx, *client_ctx;
    struct end server, client;
    uint64_t total; /* bytes the client writes */
    uint64_t written_ns, done_ns;
    bool timed_out;
    bool server_accepted;
};

static char pki[] = "/tmp/test_tls_stream_XXXXXX";

/* --- certificates ---------------------------------------------------------
 */

static int group_setup(void **state)
{
    const char *src = getenv("KLAXON_SRC");
    char cmd[1024];

    (void)state;
    if (mkdtemp(pki) == NULL) {
        return -1;
    }
    snprintf(cmd, sizeof cmd,
             "sh '%s/deploy/gen-certs.sh' --dir '%s' --nodes 2 >/dev/null",
             src != NULL ? src : ".", pki);
    return system(cmd) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    char cmd[256];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", pki);
    return system(cmd) == 0 ? 0 : -1;
}

static SSL_CTX *context(unsigned node)
{
    char ca[128], cert[128], key[128], err[256];
    SSL_CTX *ctx = NULL;

    snprintf(ca, sizeof ca, "%s/ca.pem", pki);
    snprintf(cert, sizeof cert, "%s/node%u.pem", pki, node);
    snprintf(key, sizeof key, "%s/node%u-key.pem", pki, node);
    if (tls_context_new(&ctx, ca, cert, key, err, sizeof err) != 0) {
        fail_msg("%s", err);
    }
    return ctx;
}

/* --- the byte stream --------------------------------------------------------
 */

/* Byte k of what the client sends: a position-dependent pattern, so that a
 * lost, repeated or moved byte shows. */
static uint8_t pattern(uint64_t k)
{
    return (uint8_t)(k * 7 + (k >> 8) * 13 + (k >> 16));
}

static void check_bytes(struct end *e, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (data[i] != pattern(e->received + i)) {
            e->bad = true;
        }
    }
    e->received += len;
}

/* Sizes that cross record boundaries every way: tiny, just under, at and
 * over 16 KiB, several records. */
static const size_t sizes[] = {1, 3, 100, 4095, 16384, 16385, 40000, 70000, 7};

/* Write `cycles` times every size in one go; the total written. */
static uint64_t write_all(struct tls_stream *ts, uint64_t from, int cycles)
{
    static uint8_t buf[70000];
    uint64_t off = from;

    for (int c = 0; c < cycles; c++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            for (size_t j = 0; j < sizes[i]; j++) {
                buf[j] = pattern(off + j);
            }
            assert_int_equal(tls_stream_write(ts, buf, sizes[i]), 0);
            off += sizes[i];
        }
    }
    return off - from;
}

/* --- loop plumbing --------------------------------------------------------
 */

static void handle_closed(uv_handle_t *h)
{
    (void)h;
}

/* Once both streams are closed, close the rest so that the loop ends. */
static void maybe_finish(struct harness *h)
{
    if (h->client.closes == 0 ||
        (h->server_accepted && h->server.closes == 0)) {
        return;
    }
    uv_close((uv_handle_t *)&h->listener, handle_closed);
    uv_close((uv_handle_t *)&h->writer, handle_closed);
    uv_close((uv_handle_t *)&h->watchdog, handle_closed);
}

static void on_close(struct tls_stream *ts)
{
    struct end *e = ts->data;
    e->closes++;
    maybe_finish(e->h);
}

static void on_drain(struct tls_stream *ts)
{
    struct end *e = ts->data;
    assert_int_equal(tls_stream_queued(ts), 0); /* drain_mark 0 */
    e->drains++;
}

static void server_data(struct tls_stream *ts, const uint8_t *d, size_t len)
{
    struct end *e = ts->data;

    check_bytes(e, d, len);
    if (e->h->scenario == SC_ECHO) {
        assert_int_equal(tls_stream_write(ts, d, len), 0);
    }
}

static void client_data(struct tls_stream *ts, const uint8_t *d, size_t len)
{
    struct end *e = ts->data;
    struct harness *h = e->h;

    check_bytes(e, d, len);
    if (e->received == h->total) {
        h->done_ns = uv_hrtime();
        tls_stream_close(ts);
    }
}

static void server_handshake(struct tls_stream *ts)
{
    (void)ts;
}

/* The client's writes, from a timer callback: before the loop polls. */
static void writer_cb(uv_timer_t *t)
{
    struct harness *h = t->data;
    struct tls_stream *ts = &h->client.ts;
    int cycles = h->scenario == SC_ECHO ? 20 : 1;

    h->total = write_all(ts, 0, cycles);
    h->written_ns = uv_hrtime();
    /* All of it waits as plaintext or records, counted as queued. */
    assert_int_equal(ts->plain_len + ts->encrypted, h->total);
    assert_true(tls_stream_queued(ts) >= h->total);
    if (h->scenario == SC_CLOSE) {
        tls_stream_close(ts);
        assert_int_equal(tls_stream_write(ts, "x", 1), -1);
    } else if (h->scenario == SC_ABORT) {
        tls_stream_abort(ts, "test abort");
    }
}

static void client_handshake(struct tls_stream *ts)
{
    struct end *e = ts->data;
    assert_int_equal(
        uv_timer_start(&e->h->writer, writer_cb, WRITE_DELAY_MS, 0), 0);
}

static void watchdog_cb(uv_timer_t *t)
{
    struct harness *h = t->data;
    h->timed_out = true;
    tls_stream_abort(&h->client.ts, "watchdog");
    if (h->server_accepted) {
        tls_stream_abort(&h->server.ts, "watchdog");
    }
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct harness *h = listener->data;
    struct tls_stream *ts = &h->server.ts;

    assert_int_equal(status, 0);
    assert_false(h->server_accepted);
    ts->data = &h->server;
    assert_int_equal(tls_stream_init(ts, &h->loop, h->server_ctx, true), 0);
    h->server_accepted = true;
    assert_int_equal(uv_accept(listener, (uv_stream_t *)&ts->tcp), 0);
    tls_stream_start(ts, 5000, 0, server_handshake, server_data, on_close);
}

static void connected(uv_connect_t *req, int status)
{
    struct harness *h = req->data;

    assert_int_equal(status, 0);
    tls_stream_start(&h->client.ts, 5000, 0, client_handshake, client_data,
                     on_close);
}

static void listen_and_connect(struct harness *h)
{
    struct sockaddr_in addr;
    struct sockaddr_storage bound;
    int len = sizeof bound;

    assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &addr), 0);
    assert_int_equal(uv_tcp_init(&h->loop, &h->listener), 0);
    h->listener.data = h;
    assert_int_equal(
        uv_tcp_bind(&h->listener, (const struct sockaddr *)&addr, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&h->listener, 4, on_connection),
                     0);
    assert_int_equal(
        uv_tcp_getsockname(&h->listener, (struct sockaddr *)&bound, &len), 0);
    h->client.ts.data = &h->client;
    assert_int_equal(
        tls_stream_init(&h->client.ts, &h->loop, h->client_ctx, false), 0);
    h->client.ts.on_drain = on_drain;
    h->client.ts.drain_mark = 0;
    h->connect.data = h;
    assert_int_equal(uv_tcp_connect(&h->connect, &h->client.ts.tcp,
                                    (const struct sockaddr *)&bound, connected),
                     0);
}

/* Run one scenario to its end; the harness is left for the checks. */
static struct harness *run(enum scenario scenario)
{
    struct harness *h = calloc(1, sizeof *h);

    assert_non_null(h);
    h->scenario = scenario;
    h->server.h = h;
    h->client.h = h;
    h->server_ctx = context(1);
    h->client_ctx = context(2);
    assert_int_equal(uv_loop_init(&h->loop), 0);
    assert_int_equal(uv_timer_init(&h->loop, &h->writer), 0);
    assert_int_equal(uv_timer_init(&h->loop, &h->watchdog), 0);
    h->writer.data = h;
    h->watchdog.data = h;
    assert_int_equal(uv_timer_start(&h->watchdog, watchdog_cb, WATCHDOG_MS, 0),
                     0);
    listen_and_connect(h);
    assert_int_equal(uv_run(&h->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&h->loop), 0);
    SSL_CTX_free(h->server_ctx);
    SSL_CTX_free(h->client_ctx);
    assert_false(h->timed_out);
    assert_int_equal(h->client.closes, 1);
    assert_int_equal(h->server.closes, 1);
    return h;
}

/* --- tests ----------------------------------------------------------------
 */

/* Megabytes written in one callback (many writes per turn) come back whole
 * and in order through an end that echoes from its read callback, without
 * waiting for anything else to wake the loop. */
static void test_pipelined_writes_arrive_in_order(void **state)
{
    struct harness *h;

    (void)state;
    h = run(SC_ECHO);
    assert_true(h->total > 2000000);
    assert_int_equal(h->server.received, h->total);
    assert_false(h->server.bad);
    assert_int_equal(h->client.received, h->total);
    assert_false(h->client.bad);
    assert_true(h->client.drains > 0);
    assert_true(h->done_ns - h->written_ns < 5000000000ull);
    free(h);
}

/* A graceful close right after writing sends everything, then
 * close_notify. */
static void test_close_writes_what_is_buffered(void **state)
{
    struct harness *h;

    (void)state;
    h = run(SC_CLOSE);
    assert_int_equal(h->server.received, h->total);
    assert_false(h->server.bad);
    assert_string_equal(h->server.ts.errmsg, "closed by peer");
    free(h);
}

/* An abort drops what was buffered (and frees it: see the sanitizer and
 * valgrind runs). */
static void test_abort_drops_what_is_buffered(void **state)
{
    struct harness *h;

    (void)state;
    h = run(SC_ABORT);
    assert_int_equal(h->server.received, 0);
    assert_string_equal(h->client.ts.errmsg, "test abort");
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipelined_writes_arrive_in_order),
        cmocka_unit_test(test_close_writes_what_is_buffered),
        cmocka_unit_test(test_abort_drops_what_is_buffered),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
