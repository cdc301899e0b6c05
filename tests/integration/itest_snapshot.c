/*
 * Snapshots and restarts on a real cluster: a follower that was down while
 * the others wrote past the snapshot threshold catches up from a snapshot
 * (InstallSnapshot), and a whole-cluster stop and start keeps everything.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"

#define WRITES 300

static int setup(void **state)
{
    return cluster_fixture_setup(
        state, 3, "--snapshot-threshold 64 --snapshot-trailing 16");
}

static int teardown(void **state)
{
    return cluster_fixture_teardown(state);
}

/* Count incidents visible on `node` (stale read of that node alone). */
static long count_on(struct cluster *c, unsigned node, enum klaxon_read read)
{
    klaxon_client *k = cluster_client(c, cluster_api_address(c, node), 3000);
    struct klaxon_list_query q = {0};
    struct klaxon_incident_list *l;
    long n = -1;

    assert_non_null(k);
    q.filter = KLAXON_FILTER_ANY;
    q.limit = 1000;
    if (klaxon_list(k, &q, read, &l) == KLAXON_OK) {
        n = (long)l->n;
        klaxon_incident_list_free(l);
    }
    klaxon_client_free(k);
    return n;
}

static void write_many(struct cluster *c, const char *endpoints, int n)
{
    klaxon_client *k = cluster_client(c, endpoints, 20000);
    assert_non_null(k);
    for (int i = 0; i < n; i++) {
        struct klaxon_trigger t = {0};
        struct klaxon_result res;
        char summary[64];
        int rv;
        snprintf(summary, sizeof summary, "disk %d almost full", i);
        t.service = "storage";
        t.severity = 3;
        t.summary = summary;
        rv = klaxon_trigger(k, &t, &res);
        if (rv != KLAXON_OK) {
            fail_msg("trigger %d: %s", i, klaxon_errmsg(k));
        }
    }
    klaxon_client_free(k);
}

/* Poll a stale count on `node` until it reaches `want` or time runs out;
 * returns the last count seen. */
static long wait_count(struct cluster *c,
                       unsigned node,
                       long want,
                       unsigned timeout_ms)
{
    uint64_t t0 = cluster_now_ms();
    long seen = count_on(c, node, KLAXON_READ_STALE);
    while (seen != want && cluster_now_ms() - t0 < timeout_ms) {
        usleep(100 * 1000);
        seen = count_on(c, node, KLAXON_READ_STALE);
    }
    return seen;
}

static void test_lagging_follower_catches_up_from_snapshot(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    int leader = cluster_wait_leader(c, 15000);
    unsigned down = leader == 3 ? 2 : 3;
    char endpoints[128];
    uint64_t t0;
    long seen = 0;

    assert_in_range(leader, 1, 3);
    snprintf(endpoints, sizeof endpoints, "%s",
             cluster_api_address(c, (unsigned)leader));
    assert_int_equal(cluster_kill(c, down), 0);
    write_many(c, endpoints, WRITES);

    assert_int_equal(cluster_restart(c, down), 0);
    t0 = cluster_now_ms();
    /* Normally about a second. If the follower's answer to the snapshot
     * is lost, the leader sends it again only after its install-snapshot
     * timeout (30 s + 10 election timeouts, node.c): wait past that. */
    seen = wait_count(c, down, WRITES, 60000);
    assert_int_equal(seen, WRITES);
    print_message(
        "node %u caught up with %d incidents %llu ms after its "
        "restart\n",
        down, WRITES, (unsigned long long)(cluster_now_ms() - t0));
    assert_true(cluster_log_contains(
        c, down, "comp=snapshot msg=\"restored state at index"));
    /* The leader's snapshot is a reference: it sent the state file. */
    assert_true(cluster_log_contains(
        c, (unsigned)leader, "comp=snapshot msg=\"sending the state at index"));
    assert_true(cluster_metric(c, (unsigned)leader,
                               "klaxon_snapshot_sends_total{result=\"ok\"}") >=
                1);
    assert_true(cluster_metric(c, (unsigned)leader,
                               "klaxon_raft_snapshot_threshold_entries") >= 16);
    /* The mapped-page trimmer runs (limits.state_mapped_mb, default on). */
    assert_true(cluster_metric(c, (unsigned)leader,
                               "klaxon_process_file_resident_bytes") > 0);
    assert_true(cluster_metric(c, (unsigned)leader,
                               "klaxon_state_map_trims_total") >= 0);
    f->passed = true;
}

/* Write `text` to node's data/state/boot_id: its next start believes the
 * machine restarted since it last ran. */
static void fake_reboot(struct cluster *c, unsigned node)
{
    char dir[512];
    char path[600];
    FILE *fp;

    assert_non_null(cluster_node_dir(c, node, dir, sizeof dir));
    snprintf(path, sizeof path, "%s/data/state/boot_id", dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("00000000-0000-0000-0000-000000000000\n", fp);
    assert_int_equal(fclose(fp), 0);
}

static void test_state_rebuilt_from_state_file(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    const unsigned node = 2;

    write_many(c, c->endpoints, WRITES);
    assert_int_equal(wait_count(c, node, WRITES, 10000), WRITES);
    /* A crash of the machine: no clean stop, another boot. The node
     * discards its LMDB state and loads the state file its latest Raft
     * snapshot names, then replays the log after it. */
    assert_int_equal(cluster_kill(c, node), 0);
    fake_reboot(c, node);
    assert_int_equal(cluster_restart(c, node), 0);
    assert_int_equal(wait_count(c, node, WRITES, 20000), WRITES);
    assert_true(cluster_log_contains(c, node, "did not stop cleanly"));
    assert_true(cluster_log_contains(c, node,
                                     "snapshot msg=\"restored state at index"));
    assert_true(cluster_log_contains(c, node, " from state-0"));
    f->passed = true;
}

static void test_whole_cluster_restart_keeps_state(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;

    write_many(c, c->endpoints, 100);
    for (unsigned i = 1; i <= 3; i++) {
        assert_int_equal(cluster_term(c, i), 0);
    }
    for (unsigned i = 1; i <= 3; i++) {
        assert_int_equal(cluster_restart(c, i), 0);
    }
    assert_in_range(cluster_wait_leader(c, 20000), 1, 3);
    assert_int_equal(count_on(c, 1, KLAXON_READ_LINEARIZABLE), 100);
    /* A follower applies the last entries once the new leader tells it the
     * commit index: its own view converges shortly after. */
    for (unsigned i = 1; i <= 3; i++) {
        assert_int_equal(wait_count(c, i, 100, 10000), 100);
    }
    f->passed = true;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_lagging_follower_catches_up_from_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whole_cluster_restart_keeps_state,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_rebuilt_from_state_file,
                                        setup, teardown),
    };
    return cmocka_run_group_tests_name("snapshot", tests, NULL, NULL);
}
