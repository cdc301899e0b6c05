/*
 * Election timers (server/node.c, server/config.c): libraft's base is half
 * the configured election timeout (never under two heartbeat timeouts), a
 * follower draws its timer from the lower half of libraft's range, a node
 * that just stood for election retries its pre-vote at the base, and every
 * other timer keeps libraft's whole range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <raft.h>
#include <string.h>

#include "config.h"
#include "node.h"

static unsigned base_of(unsigned heartbeat_ms, unsigned election_ms)
{
    struct config c;

    memset(&c, 0, sizeof c);
    c.heartbeat_ms = heartbeat_ms;
    c.election_ms = election_ms;
    return config_election_base_ms(&c);
}

static void test_base_is_half_the_election_timeout(void **state)
{
    (void)state;
    assert_int_equal(base_of(500, 3000), 1500);  /* the defaults */
    assert_int_equal(base_of(100, 1000), 500);   /* local-cluster.sh --fast */
    assert_int_equal(base_of(1000, 5000), 2500); /* five-nodes example */
    assert_int_equal(base_of(500, 2000), 1000);  /* exactly 2 heartbeats */
}

static void test_base_is_at_least_two_heartbeats(void **state)
{
    (void)state;
    /* election_timeout may be as low as 3 heartbeat timeouts */
    assert_int_equal(base_of(500, 1500), 1000);
    assert_int_equal(base_of(60000, 180000), 120000);
}

static void range(int st, bool pre_vote, bool first, int *lo, int *hi)
{
    node_timer_range(st, pre_vote, first, 1500, 3000, lo, hi);
}

static void test_follower_draws_the_lower_half(void **state)
{
    int lo;
    int hi;

    (void)state;
    range(RAFT_FOLLOWER, false, false, &lo, &hi);
    assert_int_equal(lo, 1500);
    assert_int_equal(hi, 2250);
    range(RAFT_FOLLOWER, false, true, &lo, &hi);
    assert_int_equal(lo, 1500);
    assert_int_equal(hi, 2250);
}

static void test_first_pre_vote_retries_at_the_base(void **state)
{
    int lo;
    int hi;

    (void)state;
    range(RAFT_CANDIDATE, true, true, &lo, &hi);
    assert_int_equal(lo, 1500);
    assert_int_equal(hi, 1500);
}

static void test_other_timers_keep_the_whole_range(void **state)
{
    int lo;
    int hi;

    (void)state;
    /* a later pre-vote retry */
    range(RAFT_CANDIDATE, true, false, &lo, &hi);
    assert_int_equal(lo, 1500);
    assert_int_equal(hi, 3000);
    /* a real vote, first or not (a leadership transfer skips the pre-vote) */
    range(RAFT_CANDIDATE, false, true, &lo, &hi);
    assert_int_equal(lo, 1500);
    assert_int_equal(hi, 3000);
    range(RAFT_CANDIDATE, false, false, &lo, &hi);
    assert_int_equal(lo, 1500);
    assert_int_equal(hi, 3000);
    range(RAFT_LEADER, false, false, &lo, &hi);
    assert_int_equal(lo, 1500);
    assert_int_equal(hi, 3000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_is_half_the_election_timeout),
        cmocka_unit_test(test_base_is_at_least_two_heartbeats),
        cmocka_unit_test(test_follower_draws_the_lower_half),
        cmocka_unit_test(test_first_pre_vote_retries_at_the_base),
        cmocka_unit_test(test_other_timers_keep_the_whole_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
