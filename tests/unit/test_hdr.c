/*
 * The benchmarks' latency histogram (bench/hdr.c): percentiles of known
 * distributions, merging per-thread histograms, the relative error bound
 * over 10 us .. 60 s, and the empty histogram.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "hdr.h"

#define US 1000ull
#define MS 1000000ull
#define S 1000000000ull

/* |got - want| <= want / 100, with the numbers shown when it fails. */
static void assert_within_1pct(uint64_t got, uint64_t want)
{
    uint64_t diff = got > want ? got - want : want - got;

    if (diff * 100 > want) {
        fail_msg("got %llu, want %llu within 1%%", (unsigned long long)got,
                 (unsigned long long)want);
    }
}

static struct hdr *new_hdr(void)
{
    struct hdr *h = malloc(sizeof *h);

    assert_non_null(h);
    hdr_init(h);
    return h;
}

static void test_empty(void **state)
{
    struct hdr *h = new_hdr();
    struct hdr *g = new_hdr();

    (void)state;
    assert_int_equal(hdr_count(h), 0);
    assert_int_equal(hdr_percentile(h, 0), 0);
    assert_int_equal(hdr_percentile(h, 50), 0);
    assert_int_equal(hdr_percentile(h, 99.9), 0);
    assert_int_equal(hdr_percentile(h, 100), 0);
    assert_int_equal(hdr_min(h), 0);
    assert_int_equal(hdr_max(h), 0);
    hdr_merge(h, g);
    assert_int_equal(hdr_count(h), 0);
    assert_int_equal(hdr_percentile(h, 50), 0);
    free(g);
    free(h);
}

/* 1, 2, ... 1000 us, each once: the p-th percentile is p * 10 us. */
static void test_uniform(void **state)
{
    struct hdr *h = new_hdr();

    (void)state;
    for (uint64_t i = 1000; i >= 1; i--) { /* order does not matter */
        hdr_record(h, i * US);
    }
    assert_int_equal(hdr_count(h), 1000);
    assert_within_1pct(hdr_percentile(h, 50), 500 * US);
    assert_within_1pct(hdr_percentile(h, 90), 900 * US);
    assert_within_1pct(hdr_percentile(h, 99), 990 * US);
    assert_within_1pct(hdr_percentile(h, 99.9), 999 * US);
    assert_within_1pct(hdr_percentile(h, 0.1), 1 * US);
    assert_int_equal(hdr_percentile(h, 0), 1 * US);
    assert_int_equal(hdr_percentile(h, 100), 1000 * US);
    assert_int_equal(hdr_min(h), 1 * US);
    assert_int_equal(hdr_max(h), 1000 * US);
    free(h);
}

/* One value many times: every percentile is that value, exactly. */
static void test_constant(void **state)
{
    struct hdr *h = new_hdr();
    static const double ps[] = {0.001, 1, 50, 99, 99.9, 99.999, 100};

    (void)state;
    for (int i = 0; i < 10000; i++) {
        hdr_record(h, 42 * MS + 123);
    }
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        assert_int_equal(hdr_percentile(h, ps[i]), 42 * MS + 123);
    }
    free(h);
}

/* 900 at 1 ms and 100 at 50 ms: up to p90 the fast spike, past it the
 * slow one, nothing in between. */
static void test_two_spikes(void **state)
{
    struct hdr *h = new_hdr();

    (void)state;
    for (int i = 0; i < 1000; i++) {
        hdr_record(h, i % 10 == 9 ? 50 * MS : 1 * MS);
    }
    assert_within_1pct(hdr_percentile(h, 50), 1 * MS);
    assert_within_1pct(hdr_percentile(h, 90), 1 * MS);
    assert_int_equal(hdr_percentile(h, 0), 1 * MS);
    assert_within_1pct(hdr_percentile(h, 90.1), 50 * MS);
    assert_within_1pct(hdr_percentile(h, 99), 50 * MS);
    assert_within_1pct(hdr_percentile(h, 99.9), 50 * MS);
    assert_int_equal(hdr_percentile(h, 100), 50 * MS);
    free(h);
}

/* Per-thread histograms merged give what one histogram of everything
 * gives, bucket for bucket. */
static void test_merge(void **state)
{
    struct hdr *all = new_hdr();
    struct hdr *lo = new_hdr();
    struct hdr *hi = new_hdr();
    struct hdr *sum = new_hdr();
    static const double ps[] = {0, 1, 25, 50, 75, 90, 99, 99.9, 100};

    (void)state;
    for (uint64_t i = 1; i <= 1000; i++) {
        hdr_record(all, i * 37 * US);
        hdr_record(i <= 300 ? lo : hi, i * 37 * US);
    }
    hdr_merge(sum, hi); /* into an empty one */
    hdr_merge(sum, lo);
    assert_int_equal(hdr_count(sum), 1000);
    assert_int_equal(hdr_count(hi), 700); /* the source is unchanged */
    assert_int_equal(hdr_min(sum), 37 * US);
    assert_int_equal(hdr_max(sum), 37000 * US);
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        assert_int_equal(hdr_percentile(sum, ps[i]),
                         hdr_percentile(all, ps[i]));
    }
    free(sum);
    free(hi);
    free(lo);
    free(all);
}

/* Spread log-uniformly over 10 us .. 60 s, each value comes back within
 * 1 %. A value is put between a smaller and a larger one so that the
 * median is read from its bucket, not from the exact min or max. */
static void test_relative_error(void **state)
{
    struct hdr *h = new_hdr();
    uint64_t x = 88172645463325252ull; /* xorshift64 state */
    uint64_t worst_ppm = 0;

    (void)state;
    for (int i = 0; i < 200000; i++) {
        uint64_t v, got, diff;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* 10 us * 2^e, e in 0..22, then uniform within that octave;
         * the top octave is cut at 60 s */
        v = (10 * US) << (x % 23);
        v += (x >> 8) % v;
        if (v > 60 * S) {
            v = 60 * S - (x >> 20) % S;
        }
        hdr_init(h);
        hdr_record(h, 1);
        hdr_record(h, v);
        hdr_record(h, HDR_HIGHEST_NS);
        got = hdr_percentile(h, 50);
        diff = got > v ? got - v : v - got;
        if (diff * 1000000 / v > worst_ppm) {
            worst_ppm = diff * 1000000 / v;
        }
        assert_within_1pct(got, v);
    }
    /* the middle of a bucket of width 1/128: half that at most */
    assert_true(worst_ppm <= 1000000 / 256 + 1);
    free(h);
}

/* Values past the top are counted and the maximum stays exact. */
static void test_clamped(void **state)
{
    struct hdr *h = new_hdr();

    (void)state;
    hdr_record(h, 5 * MS);
    hdr_record(h, 100 * S);
    assert_int_equal(hdr_count(h), 2);
    assert_int_equal(hdr_clamped(h), 1);
    assert_int_equal(hdr_max(h), 100 * S);
    assert_int_equal(hdr_percentile(h, 100), 100 * S);
    assert_within_1pct(hdr_percentile(h, 75), HDR_HIGHEST_NS);
    assert_int_equal(hdr_percentile(h, 50), 5 * MS);
    hdr_record(h, 0);
    assert_int_equal(hdr_min(h), 0);
    assert_int_equal(hdr_percentile(h, 1), 0);
    free(h);
}

/* Percentiles never go down as p goes up. */
static void test_monotonic(void **state)
{
    struct hdr *h = new_hdr();
    uint64_t prev = 0;

    (void)state;
    for (uint64_t i = 1; i <= 5000; i++) {
        hdr_record(h, (i * i * 7919) % (3 * S) + 10 * US);
    }
    for (int p = 0; p <= 1000; p++) {
        uint64_t v = hdr_percentile(h, p / 10.0);

        assert_true(v >= prev);
        prev = v;
    }
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),    cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_constant), cmocka_unit_test(test_two_spikes),
        cmocka_unit_test(test_merge),    cmocka_unit_test(test_relative_error),
        cmocka_unit_test(test_clamped),  cmocka_unit_test(test_monotonic),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
