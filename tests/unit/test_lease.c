/*
 * The read lease: good for half an election timeout from the proposal of
 * the last entry that committed, in that term only, never after a drop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lease.h"

#define MS 1000000ull
#define LEASE (1500 * MS) /* half of a 3 s election timeout */

static void test_none_until_a_commit(void **state)
{
    struct lease l;

    (void)state;
    lease_init(&l);
    assert_false(lease_holds(&l, 1, 0, LEASE));
    assert_false(lease_holds(&l, 1, 5 * MS, LEASE));
    lease_extend(&l, 0, 5 * MS); /* no term: ignored */
    assert_false(lease_holds(&l, 0, 5 * MS, LEASE));
}

static void test_lasts_from_the_proposal(void **state)
{
    struct lease l;

    (void)state;
    lease_init(&l);
    lease_extend(&l, 7, 1000 * MS);
    assert_true(lease_holds(&l, 7, 1000 * MS, LEASE));
    assert_true(lease_holds(&l, 7, 2499 * MS, LEASE));
    assert_false(lease_holds(&l, 7, 2500 * MS, LEASE));
    assert_false(lease_holds(&l, 7, 60000 * MS, LEASE)); /* after a pause */
    /* a later commit moves it on; an earlier one reported late does not
     * move it back */
    lease_extend(&l, 7, 2000 * MS);
    assert_true(lease_holds(&l, 7, 3000 * MS, LEASE));
    lease_extend(&l, 7, 1100 * MS);
    assert_true(lease_holds(&l, 7, 3400 * MS, LEASE));
    assert_false(lease_holds(&l, 7, 3500 * MS, LEASE));
}

static void test_term_bound(void **state)
{
    struct lease l;

    (void)state;
    lease_init(&l);
    lease_extend(&l, 3, 1000 * MS);
    assert_false(lease_holds(&l, 4, 1001 * MS, LEASE));
    /* a new term starts a new lease, even from an earlier proposal */
    lease_extend(&l, 4, 900 * MS);
    assert_true(lease_holds(&l, 4, 1001 * MS, LEASE));
    assert_false(lease_holds(&l, 3, 1001 * MS, LEASE));
    assert_false(lease_holds(&l, 4, 2400 * MS, LEASE));
}

static void test_drop(void **state)
{
    struct lease l;

    (void)state;
    lease_init(&l);
    lease_extend(&l, 2, 10 * MS);
    lease_drop(&l);
    assert_false(lease_holds(&l, 2, 11 * MS, LEASE));
}

static void test_clock_behind_the_start(void **state)
{
    struct lease l;

    (void)state;
    lease_init(&l);
    lease_extend(&l, 2, 10 * MS);
    assert_false(lease_holds(&l, 2, 9 * MS, LEASE));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_none_until_a_commit),
        cmocka_unit_test(test_lasts_from_the_proposal),
        cmocka_unit_test(test_term_bound),
        cmocka_unit_test(test_drop),
        cmocka_unit_test(test_clock_behind_the_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
