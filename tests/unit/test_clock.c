/*
 * The node's time: follows the wall clock and its slews, holds through a
 * step forward or back until the clock returns, and takes a step that
 * stays as right after the hold.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"

#define WALL0 1800000000000ull
#define MONO0 5000ull

static void test_follows_wall_and_slews(void **state)
{
    struct clock c;
    enum clock_event ev;

    (void)state;
    clock_init(&c, WALL0, MONO0);
    assert_int_equal(clock_read(&c, WALL0 + 1000, MONO0 + 1000, &ev, NULL),
                     WALL0 + 1000);
    assert_int_equal(ev, CLOCK_STEADY);
    /* NTP slews: 3 s over an hour, in small steps */
    for (uint64_t s = 1; s <= 3600; s++) {
        uint64_t t =
            clock_read(&c, WALL0 + s * 1000 + s, MONO0 + s * 1000, &ev, NULL);
        assert_int_equal(t, WALL0 + s * 1000 + s);
        assert_int_equal(ev, CLOCK_STEADY);
    }
}

static void test_step_forward_is_held_until_back(void **state)
{
    struct clock c;
    enum clock_event ev;
    int64_t jump;

    (void)state;
    clock_init(&c, WALL0, MONO0);
    /* +189 s at mono +10 s: the node keeps its own time */
    assert_int_equal(
        clock_read(&c, WALL0 + 10000 + 189000, MONO0 + 10000, &ev, &jump),
        WALL0 + 10000);
    assert_int_equal(ev, CLOCK_STEPPED);
    assert_int_equal(jump, 189000);
    assert_int_equal(
        clock_read(&c, WALL0 + 15000 + 189000, MONO0 + 15000, &ev, NULL),
        WALL0 + 15000);
    assert_int_equal(ev, CLOCK_STEADY);
    /* the clock comes back (within the step limit): followed again */
    assert_int_equal(clock_read(&c, WALL0 + 20200, MONO0 + 20000, &ev, NULL),
                     WALL0 + 20200);
    assert_int_equal(ev, CLOCK_BACK);
    assert_int_equal(clock_read(&c, WALL0 + 21200, MONO0 + 21000, &ev, NULL),
                     WALL0 + 21200);
    assert_int_equal(ev, CLOCK_STEADY);
}

static void test_step_back_is_held(void **state)
{
    struct clock c;
    enum clock_event ev;

    (void)state;
    clock_init(&c, WALL0, MONO0);
    assert_int_equal(
        clock_read(&c, WALL0 + 1000 - 120000, MONO0 + 1000, &ev, NULL),
        WALL0 + 1000);
    assert_int_equal(ev, CLOCK_STEPPED);
    /* time still moves forward with the monotonic clock */
    assert_int_equal(
        clock_read(&c, WALL0 + 9000 - 120000, MONO0 + 9000, &ev, NULL),
        WALL0 + 9000);
}

static void test_small_jumps_are_followed(void **state)
{
    struct clock c;
    enum clock_event ev;

    (void)state;
    clock_init(&c, WALL0, MONO0);
    assert_int_equal(
        clock_read(&c, WALL0 + 1000 + CLOCK_STEP_MS, MONO0 + 1000, &ev, NULL),
        WALL0 + 1000 + CLOCK_STEP_MS);
    assert_int_equal(ev, CLOCK_STEADY);
}

static void test_step_that_stays_is_accepted(void **state)
{
    struct clock c;
    enum clock_event ev;
    uint64_t mono;

    (void)state;
    clock_init(&c, WALL0, MONO0);
    mono = MONO0 + 1000;
    clock_read(&c, WALL0 + 1000 + 60000, mono, &ev, NULL);
    assert_int_equal(ev, CLOCK_STEPPED);
    mono += CLOCK_STEP_HOLD_MS - 1;
    assert_int_equal(
        clock_read(&c, WALL0 + (mono - MONO0) + 60000, mono, &ev, NULL),
        WALL0 + (mono - MONO0));
    mono += 1;
    assert_int_equal(
        clock_read(&c, WALL0 + (mono - MONO0) + 60000, mono, &ev, NULL),
        WALL0 + (mono - MONO0) + 60000);
    assert_int_equal(ev, CLOCK_ACCEPTED);
    /* and from then on that is the clock */
    mono += 1000;
    assert_int_equal(
        clock_read(&c, WALL0 + (mono - MONO0) + 60000, mono, &ev, NULL),
        WALL0 + (mono - MONO0) + 60000);
    assert_int_equal(ev, CLOCK_STEADY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_follows_wall_and_slews),
        cmocka_unit_test(test_step_forward_is_held_until_back),
        cmocka_unit_test(test_step_back_is_held),
        cmocka_unit_test(test_small_jumps_are_followed),
        cmocka_unit_test(test_step_that_stays_is_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
