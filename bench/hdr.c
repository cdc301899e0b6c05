/*
 * Log-linear latency histogram (hdr.h). A value v below HDR_SUB has its
 * own bucket; above, with e = floor(log2 v), the bucket is picked by the
 * HDR_SUB_BITS bits below the leading one: bucket width 2^(e - SUB_BITS)
 * for values of at least 2^e.
 */
#include "hdr.h"

#include <string.h>

static unsigned msb(uint64_t v)
{
    return 63u - (unsigned)__builtin_clzll(v);
}

static unsigned bucket_of(uint64_t v)
{
    unsigned e;

    if (v > HDR_HIGHEST_NS) {
        v = HDR_HIGHEST_NS;
    }
    if (v < HDR_SUB) {
        return (unsigned)v;
    }
    e = msb(v);
    return HDR_SUB + (e - HDR_SUB_BITS) * HDR_SUB +
           (unsigned)(v >> (e - HDR_SUB_BITS)) - HDR_SUB;
}

/* The smallest value of bucket i, and its width. */
static uint64_t bucket_low(unsigned i, uint64_t *width)
{
    unsigned shift;

    if (i < HDR_SUB) {
        *width = 1;
        return i;
    }
    shift = (i - HDR_SUB) / HDR_SUB; /* e - HDR_SUB_BITS */
    *width = UINT64_C(1) << shift;
    return (uint64_t)(HDR_SUB + (i - HDR_SUB) % HDR_SUB) << shift;
}

void hdr_init(struct hdr *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

void hdr_record(struct hdr *h, uint64_t ns)
{
    h->counts[bucket_of(ns)]++;
    h->total++;
    if (ns < h->min) {
        h->min = ns;
    }
    if (ns > h->max) {
        h->max = ns;
    }
    if (ns > HDR_HIGHEST_NS) {
        h->clamped++;
    }
}

void hdr_merge(struct hdr *dst, const struct hdr *src)
{
    for (unsigned i = 0; i < HDR_BUCKETS; i++) {
        dst->counts[i] += src->counts[i];
    }
    dst->total += src->total;
    dst->clamped += src->clamped;
    if (src->min < dst->min) {
        dst->min = src->min;
    }
    if (src->max > dst->max) {
        dst->max = src->max;
    }
}

/* The middle of bucket i, kept within the values actually recorded. */
static uint64_t bucket_value(const struct hdr *h, unsigned i)
{
    uint64_t width;
    uint64_t v = bucket_low(i, &width) + (width - 1) / 2;

    if (v < h->min) {
        return h->min;
    }
    if (v > h->max) {
        return h->max;
    }
    return v;
}

uint64_t hdr_percentile(const struct hdr *h, double p)
{
    double want;
    uint64_t rank;
    uint64_t seen = 0;

    if (h->total == 0) {
        return 0;
    }
    if (!(p > 0.0)) {
        return h->min;
    }
    if (p >= 100.0) {
        return h->max;
    }
    /* The rank of the value: at least p % of the values are at or below
     * it, so the product rounded up, less a hair for floating-point noise
     * (99.9 % of 1000 must be rank 999, not 1000). */
    want = p / 100.0 * (double)h->total - 1e-9;
    rank = (uint64_t)want;
    if ((double)rank < want) {
        rank++;
    }
    if (rank < 1) {
        rank = 1;
    }
    for (unsigned i = 0; i < HDR_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            return bucket_value(h, i);
        }
    }
    return h->max; /* not reached: the counts add up to total */
}

uint64_t hdr_count(const struct hdr *h)
{
    return h->total;
}

uint64_t hdr_min(const struct hdr *h)
{
    return h->total == 0 ? 0 : h->min;
}

uint64_t hdr_max(const struct hdr *h)
{
    return h->max;
}

uint64_t hdr_clamped(const struct hdr *h)
{
    return h->clamped;
}
