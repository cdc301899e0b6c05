/*
 * The cluster fixture end to end: a 3-node cluster elects a leader, answers
 * klaxonctl, elects another leader when the leader is killed, takes the old
 * leader back after a restart, and a node stopped with SIGTERM exits 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

static int setup(void **state)
{
    return cluster_fixture_setup(state, 3, NULL);
}

static int teardown(void **state)
{
    return cluster_fixture_teardown(state);
}

static void test_failover_cycle(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    char out[16384];
    const char *const status_argv[] = {"status", NULL};
    const char *const list_argv[] = {"list", NULL};
    int leader, new_leader, follower;

    leader = cluster_wait_leader(c, 15000);
    assert_in_range(leader, 1, 3);

    assert_int_equal(cluster_ctl(c, out, sizeof out, status_argv), 0);
    assert_true(strlen(out) > 0);
    assert_int_equal(cluster_ctl(c, out, sizeof out, list_argv), 0);

    assert_int_equal(cluster_kill(c, (unsigned)leader), 0);
    assert_int_equal(cluster_node_pid(c, (unsigned)leader), -1);
    new_leader = cluster_wait_leader(c, 20000);
    assert_in_range(new_leader, 1, 3);
    assert_int_not_equal(new_leader, leader);

    /* The two survivors still serve linearizable reads. */
    assert_int_equal(cluster_ctl(c, out, sizeof out, list_argv), 0);

    assert_int_equal(cluster_restart(c, (unsigned)leader), 0);
    assert_true(cluster_node_pid(c, (unsigned)leader) > 0);
    assert_int_equal(cluster_wait_node(c, (unsigned)leader, 20000), 0);

    /* A graceful stop of a follower is a clean exit. */
    follower = 1;
    while (follower == new_leader) {
        follower++;
    }
    assert_int_equal(cluster_term(c, (unsigned)follower), 0);
    assert_int_equal(cluster_restart(c, (unsigned)follower), 0);
    assert_in_range(cluster_wait_leader(c, 20000), 1, 3);

    f->passed = true;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failover_cycle, setup, teardown),
    };

    return cmocka_run_group_tests_name("fixture", tests, NULL, NULL);
}
