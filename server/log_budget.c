#include "log_budget.h"

void log_budget_init(struct log_budget *b,
                     uint64_t bytes,
                     unsigned max_threshold,
                     unsigned max_trailing)
{
    b->bytes = bytes;
    b->max_threshold = max_threshold;
    b->max_trailing = max_trailing;
    b->avg = 0;
    b->sample_bytes = 0;
    b->sample_entries = 0;
    b->threshold = max_threshold;
    b->trailing = max_trailing;
}

/* `share` of the budget in entries of the average size, within
 * [floor, max] (max wins when it is below the floor). */
static unsigned entries_for(const struct log_budget *b,
                            double share,
                            unsigned max)
{
    double n = (double)b->bytes * share / b->avg;
    unsigned floor =
        LOG_BUDGET_MIN_ENTRIES < max ? LOG_BUDGET_MIN_ENTRIES : max;
    if (n >= (double)max) {
        return max;
    }
    return n < (double)floor ? floor : (unsigned)n;
}

bool log_budget_add(struct log_budget *b, size_t len)
{
    unsigned threshold;
    unsigned trailing;
    double sample;

    if (b->bytes == 0) {
        return false;
    }
    b->sample_bytes += len;
    if (++b->sample_entries < LOG_BUDGET_SAMPLE) {
        return false;
    }
    sample = (double)b->sample_bytes / b->sample_entries;
    b->avg = b->avg == 0 ? sample : 0.75 * b->avg + 0.25 * sample;
    b->sample_bytes = 0;
    b->sample_entries = 0;
    if (b->avg < 1) {
        b->avg = 1;
    }
    threshold = entries_for(b, 0.75, b->max_threshold);
    trailing = entries_for(b, 0.25, b->max_trailing);
    if (threshold == b->threshold && trailing == b->trailing) {
        return false;
    }
    b->threshold = threshold;
    b->trailing = trailing;
    return true;
}
