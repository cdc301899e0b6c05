#include "escalation.h"

#include <string.h>

static bool level_pages(const Klaxon__EscalationLevel *l, bool acknowledged)
{
    return l->condition == KLAXON__CONDITION__IF_NOT_RESOLVED || !acknowledged;
}

void escalation_start(const Klaxon__EscalationPolicy *p,
                      Klaxon__Paging mode,
                      uint64_t now_ms,
                      struct esc_step *out)
{
    memset(out, 0, sizeof *out);
    if (p == NULL || p->n_levels == 0 ||
        (mode != KLAXON__PAGING__PAGING_ESCALATE &&
         mode != KLAXON__PAGING__PAGING_FIRST_LEVEL)) {
        return;
    }
    out->level = 1;
    out->page = true;
    if (mode == KLAXON__PAGING__PAGING_ESCALATE) {
        out->next_due_ms = now_ms + p->levels[0]->timeout_ms;
    }
}

void escalation_advance(const Klaxon__EscalationPolicy *p,
                        uint32_t level,
                        uint32_t loop,
                        bool acknowledged,
                        uint64_t due_ms,
                        struct esc_step *out)
{
    const Klaxon__EscalationLevel *l;

    memset(out, 0, sizeof *out);
    out->level = level;
    out->loop = loop;
    if (p == NULL || p->n_levels == 0) {
        out->exhausted = true;
        return;
    }
    if (level < p->n_levels) {
        out->level = level + 1;
    } else if (loop < p->repeat) {
        out->level = 1;
        out->loop = loop + 1;
        out->repeated = true;
    } else {
        out->exhausted = true;
        return;
    }
    l = p->levels[out->level - 1];
    out->page = level_pages(l, acknowledged);
    out->next_due_ms = due_ms + l->timeout_ms;
    if (acknowledged &&
        !escalation_continues_when_acked(p, out->level, out->loop)) {
        out->next_due_ms = 0;
    }
}

bool escalation_continues_when_acked(const Klaxon__EscalationPolicy *p,
                                     uint32_t level,
                                     uint32_t loop)
{
    if (p == NULL) {
        return false;
    }
    for (size_t i = 0; i < p->n_levels; i++) {
        /* A later level of this pass, or any level of a later pass. */
        bool later = i + 1 > level || loop < p->repeat;
        if (later &&
            p->levels[i]->condition == KLAXON__CONDITION__IF_NOT_RESOLVED) {
            return true;
        }
    }
    return false;
}
