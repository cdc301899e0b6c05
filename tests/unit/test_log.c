/*
 * Log lines: logfmt keys, the component prefix, quoting, the term and the
 * incident id, and the runtime level.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"

#define STAMP "2026-11-24T12:00:03.123Z"

static uint64_t fixed_term(void *arg)
{
    return *(uint64_t *)arg;
}

static void test_plain_line(void **state)
{
    char line[512];

    (void)state;
    log_init(2, LOG_INFO);
    log_set_term_source(NULL, NULL);
    log_format_line(line, sizeof line, STAMP, LOG_WARN, 0,
                    "raft: became leader (term 3)");
    assert_string_equal(line, "ts=" STAMP
                              " level=warn node=2 comp=raft "
                              "msg=\"became leader (term 3)\"");
}

static void test_term_and_incident(void **state)
{
    uint64_t term = 7;
    char line[512];

    (void)state;
    log_init(3, LOG_INFO);
    log_set_term_source(fixed_term, &term);
    log_format_line(line, sizeof line, STAMP, LOG_INFO, 42,
                    "dispatch: page 9 to alice delivered (attempt 1)");
    assert_string_equal(line, "ts=" STAMP
                              " level=info node=3 term=7 comp=dispatch "
                              "incident=42 msg=\"page 9 to alice delivered "
                              "(attempt 1)\"");
    log_set_term_source(NULL, NULL);
}

static void test_quoting(void **state)
{
    char line[512];

    (void)state;
    log_init(1, LOG_INFO);
    log_format_line(line, sizeof line, STAMP, LOG_ERROR, 0,
                    "no prefix here \"quoted\" back\\slash\nsecond line");
    assert_string_equal(line, "ts=" STAMP
                              " level=error node=1 msg=\"no "
                              "prefix here \\\"quoted\\\" back\\\\slash\\n"
                              "second line\"");
    /* "Word:" without a space after it is not a component. */
    log_format_line(line, sizeof line, STAMP, LOG_INFO, 0, "http://x y");
    assert_non_null(strstr(line, "msg=\"http://x y\""));
    assert_null(strstr(line, "comp="));
}

static void test_truncation_is_safe(void **state)
{
    char big[3000];
    char line[64];

    (void)state;
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    log_format_line(line, sizeof line, STAMP, LOG_INFO, 0, big);
    assert_true(strlen(line) < sizeof line);
    assert_int_equal(strncmp(line, "ts=" STAMP, 3 + strlen(STAMP)), 0);
}

static void test_runtime_level(void **state)
{
    (void)state;
    log_init(1, LOG_WARN);
    assert_int_equal(log_get_level(), LOG_WARN);
    log_set_level(LOG_DEBUG);
    assert_int_equal(log_get_level(), LOG_DEBUG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_line),
        cmocka_unit_test(test_term_and_incident),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_truncation_is_safe),
        cmocka_unit_test(test_runtime_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
