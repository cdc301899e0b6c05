/*
 * Escalation decisions as pure functions: start, every step through the
 * levels and repeats, exhaustion, conditions, the clock kept from the
 * previous deadline, and whether an acknowledgement stops escalation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "escalation.h"

#define T0 1700000000000ull
#define MIN 60000ull

struct policy
{
    Klaxon__EscalationPolicy p;
    Klaxon__EscalationLevel levels[4];
    Klaxon__EscalationLevel *ptrs[4];
};

/* The seed's policy: 5, 10, 15 minutes, repeat 3. */
static void seed_policy(struct policy *pol, uint32_t repeat)
{
    static const uint64_t timeouts[] = {5 * MIN, 10 * MIN, 15 * MIN};

    klaxon__escalation_policy__init(&pol->p);
    for (size_t i = 0; i < 3; i++) {
        klaxon__escalation_level__init(&pol->levels[i]);
        pol->levels[i].timeout_ms = timeouts[i];
        pol->ptrs[i] = &pol->levels[i];
    }
    pol->p.levels = pol->ptrs;
    pol->p.n_levels = 3;
    pol->p.repeat = repeat;
}

static void test_start_escalate(void **state)
{
    struct policy pol;
    struct esc_step s;

    (void)state;
    seed_policy(&pol, 3);
    escalation_start(&pol.p, KLAXON__PAGING__PAGING_ESCALATE, T0, &s);
    assert_int_equal(s.level, 1);
    assert_int_equal(s.loop, 0);
    assert_true(s.page);
    assert_false(s.exhausted);
    assert_int_equal(s.next_due_ms, T0 + 5 * MIN);
}

static void test_start_first_level_and_none(void **state)
{
    struct policy pol;
    struct esc_step s;

    (void)state;
    seed_policy(&pol, 0);
    escalation_start(&pol.p, KLAXON__PAGING__PAGING_FIRST_LEVEL, T0, &s);
    assert_int_equal(s.level, 1);
    assert_true(s.page);
    assert_int_equal(s.next_due_ms, 0);
    escalation_start(&pol.p, KLAXON__PAGING__PAGING_NONE, T0, &s);
    assert_int_equal(s.level, 0);
    assert_false(s.page);
    assert_int_equal(s.next_due_ms, 0);
    escalation_start(NULL, KLAXON__PAGING__PAGING_ESCALATE, T0, &s);
    assert_false(s.page);
}

/* Walk the whole seed policy with repeat 3 without an ack: 3 levels x 4
 * passes, then exhaustion, every deadline on the escalation's own clock. */
static void test_full_walk_with_repeats(void **state)
{
    struct policy pol;
    struct esc_step s;
    uint64_t due;
    unsigned pages = 1; /* level 1 at start */

    (void)state;
    seed_policy(&pol, 3);
    escalation_start(&pol.p, KLAXON__PAGING__PAGING_ESCALATE, T0, &s);
    due = s.next_due_ms;
    for (unsigned step = 1; step < 12; step++) {
        uint32_t level = s.level;
        uint32_t loop = s.loop;
        escalation_advance(&pol.p, level, loop, false, due, &s);
        assert_false(s.exhausted);
        assert_true(s.page);
        assert_int_equal(s.level, step % 3 + 1);
        assert_int_equal(s.loop, step / 3);
        assert_int_equal(s.repeated, step % 3 == 0);
        assert_int_equal(s.next_due_ms,
                         due + pol.levels[s.level - 1].timeout_ms);
        due = s.next_due_ms;
        pages++;
    }
    assert_int_equal(pages, 12);
    /* 4 passes of 30 minutes */
    assert_int_equal(due, T0 + 4 * 30 * MIN);
    escalation_advance(&pol.p, s.level, s.loop, false, due, &s);
    assert_true(s.exhausted);
    assert_false(s.page);
    assert_int_equal(s.next_due_ms, 0);
    assert_int_equal(s.level, 3);
    assert_int_equal(s.loop, 3);
}

/* A late step keeps the clock: the next deadline counts from the previous
 * deadline, not from when the step was applied. */
static void test_deadline_from_previous_deadline(void **state)
{
    struct policy pol;
    struct esc_step s;

    (void)state;
    seed_policy(&pol, 0);
    escalation_advance(&pol.p, 1, 0, false, T0 + 5 * MIN, &s);
    assert_int_equal(s.level, 2);
    assert_int_equal(s.next_due_ms, T0 + 15 * MIN);
}

static void test_no_repeat_exhausts_after_last_level(void **state)
{
    struct policy pol;
    struct esc_step s;

    (void)state;
    seed_policy(&pol, 0);
    escalation_advance(&pol.p, 3, 0, false, T0, &s);
    assert_true(s.exhausted);
    assert_false(s.page);
}

static void test_ack_stops_unless_not_resolved_level(void **state)
{
    struct policy pol;
    struct esc_step s;

    (void)state;
    seed_policy(&pol, 0);
    assert_false(escalation_continues_when_acked(&pol.p, 1, 0));
    assert_false(escalation_continues_when_acked(NULL, 1, 0));
    /* Level 3 (the manager) pages while the incident is not resolved. */
    pol.levels[2].condition = KLAXON__CONDITION__IF_NOT_RESOLVED;
    assert_true(escalation_continues_when_acked(&pol.p, 1, 0));
    assert_true(escalation_continues_when_acked(&pol.p, 2, 0));
    assert_false(escalation_continues_when_acked(&pol.p, 3, 0));
    /* Acknowledged at level 1: level 2 is skipped, level 3 pages. */
    escalation_advance(&pol.p, 1, 0, true, T0, &s);
    assert_int_equal(s.level, 2);
    assert_false(s.page);
    assert_int_equal(s.next_due_ms, T0 + 10 * MIN);
    escalation_advance(&pol.p, 2, 0, true, s.next_due_ms, &s);
    assert_int_equal(s.level, 3);
    assert_true(s.page);
    /* nothing after level 3 pages when acknowledged: no more deadline */
    assert_int_equal(s.next_due_ms, 0);
}

static void test_not_resolved_level_in_a_later_pass(void **state)
{
    struct policy pol;

    (void)state;
    seed_policy(&pol, 1);
    pol.levels[0].condition = KLAXON__CONDITION__IF_NOT_RESOLVED;
    /* At level 3 of pass 0, level 1 of the repeat still pages. */
    assert_true(escalation_continues_when_acked(&pol.p, 3, 0));
    /* In the last pass, level 1 lies behind. */
    assert_false(escalation_continues_when_acked(&pol.p, 3, 1));
}

static void test_acknowledged_skips_not_acknowledged_levels(void **state)
{
    struct policy pol;
    struct esc_step s;

    (void)state;
    seed_policy(&pol, 0);
    escalation_advance(&pol.p, 1, 0, true, T0, &s);
    assert_false(s.page);
    assert_int_equal(s.next_due_ms, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_escalate),
        cmocka_unit_test(test_start_first_level_and_none),
        cmocka_unit_test(test_full_walk_with_repeats),
        cmocka_unit_test(test_deadline_from_previous_deadline),
        cmocka_unit_test(test_no_repeat_exhausts_after_last_level),
        cmocka_unit_test(test_ack_stops_unless_not_resolved_level),
        cmocka_unit_test(test_not_resolved_level_in_a_later_pass),
        cmocka_unit_test(test_acknowledged_skips_not_acknowledged_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
