/*
 * A latency histogram in the manner of HdrHistogram: log-linear buckets,
 * exact below 128 ns, then 128 buckets per power of two, so any recorded
 * value is known to within 1/128 of itself (0.8 %) from 1 ns up to
 * HDR_HIGHEST_NS (about 68.7 s): 10 us to 60 s, the range of request
 * latencies, with room to spare. Percentiles answer the middle of a
 * bucket, clamped to the exact smallest and largest values recorded,
 * which halves the error to at most 1/256 (0.4 %).
 *
 * A histogram is a fixed-size value (about 30 KiB): no allocation, so
 * hdr_init cannot fail, and it can be embedded or put on the heap by the
 * caller. It is not synchronized: give each thread its own and
 * hdr_merge them when the threads are done.
 */
#ifndef KLAXON_BENCH_HDR_H
#define KLAXON_BENCH_HDR_H

#include <stdint.h>

#define HDR_SUB_BITS 7
#define HDR_SUB (1u << HDR_SUB_BITS) /* buckets per power of two */
#define HDR_MAX_EXP 36               /* values below 2^36 ns, ~68.7 s */
#define HDR_HIGHEST_NS ((UINT64_C(1) << HDR_MAX_EXP) - 1)
#define HDR_BUCKETS (HDR_SUB + (HDR_MAX_EXP - HDR_SUB_BITS) * HDR_SUB)

/* Fields are private to hdr.c; read them through the functions below. */
struct hdr
{
    uint64_t counts[HDR_BUCKETS];
    uint64_t total;
    uint64_t min; /* exact; UINT64_MAX while empty */
    uint64_t max; /* exact, even past HDR_HIGHEST_NS */
    uint64_t
        clamped; /* values above HDR_HIGHEST_NS, counted in the top bucket */
};

/* An empty histogram. */
void hdr_init(struct hdr *h);

/* Count one value, in nanoseconds. Values above HDR_HIGHEST_NS go into the
 * top bucket (and hdr_clamped); hdr_max still reports them exactly. */
void hdr_record(struct hdr *h, uint64_t ns);

/* Add every value of src into dst (src is unchanged). */
void hdr_merge(struct hdr *dst, const struct hdr *src);

/* The value at percentile p (0..100: 50 is the median, 99.9 the 999th of
 * 1000) in nanoseconds: the smallest recorded value v such that at least
 * p % of the values are <= v, to within the bucket error above. p <= 0
 * gives the minimum, p >= 100 the maximum, an empty histogram 0. */
uint64_t hdr_percentile(const struct hdr *h, double p);

/* The number of values recorded. */
uint64_t hdr_count(const struct hdr *h);

/* The exact smallest and largest values recorded (0 when empty). */
uint64_t hdr_min(const struct hdr *h);
uint64_t hdr_max(const struct hdr *h);

/* How many recorded values were above HDR_HIGHEST_NS. */
uint64_t hdr_clamped(const struct hdr *h);

#endif /* KLAXON_BENCH_HDR_H */
