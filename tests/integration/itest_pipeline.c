/*
 * libklaxon's pipelines (klaxon_pipeline_*) against a real 3-node cluster:
 * many requests in flight on one connection, answers matched to their
 * requests, refusals reported per request, a full pipeline, the leader
 * followed from a follower, every write acknowledged exactly once across
 * a SIGKILL of the leader, and a cluster that cannot be reached.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

#define DEPTH 64
#define MANY 600

static int setup(void **state)
{
    return cluster_fixture_setup(state, 3, NULL);
}

static int teardown(void **state)
{
    return cluster_fixture_teardown(state);
}

/* A follower's address: the pipeline has to find the leader itself. */
static const char *follower(struct cluster *c)
{
    int leader = cluster_wait_leader(c, 20000);

    assert_true(leader > 0);
    return cluster_api_address(c, leader == 1 ? 2 : 1);
}

static int submit_trigger(klaxon_pipeline *p, const char *key, uintptr_t tag)
{
    struct klaxon_trigger t = {0};

    t.service = "checkout";
    t.severity = 2;
    t.summary = "pipelined alert";
    t.dedup_key = key;
    return klaxon_pipeline_trigger(p, &t, (void *)tag);
}

/* Poll until every submitted request completed (at most 30 s); stores
 * each completion at out[tag]. */
static void drain(klaxon_pipeline *p, struct klaxon_completion *out, size_t n)
{
    struct klaxon_completion done[32];
    uint64_t end = cluster_now_ms() + 30000;
    size_t got;

    while (klaxon_pipeline_pending(p) > 0 && cluster_now_ms() < end) {
        assert_int_equal(klaxon_pipeline_poll(p, done, 32, 1000, &got),
                         KLAXON_OK);
        for (size_t i = 0; i < got; i++) {
            uintptr_t tag = (uintptr_t)done[i].tag;
            assert_true(tag < n);
            out[tag] = done[i];
        }
    }
    assert_int_equal(klaxon_pipeline_pending(p), 0);
}

static void test_many_in_flight(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    klaxon_client *k = cluster_client(c, follower(c), 20000);
    struct klaxon_completion *done = calloc(MANY, sizeof *done);
    klaxon_pipeline *p;
    char key[32];
    size_t sent = 0;

    assert_non_null(k);
    assert_non_null(done);
    assert_int_equal(klaxon_pipeline_new(k, DEPTH, &p), KLAXON_OK);
    /* Fill it: the next submission is refused and queues nothing. */
    for (; sent < DEPTH; sent++) {
        snprintf(key, sizeof key, "k-%zu", sent % 50);
        assert_int_equal(submit_trigger(p, key, sent), KLAXON_OK);
    }
    assert_int_equal(submit_trigger(p, "one-more", 999), KLAXON_EBUSY);
    assert_int_equal(klaxon_pipeline_pending(p), DEPTH);
    /* Keep it full until MANY were sent. */
    while (sent < MANY) {
        struct klaxon_completion d[16];
        size_t n;
        assert_int_equal(klaxon_pipeline_poll(p, d, 16, 5000, &n), KLAXON_OK);
        assert_true(n > 0);
        for (size_t i = 0; i < n; i++) {
            done[(uintptr_t)d[i].tag] = d[i];
        }
        for (size_t i = 0; i < n && sent < MANY; i++, sent++) {
            snprintf(key, sizeof key, "k-%zu", sent % 50);
            assert_int_equal(submit_trigger(p, key, sent), KLAXON_OK);
        }
    }
    drain(p, done, MANY);
    /* 50 dedup keys: 50 incidents, each trigger attached to its key's. */
    uint64_t ids[50] = {0};
    size_t fresh = 0;
    for (size_t i = 0; i < MANY; i++) {
        if (done[i].code != KLAXON_OK) {
            fail_msg("trigger %zu: %s: %s", i, klaxon_strerror(done[i].code),
                     done[i].message);
        }
        fresh += !done[i].result.deduplicated;
        if (ids[i % 50] == 0) {
            ids[i % 50] = done[i].result.incident_id;
        }
        assert_int_equal(done[i].result.incident_id, ids[i % 50]);
    }
    assert_int_equal(fresh, 50);
    free(done);
    klaxon_pipeline_free(p);
    klaxon_client_free(k);
    f->passed = true;
}

static void test_refusals_and_reads(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    klaxon_client *k = cluster_client(c, NULL, 20000);
    struct klaxon_completion done[4];
    struct klaxon_trigger bad = {0};
    klaxon_pipeline *p;

    assert_non_null(k);
    assert_int_equal(klaxon_pipeline_new(k, 0, &p), KLAXON_EINVAL);
    assert_null(p);
    assert_non_null(strstr(klaxon_errmsg(k), "depth"));
    assert_int_equal(klaxon_pipeline_new(k, 8, &p), KLAXON_OK);
    /* Checked at submission: nothing queued. */
    bad.service = "checkout";
    bad.severity = 7;
    bad.summary = "x";
    assert_int_equal(klaxon_pipeline_trigger(p, &bad, NULL), KLAXON_EINVAL);
    assert_non_null(strstr(klaxon_pipeline_errmsg(p), "severity"));
    assert_int_equal(klaxon_pipeline_pending(p), 0);
    /* Refused by the node: reported in the completion. */
    assert_int_equal(submit_trigger(p, "read-me", 0), KLAXON_OK);
    assert_int_equal(klaxon_pipeline_ack(p, 987654, "alice", (void *)1),
                     KLAXON_OK);
    drain(p, done, 2);
    assert_int_equal(done[0].code, KLAXON_OK);
    assert_int_equal(done[1].code, KLAXON_ENOTFOUND);
    assert_true(done[1].message[0] != '\0');
    /* Ack, resolve and read it back, all in flight at once. */
    uint64_t id = done[0].result.incident_id;
    assert_int_equal(klaxon_pipeline_ack(p, id, "alice", (void *)0), KLAXON_OK);
    drain(p, done, 1);
    assert_int_equal(done[0].code, KLAXON_OK);
    assert_int_equal(done[0].result.status, KLAXON_ACKNOWLEDGED);
    assert_int_equal(klaxon_pipeline_resolve(p, id, "alice", (void *)0),
                     KLAXON_OK);
    drain(p, done, 1);
    assert_int_equal(done[0].code, KLAXON_OK);
    assert_int_equal(klaxon_pipeline_get(p, id, (void *)0), KLAXON_OK);
    drain(p, done, 1);
    assert_int_equal(done[0].code, KLAXON_OK);
    assert_non_null(done[0].incident);
    assert_int_equal(done[0].incident->status, KLAXON_RESOLVED);
    assert_string_equal(done[0].incident->acknowledged_by, "alice");
    klaxon_incident_free(done[0].incident);
    klaxon_pipeline_free(p);
    klaxon_client_free(k);
    f->passed = true;
}

/* Count incidents of service with dedup key prefix "lk-". */
static size_t count_incidents(klaxon_client *k, const char *service)
{
    struct klaxon_list_query q = {.service = service, .limit = 1000};
    struct klaxon_incident_list *l;
    size_t n = 0;

    do {
        assert_int_equal(klaxon_list(k, &q, KLAXON_READ_LINEARIZABLE, &l),
                         KLAXON_OK);
        n += l->n;
        q.before_id = l->n > 0 ? l->items[l->n - 1].id : 0;
        bool more = l->more;
        klaxon_incident_list_free(l);
        if (!more) {
            break;
        }
    } while (1);
    return n;
}

static void test_leader_killed(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    klaxon_client *k = cluster_client(c, NULL, 20000);
    struct klaxon_completion *done = calloc(MANY, sizeof *done);
    klaxon_pipeline *p;
    int leader = cluster_wait_leader(c, 20000);
    char key[32];
    size_t sent = 0;

    assert_non_null(k);
    assert_non_null(done);
    assert_true(leader > 0);
    assert_int_equal(klaxon_pipeline_new(k, 32, &p), KLAXON_OK);
    while (sent < MANY) {
        struct klaxon_completion d[16];
        size_t n;
        while (sent < MANY) {
            snprintf(key, sizeof key, "lk-%zu", sent);
            struct klaxon_trigger t = {.service = "failover",
                                       .severity = 1,
                                       .summary = "during a failover",
                                       .dedup_key = key};
            if (klaxon_pipeline_trigger(p, &t, (void *)sent) != KLAXON_OK) {
                break;
            }
            sent++;
        }
        if (sent >= MANY / 3 && leader > 0) {
            assert_int_equal(cluster_kill(c, (unsigned)leader), 0);
            leader = 0;
        }
        assert_int_equal(klaxon_pipeline_poll(p, d, 16, 1000, &n), KLAXON_OK);
        for (size_t i = 0; i < n; i++) {
            done[(uintptr_t)d[i].tag] = d[i];
        }
    }
    drain(p, done, MANY);
    for (size_t i = 0; i < MANY; i++) {
        if (done[i].code != KLAXON_OK) {
            fail_msg("trigger %zu: %s: %s", i, klaxon_strerror(done[i].code),
                     done[i].message);
        }
        assert_false(done[i].result.deduplicated);
    }
    /* Retries kept their request ids: one incident per trigger. */
    assert_int_equal(count_incidents(k, "failover"), MANY);
    free(done);
    klaxon_pipeline_free(p);
    klaxon_client_free(k);
    f->passed = true;
}

static void test_unreachable(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    klaxon_client *k = cluster_client(c, "127.0.0.1:1", 1000);
    struct klaxon_completion done[1];
    klaxon_pipeline *p;

    assert_non_null(k);
    assert_int_equal(klaxon_pipeline_new(k, 4, &p), KLAXON_OK);
    assert_int_equal(submit_trigger(p, "nowhere", 0), KLAXON_OK);
    drain(p, done, 1);
    assert_int_equal(done[0].code, KLAXON_ECONNECT);
    assert_non_null(strstr(done[0].message, "127.0.0.1:1"));
    klaxon_pipeline_free(p);
    klaxon_client_free(k);
    f->passed = true;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_many_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_and_reads, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_leader_killed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
