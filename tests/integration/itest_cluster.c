/*
 * A real 3-node cluster on loopback with TLS: writes through every node,
 * dedup across nodes, linearizable reads, retries with the same request id,
 * SIGKILL of the leader followed by an ack through a survivor, and the
 * killed node catching up after its restart (checked with stale reads on
 * that node alone); reads under the leader's lease, and a leader paused
 * past its lease that must not answer from its old state when it resumes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"

static int setup(void **state)
{
    return cluster_fixture_setup(state, 3, NULL);
}

static int teardown(void **state)
{
    return cluster_fixture_teardown(state);
}

static klaxon_client *client_for(struct cluster *c, unsigned node)
{
    klaxon_client *k = cluster_client(c, cluster_api_address(c, node), 20000);
    assert_non_null(k);
    return k;
}

static uint64_t trigger(klaxon_client *k,
                        const char *service,
                        const char *dedup,
                        const char *rid,
                        struct klaxon_result *res)
{
    struct klaxon_trigger t = {0};
    int rv;
    t.service = service;
    t.severity = 1;
    t.summary = "checkout error rate above 50%";
    t.source = "itest";
    t.dedup_key = dedup;
    t.request_id = rid;
    rv = klaxon_trigger(k, &t, res);
    if (rv != KLAXON_OK) {
        fail_msg("trigger: %s: %s", klaxon_strerror(rv), klaxon_errmsg(k));
    }
    return res->incident_id;
}

static void test_writes_through_every_node(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    struct klaxon_result res;
    struct klaxon_incident_list *list;
    struct klaxon_list_query q = {0};
    uint64_t first = 0;
    klaxon_client *k;

    /* Each node alone: followers send the client to the leader. */
    for (unsigned i = 1; i <= 3; i++) {
        uint64_t id;
        k = client_for(c, i);
        id = trigger(k, "checkout", "cart-errors", NULL, &res);
        if (i == 1) {
            first = id;
            assert_false(res.deduplicated);
        } else {
            assert_int_equal(id, first); /* same open dedup key */
            assert_true(res.deduplicated);
            assert_int_equal(res.alert_count, i);
        }
        klaxon_client_free(k);
    }

    k = client_for(c, 3);
    q.filter = KLAXON_FILTER_OPEN;
    assert_int_equal(klaxon_list(k, &q, KLAXON_READ_LINEARIZABLE, &list),
                     KLAXON_OK);
    assert_int_equal(list->n, 1);
    assert_int_equal(list->items[0].id, first);
    assert_int_equal(list->items[0].alert_count, 3);
    klaxon_incident_list_free(list);
    klaxon_client_free(k);
    f->passed = true;
}

static void test_read_your_writes_across_nodes(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    klaxon_client *writers[3];
    klaxon_client *readers[3];
    struct klaxon_result res;

    for (unsigned i = 0; i < 3; i++) {
        writers[i] = client_for(c, i + 1);
        readers[i] = client_for(c, i + 1);
    }
    for (unsigned round = 0; round < 30; round++) {
        struct klaxon_incident *inc;
        uint64_t id = trigger(writers[round % 3], "search", NULL, NULL, &res);
        /* Linearizable read through another node sees the write. */
        assert_int_equal(klaxon_get(readers[(round + 1) % 3], id,
                                    KLAXON_READ_LINEARIZABLE, &inc),
                         KLAXON_OK);
        assert_int_equal(inc->id, id);
        assert_int_equal(inc->status, KLAXON_TRIGGERED);
        assert_int_equal(inc->n_timeline, 2); /* opened, nobody paged */
        klaxon_incident_free(inc);
    }
    for (unsigned i = 0; i < 3; i++) {
        klaxon_client_free(writers[i]);
        klaxon_client_free(readers[i]);
    }
    f->passed = true;
}

static void test_retry_with_same_request_id(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    struct klaxon_result a;
    struct klaxon_result b;
    klaxon_client *k1 = client_for(c, 1);
    klaxon_client *k2 = client_for(c, 2);

    trigger(k1, "billing", NULL, "billing-retry-1", &a);
    trigger(k2, "billing", NULL, "billing-retry-1", &b);
    assert_int_equal(a.incident_id, b.incident_id);
    assert_int_equal(b.alert_count, 1);
    assert_false(b.deduplicated);
    klaxon_client_free(k1);
    klaxon_client_free(k2);
    f->passed = true;
}

static void test_bad_requests_are_refused(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    struct klaxon_result res;
    struct klaxon_incident *inc;
    klaxon_client *k = client_for(c, 2);
    uint64_t id = trigger(k, "db", NULL, NULL, &res);

    assert_int_equal(klaxon_ack(k, 987654, "alice", &res), KLAXON_ENOTFOUND);
    assert_non_null(strstr(klaxon_errmsg(k), "987654"));
    assert_int_equal(klaxon_get(k, 987654, KLAXON_READ_LINEARIZABLE, &inc),
                     KLAXON_ENOTFOUND);
    assert_int_equal(klaxon_resolve(k, id, "bob", &res), KLAXON_OK);
    assert_int_equal(klaxon_ack(k, id, "alice", &res), KLAXON_ESTATE);
    assert_non_null(strstr(klaxon_errmsg(k), "resolved"));
    assert_int_equal(klaxon_resolve(k, id, "bob", &res), KLAXON_ESTATE);
    assert_int_equal(klaxon_note(k, id, "bob", "postmortem on Monday", &res),
                     KLAXON_OK);
    klaxon_client_free(k);
    f->passed = true;
}

/* Poll a stale read on `node` until the incident has `status`. */
static int wait_stale_status(struct cluster *c,
                             unsigned node,
                             uint64_t id,
                             enum klaxon_status status,
                             unsigned timeout_ms)
{
    uint64_t deadline = cluster_now_ms() + timeout_ms;
    klaxon_client *k = cluster_client(c, cluster_api_address(c, node), 2000);
    int ok = -1;

    assert_non_null(k);
    while (cluster_now_ms() < deadline) {
        struct klaxon_incident *inc;
        if (klaxon_get(k, id, KLAXON_READ_STALE, &inc) == KLAXON_OK) {
            bool match = inc->status == status;
            klaxon_incident_free(inc);
            if (match) {
                ok = 0;
                break;
            }
        }
        usleep(100 * 1000);
    }
    klaxon_client_free(k);
    return ok;
}

/* The API addresses of the two nodes other than `leader`. */
static void survivors_of(const struct cluster *c,
                         unsigned leader,
                         char *out,
                         size_t len)
{
    unsigned others[2];
    unsigned n = 0;

    for (unsigned i = 1; i <= 3; i++) {
        if (i != leader) {
            others[n++] = i;
        }
    }
    snprintf(out, len, "%s,%s", cluster_api_address(c, others[0]),
             cluster_api_address(c, others[1]));
}

static void test_leader_kill_then_ack_through_survivor(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    struct klaxon_result res;
    struct klaxon_incident *inc;
    char survivors[128];
    klaxon_client *k;
    uint64_t id;
    uint64_t t_kill;
    uint64_t t_ack;
    uint64_t t_caught_up;
    int leader = cluster_wait_leader(c, 15000);

    assert_in_range(leader, 1, 3);
    k = cluster_client(c, NULL, 20000);
    assert_non_null(k);
    id = trigger(k, "payments", "gateway-latency", "pay-1", &res);
    klaxon_client_free(k);

    survivors_of(c, (unsigned)leader, survivors, sizeof survivors);

    t_kill = cluster_now_ms();
    assert_int_equal(cluster_kill(c, (unsigned)leader), 0);
    k = cluster_client(c, survivors, 30000);
    assert_non_null(k);
    assert_int_equal(klaxon_ack(k, id, "alice", &res), KLAXON_OK);
    t_ack = cluster_now_ms();
    assert_int_equal(res.status, KLAXON_ACKNOWLEDGED);
    print_message(
        "leader failover: ack confirmed %llu ms after SIGKILL of "
        "the leader (node %d)\n",
        (unsigned long long)(t_ack - t_kill), leader);

    /* The trigger from before the kill is intact, and a retry of it with
     * its request id is answered from the request table. */
    assert_int_equal(klaxon_get(k, id, KLAXON_READ_LINEARIZABLE, &inc),
                     KLAXON_OK);
    assert_string_equal(inc->acknowledged_by, "alice");
    assert_int_equal(inc->n_timeline, 3); /* opened, not paged, acked */
    klaxon_incident_free(inc);
    trigger(k, "payments", "gateway-latency", "pay-1", &res);
    assert_int_equal(res.incident_id, id);
    assert_int_equal(res.alert_count, 1);
    klaxon_client_free(k);

    /* The killed node comes back and catches up: its own (stale) view
     * shows the acknowledgement it missed. */
    assert_int_equal(cluster_restart(c, (unsigned)leader), 0);
    assert_int_equal(
        wait_stale_status(c, (unsigned)leader, id, KLAXON_ACKNOWLEDGED, 20000),
        0);
    t_caught_up = cluster_now_ms();
    print_message("restarted node %d caught up %llu ms after the kill\n",
                  leader, (unsigned long long)(t_caught_up - t_kill));
    f->passed = true;
}

#define LEASE_READS "klaxon_linearizable_reads_total{via=\"lease\"}"
#define BARRIER_READS "klaxon_linearizable_reads_total{via=\"barrier\"}"

struct paused_read
{
    klaxon_client *k;
    uint64_t id;
    int rv;
    struct klaxon_incident *inc;
};

static void *read_in_thread(void *arg)
{
    struct paused_read *r = arg;
    r->rv = klaxon_get(r->k, r->id, KLAXON_READ_LINEARIZABLE, &r->inc);
    return NULL;
}

/* While its writes commit, the leader answers linearizable reads under its
 * lease; idle longer than the lease, it proposes a barrier first. */
static void check_lease_reads(struct cluster *c, unsigned leader, uint64_t id)
{
    struct klaxon_result res;
    struct klaxon_incident *inc;
    klaxon_client *k = client_for(c, leader);
    long lease0 = cluster_metric(c, leader, LEASE_READS);
    long barrier0;
    long lease1;

    assert_true(lease0 >= 0);
    for (unsigned i = 0; i < 20; i++) {
        trigger(k, "search", "index-lag", NULL, &res);
        assert_int_equal(res.incident_id, id);
        assert_int_equal(klaxon_get(k, id, KLAXON_READ_LINEARIZABLE, &inc),
                         KLAXON_OK);
        assert_int_equal(inc->alert_count, i + 2); /* its own write */
        klaxon_incident_free(inc);
    }
    lease1 = cluster_metric(c, leader, LEASE_READS);
    print_message("leader %u: %ld of 20 reads after a write under the lease\n",
                  leader, lease1 - lease0);
    assert_true(lease1 - lease0 >= 10);

    barrier0 = cluster_metric(c, leader, BARRIER_READS);
    usleep(1500 * 1000); /* three lease lengths of the --fast profile */
    assert_int_equal(klaxon_get(k, id, KLAXON_READ_LINEARIZABLE, &inc),
                     KLAXON_OK);
    klaxon_incident_free(inc);
    assert_true(cluster_metric(c, leader, BARRIER_READS) > barrier0);
    klaxon_client_free(k);
}

static void test_lease_reads_and_paused_leader(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    struct klaxon_result res;
    struct paused_read r = {0};
    pthread_t th;
    char survivors[128];
    klaxon_client *k;
    int leader = cluster_wait_leader(c, 15000);

    assert_in_range(leader, 1, 3);
    k = client_for(c, (unsigned)leader);
    r.id = trigger(k, "search", "index-lag", "lease-1", &res);
    klaxon_client_free(k);
    check_lease_reads(c, (unsigned)leader, r.id);

    survivors_of(c, (unsigned)leader, survivors, sizeof survivors);

    /* A connection to the leader alone, open before the pause. */
    r.k = client_for(c, (unsigned)leader);
    assert_int_equal(klaxon_get(r.k, r.id, KLAXON_READ_STALE, &r.inc),
                     KLAXON_OK);
    klaxon_incident_free(r.inc);
    r.inc = NULL;

    assert_int_equal(cluster_signal(c, (unsigned)leader, SIGSTOP), 0);
    k = cluster_client(c, survivors, 30000);
    assert_non_null(k);
    assert_int_equal(klaxon_ack(k, r.id, "alice", &res), KLAXON_OK);
    assert_int_equal(res.status, KLAXON_ACKNOWLEDGED);
    klaxon_client_free(k);

    /* The read reaches the paused node's socket before it resumes: the
     * node wakes up believing it leads, with its lease long expired. */
    assert_int_equal(pthread_create(&th, NULL, read_in_thread, &r), 0);
    usleep(300 * 1000);
    assert_int_equal(cluster_signal(c, (unsigned)leader, SIGCONT), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    print_message("read through the resumed node %d: %s\n", leader,
                  klaxon_strerror(r.rv));
    if (r.rv == KLAXON_OK) {
        assert_string_equal(r.inc->acknowledged_by, "alice");
        klaxon_incident_free(r.inc);
    } else {
        assert_int_equal(r.rv, KLAXON_EUNAVAILABLE);
    }
    klaxon_client_free(r.k);
    f->passed = true;
}

int main(void)
{
    /* The first group shares one cluster; the failover test gets its own. */
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_writes_through_every_node),
        cmocka_unit_test(test_read_your_writes_across_nodes),
        cmocka_unit_test(test_retry_with_same_request_id),
        cmocka_unit_test(test_bad_requests_are_refused),
    };
    const struct CMUnitTest failover[] = {
        cmocka_unit_test_setup_teardown(
            test_leader_kill_then_ack_through_survivor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lease_reads_and_paused_leader,
                                        setup, teardown),
    };
    int failed =
        cmocka_run_group_tests_name("cluster", shared, setup, teardown);
    failed += cmocka_run_group_tests_name("failover", failover, NULL, NULL);
    return failed;
}
