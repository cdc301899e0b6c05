/*
 * Clean shutdown, many times in a row: SIGTERM to leaders and followers
 * must exit 0 every time (libraft 0.15 can run its close callback twice),
 * leave nothing behind, and the cluster must keep every acknowledged write.
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

#define ROUNDS 12

static int setup(void **state)
{
    return cluster_fixture_setup(state, 3, NULL);
}

static int teardown(void **state)
{
    return cluster_fixture_teardown(state);
}

static void test_repeated_sigterm(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    klaxon_client *k = cluster_client(c, NULL, 30000);
    uint64_t ids[ROUNDS];
    unsigned leaders_stopped = 0;

    assert_non_null(k);
    for (unsigned round = 0; round < ROUNDS; round++) {
        struct klaxon_trigger t = {0};
        struct klaxon_result res;
        int leader = cluster_wait_leader(c, 20000);
        unsigned victim;
        int status;

        assert_in_range(leader, 1, 3);
        t.service = "cron";
        t.severity = 4;
        t.summary = "nightly backup late";
        assert_int_equal(klaxon_trigger(k, &t, &res), KLAXON_OK);
        ids[round] = res.incident_id;
        /* Even rounds stop the leader, odd rounds a follower. */
        victim = round % 2 == 0 ? (unsigned)leader : (unsigned)(leader % 3) + 1;
        leaders_stopped += (int)victim == leader;
        status = cluster_term(c, victim);
        if (status != 0) {
            fail_msg("round %u: node %u exited with status %d after SIGTERM",
                     round, victim, status);
        }
        assert_int_equal(cluster_restart(c, victim), 0);
    }
    assert_in_range(cluster_wait_leader(c, 20000), 1, 3);
    for (unsigned round = 0; round < ROUNDS; round++) {
        struct klaxon_incident *inc;
        assert_int_equal(
            klaxon_get(k, ids[round], KLAXON_READ_LINEARIZABLE, &inc),
            KLAXON_OK);
        klaxon_incident_free(inc);
    }
    print_message("%d clean stops (%u of leaders), all exited 0\n", ROUNDS,
                  leaders_stopped);
    klaxon_client_free(k);
    for (unsigned i = 1; i <= 3; i++) {
        assert_int_equal(cluster_term(c, i), 0);
    }
    f->passed = true;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_repeated_sigterm, setup, teardown),
    };
    return cmocka_run_group_tests_name("shutdown", tests, NULL, NULL);
}
