#include "lease.h"

void lease_init(struct lease *l)
{
    l->term = 0;
    l->start_ns = 0;
}

void lease_extend(struct lease *l, uint64_t term, uint64_t sent_ns)
{
    if (term == 0) {
        return;
    }
    if (term != l->term) {
        l->term = term;
        l->start_ns = sent_ns;
        return;
    }
    if (sent_ns > l->start_ns) {
        l->start_ns = sent_ns; /* commits may be reported out of order */
    }
}

void lease_drop(struct lease *l)
{
    lease_init(l);
}

bool lease_holds(const struct lease *l,
                 uint64_t term,
                 uint64_t now_ns,
                 uint64_t duration_ns)
{
    return l->term != 0 && l->term == term && now_ns >= l->start_ns &&
           now_ns - l->start_ns < duration_ns;
}
