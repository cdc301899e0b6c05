/*
 * The in-memory log budget: entry sizes turn into snapshot threshold and
 * trailing counts within the configured ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "log_budget.h"

#define MIB (1024u * 1024u)

/* Feed n entries of len bytes; true if any of them changed the counts. */
static bool feed(struct log_budget *b, unsigned n, size_t len)
{
    bool changed = false;
    for (unsigned i = 0; i < n; i++) {
        changed |= log_budget_add(b, len);
    }
    return changed;
}

static void test_off_keeps_configured_counts(void **state)
{
    struct log_budget b;
    (void)state;
    log_budget_init(&b, 0, 8192, 8192);
    assert_false(feed(&b, 10000, 10240));
    assert_int_equal(b.threshold, 8192);
    assert_int_equal(b.trailing, 8192);
}

static void test_large_entries_lower_the_counts(void **state)
{
    struct log_budget b;
    (void)state;
    log_budget_init(&b, 32 * MIB, 8192, 8192);
    /* no estimate before a full sample */
    assert_false(feed(&b, LOG_BUDGET_SAMPLE - 1, 10240));
    assert_int_equal(b.threshold, 8192);
    assert_true(log_budget_add(&b, 10240));
    assert_int_equal(b.threshold, 32 * MIB * 3 / 4 / 10240);
    assert_int_equal(b.trailing, 32 * MIB / 4 / 10240);
    /* the log it allows stays within the budget */
    assert_true((uint64_t)(b.threshold + b.trailing) * 10240 <= 32 * MIB);
}

static void test_small_entries_keep_configured_counts(void **state)
{
    struct log_budget b;
    (void)state;
    log_budget_init(&b, 32 * MIB, 8192, 4096);
    assert_false(feed(&b, 1000, 300));
    assert_int_equal(b.threshold, 8192);
    assert_int_equal(b.trailing, 4096);
}

static void test_floor_and_zero_trailing(void **state)
{
    struct log_budget b;
    (void)state;
    log_budget_init(&b, 1 * MIB, 8192, 0);
    assert_true(feed(&b, LOG_BUDGET_SAMPLE, 1u << 20));
    assert_int_equal(b.threshold, LOG_BUDGET_MIN_ENTRIES);
    assert_int_equal(b.trailing, 0); /* never above what is configured */
}

static void test_follows_a_change_of_size(void **state)
{
    struct log_budget b;
    unsigned before;
    (void)state;
    log_budget_init(&b, 32 * MIB, 100000, 100000);
    feed(&b, 20 * LOG_BUDGET_SAMPLE, 16384);
    before = b.threshold;
    assert_in_range(before, 1530, 1540);
    feed(&b, 40 * LOG_BUDGET_SAMPLE, 1024);
    /* converged on the new size, within the rounding of the average */
    assert_in_range(b.threshold, 24000, 24576);
    assert_true(b.threshold > before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off_keeps_configured_counts),
        cmocka_unit_test(test_large_entries_lower_the_counts),
        cmocka_unit_test(test_small_entries_keep_configured_counts),
        cmocka_unit_test(test_floor_and_zero_trailing),
        cmocka_unit_test(test_follows_a_change_of_size),
    };
    return cmocka_run_group_tests_name("log_budget", tests, NULL, NULL);
}
