#include "incident_paging.h"

#include <string.h>

#include "escalation.h"
#include "incident.h"
#include "maintenance.h"
#include "oncall_config.h"
#include "paging.h"

#define KLAXON_ACTOR "klaxon"

static uint64_t *timer_slot(Klaxon__IncidentTimers *t, enum timer_kind kind)
{
    switch (kind) {
        case TIMER_ESCALATE:
            return &t->escalate_ms;
        case TIMER_ACK_TIMEOUT:
            return &t->ack_timeout_ms;
        case TIMER_AUTO_RESOLVE:
            return &t->auto_resolve_ms;
        case TIMER_RESPONSE:
            return &t->response_ms;
        case TIMER_RESOLUTION:
            return &t->resolution_ms;
        default:
            return &t->reminder_ms;
    }
}

/* Move an incident timer to `due` (0: disarm). */
static int set_timer(struct apply_ctx *ctx,
                     Klaxon__Incident *inc,
                     enum timer_kind kind,
                     uint64_t due)
{
    uint64_t *slot = timer_slot(inc->timers, kind);
    uint8_t ref[8];
    int rv = 0;

    store_put_be64(ref, inc->id);
    if (*slot == due) {
        return 0;
    }
    if (*slot != 0) {
        rv = timers_disarm(ctx->txn, ctx->store, *slot, kind, ref, 8);
    }
    if (rv == 0 && due != 0) {
        rv = timers_arm(ctx->txn, ctx->store, due, kind, ref, 8);
    }
    *slot = due;
    ctx->env->timers_changed = true;
    return rv;
}

static uint64_t after(uint64_t from, uint64_t delay)
{
    return delay != 0 ? from + delay : 0;
}

/* The configuration pieces an incident's paging depends on. */
struct paging_env
{
    const Klaxon__OncallConfig *cfg;
    const Klaxon__Service *svc;       /* NULL: not configured */
    const Klaxon__SeverityRule *rule; /* NULL with svc */
    const Klaxon__EscalationPolicy *policy;
};

static int paging_env(struct apply_ctx *ctx,
                      const Klaxon__Incident *inc,
                      struct paging_env *pe)
{
    int rv = apply_config(ctx, &pe->cfg);

    pe->svc = NULL;
    pe->rule = NULL;
    pe->policy = NULL;
    if (rv != 0) {
        return rv;
    }
    pe->svc = oncall_service(pe->cfg, inc->service);
    if (pe->svc != NULL) {
        pe->rule = oncall_severity(pe->svc, inc->severity);
    }
    if (inc->escalation_policy != NULL && inc->escalation_policy[0] != '\0') {
        pe->policy = oncall_policy(pe->cfg, inc->escalation_policy);
    } else if (pe->svc != NULL && pe->svc->escalation_policy[0] != '\0') {
        pe->policy = oncall_policy(pe->cfg, pe->svc->escalation_policy);
    }
    return 0;
}

static int page_level(struct apply_ctx *ctx,
                      const struct paging_env *pe,
                      Klaxon__Incident *inc)
{
    struct page_origin o = {KLAXON__PAGE_KIND__PAGE_INCIDENT,
                            inc,
                            inc->escalation_level,
                            inc->escalation_loop,
                            NULL,
                            0,
                            0};
    return paging_level(ctx, pe->cfg, pe->policy, &o);
}

/* Start escalation at level 1 (on open, and when triggered again). */
static int start_escalation(struct apply_ctx *ctx,
                            const struct paging_env *pe,
                            Klaxon__Incident *inc)
{
    struct esc_step step;
    int rv;

    escalation_start(pe->policy, inc->paging, ctx->now_ms, &step);
    inc->escalation_level = step.level;
    inc->escalation_loop = 0;
    inc->unanswered = false;
    rv = set_timer(ctx, inc, TIMER_ESCALATE, step.next_due_ms);
    if (rv == 0 && step.page) {
        rv = page_level(ctx, pe, inc);
    }
    return rv;
}

static int not_paged(struct apply_ctx *ctx,
                     Klaxon__Incident *inc,
                     const char *why)
{
    return incident_event(ctx, inc, KLAXON__EVENT_KIND__EVENT_NOT_PAGED,
                          KLAXON_ACTOR, "nobody paged: %s", why);
}

/* Sev1/Sev2: the policy's commander, reminded to post updates. */
static int assign_commander(struct apply_ctx *ctx,
                            const struct paging_env *pe,
                            Klaxon__Incident *inc)
{
    const Klaxon__Target *t = pe->policy != NULL ? pe->policy->commander : NULL;
    const char *schedule;
    const char *user;

    if (inc->severity > 2 || t == NULL ||
        t->kind == KLAXON__TARGET_KIND__TARGET_UNSPECIFIED) {
        return 0;
    }
    user = paging_target_user(pe->cfg, t, ctx->now_ms, &schedule);
    if (user == NULL) {
        return 0;
    }
    inc->commander = (char *)user;
    return set_timer(ctx, inc, TIMER_REMINDER,
                     after(ctx->now_ms, pe->rule->update_interval_ms));
}

static int arm_targets(struct apply_ctx *ctx,
                       const struct paging_env *pe,
                       Klaxon__Incident *inc)
{
    int rv = set_timer(ctx, inc, TIMER_RESPONSE,
                       after(ctx->now_ms, pe->rule->response_ms));
    if (rv == 0) {
        rv = set_timer(ctx, inc, TIMER_RESOLUTION,
                       after(ctx->now_ms, pe->rule->resolution_ms));
    }
    return rv;
}

int incident_paging_open(struct apply_ctx *ctx, Klaxon__Incident *inc)
{
    struct paging_env pe;
    uint64_t window = 0;
    int rv = paging_env(ctx, inc, &pe);

    if (rv == 0) {
        rv = maintenance_active(ctx, inc->service, &window);
    }
    if (rv != 0) {
        return rv;
    }
    if (pe.svc == NULL) {
        return not_paged(ctx, inc,
                         "the service is not in the on-call "
                         "configuration");
    }
    inc->paging = oncall_paging(pe.rule);
    inc->escalation_policy = (char *)(pe.policy != NULL ? pe.policy->id : "");
    rv = set_timer(ctx, inc, TIMER_AUTO_RESOLVE,
                   after(ctx->now_ms, pe.svc->auto_resolve_ms));
    if (rv != 0 || window != 0) {
        inc->maintenance = window != 0;
        return rv != 0 ? rv
                       : incident_event(ctx, inc,
                                        KLAXON__EVENT_KIND__EVENT_NOT_PAGED,
                                        KLAXON_ACTOR,
                                        "nobody paged: maintenance window "
                                        "%llu",
                                        (unsigned long long)window);
    }
    rv = arm_targets(ctx, &pe, inc);
    if (rv == 0) {
        rv = assign_commander(ctx, &pe, inc);
    }
    if (rv != 0) {
        return rv;
    }
    if (inc->paging == KLAXON__PAGING__PAGING_NONE) {
        return not_paged(ctx, inc, "this severity pages nobody");
    }
    if (pe.policy == NULL) {
        return not_paged(ctx, inc, "the service has no escalation policy");
    }
    return start_escalation(ctx, &pe, inc);
}

int incident_paging_ack(struct apply_ctx *ctx, Klaxon__Incident *inc)
{
    struct paging_env pe;
    unsigned cancelled;
    int rv = paging_env(ctx, inc, &pe);

    if (rv == 0) {
        rv = paging_cancel(ctx, inc, &cancelled);
    }
    if (rv == 0) {
        rv = set_timer(ctx, inc, TIMER_RESPONSE, 0);
    }
    if (rv == 0 && pe.svc != NULL) {
        rv = set_timer(ctx, inc, TIMER_ACK_TIMEOUT,
                       after(ctx->now_ms, pe.svc->ack_timeout_ms));
    }
    if (rv == 0 &&
        !escalation_continues_when_acked(pe.policy, inc->escalation_level,
                                         inc->escalation_loop)) {
        rv = set_timer(ctx, inc, TIMER_ESCALATE, 0);
    }
    return rv;
}

int incident_paging_resolve(struct apply_ctx *ctx, Klaxon__Incident *inc)
{
    unsigned cancelled;
    int rv = paging_cancel(ctx, inc, &cancelled);

    for (int k = TIMER_ESCALATE; rv == 0 && k <= TIMER_REMINDER; k++) {
        rv = set_timer(ctx, inc, (enum timer_kind)k, 0);
    }
    return rv;
}

int incident_paging_alert(struct apply_ctx *ctx, Klaxon__Incident *inc)
{
    struct paging_env pe;
    int rv = paging_env(ctx, inc, &pe);

    if (rv != 0 || pe.svc == NULL || inc->timers->auto_resolve_ms == 0) {
        return rv;
    }
    return set_timer(ctx, inc, TIMER_AUTO_RESOLVE,
                     after(ctx->now_ms, pe.svc->auto_resolve_ms));
}

int incident_paging_note(struct apply_ctx *ctx, Klaxon__Incident *inc)
{
    struct paging_env pe;
    int rv = paging_env(ctx, inc, &pe);

    inc->last_update_ms = ctx->now_ms;
    if (rv != 0 || pe.rule == NULL || inc->timers->reminder_ms == 0) {
        return rv;
    }
    return set_timer(ctx, inc, TIMER_REMINDER,
                     after(ctx->now_ms, pe.rule->update_interval_ms));
}

/* --- timers ---------------------------------------------------------------
 */

static int tick_escalate(struct apply_ctx *ctx,
                         const struct paging_env *pe,
                         Klaxon__Incident *inc,
                         uint64_t due)
{
    bool acked = inc->status != KLAXON__STATUS__TRIGGERED;
    struct esc_step step;
    int rv;

    if (pe->policy == NULL) {
        return not_paged(ctx, inc,
                         "the escalation policy was removed; "
                         "escalation stopped");
    }
    escalation_advance(pe->policy, inc->escalation_level, inc->escalation_loop,
                       acked, due, &step);
    if (step.exhausted) {
        if (acked || inc->unanswered) {
            return 0;
        }
        inc->unanswered = true;
        rv = store_meta_add(ctx->txn, ctx->store, COUNT_UNANSWERED, 1);
        return rv != 0 ? rv
                       : incident_event(
                             ctx, inc, KLAXON__EVENT_KIND__EVENT_UNANSWERED,
                             KLAXON_ACTOR,
                             "no acknowledgement after %u level(s) and %u "
                             "repeat(s)",
                             inc->escalation_level, inc->escalation_loop);
    }
    inc->escalation_level = step.level;
    inc->escalation_loop = step.loop;
    rv = store_meta_add(ctx->txn, ctx->store, COUNT_ESCALATIONS, 1);
    if (rv == 0) {
        rv = incident_event(ctx, inc, KLAXON__EVENT_KIND__EVENT_ESCALATED,
                            KLAXON_ACTOR, "%s level %u (repeat %u of %u)%s",
                            step.repeated ? "repeating from" : "escalated to",
                            step.level, step.loop, pe->policy->repeat,
                            step.page ? "" : "; skipped: acknowledged");
    }
    if (rv == 0) {
        rv = set_timer(ctx, inc, TIMER_ESCALATE, step.next_due_ms);
    }
    if (rv == 0 && step.page) {
        rv = page_level(ctx, pe, inc);
    }
    return rv;
}

static int tick_ack_timeout(struct apply_ctx *ctx,
                            const struct paging_env *pe,
                            Klaxon__Incident *inc)
{
    int rv;

    if (inc->status != KLAXON__STATUS__ACKNOWLEDGED) {
        return 0;
    }
    inc->status = KLAXON__STATUS__TRIGGERED;
    rv = incident_event(ctx, inc, KLAXON__EVENT_KIND__EVENT_RETRIGGERED,
                        KLAXON_ACTOR,
                        "acknowledged by %s but not resolved in time: "
                        "triggered again",
                        inc->acknowledged_by);
    if (rv == 0 && pe->policy != NULL && !inc->maintenance) {
        rv = start_escalation(ctx, pe, inc);
    }
    return rv;
}

static int tick_target(struct apply_ctx *ctx,
                       Klaxon__Incident *inc,
                       bool response)
{
    protobuf_c_boolean *flag =
        response ? &inc->response_missed : &inc->resolution_missed;
    int rv;

    if (*flag || (response && inc->status != KLAXON__STATUS__TRIGGERED)) {
        return 0;
    }
    *flag = true;
    rv = store_meta_add(
        ctx->txn, ctx->store,
        response ? COUNT_RESPONSE_MISSED : COUNT_RESOLUTION_MISSED, 1);
    if (rv == 0) {
        rv = incident_event(ctx, inc, KLAXON__EVENT_KIND__EVENT_TARGET_MISSED,
                            KLAXON_ACTOR, "%s target missed",
                            response ? "response" : "resolution");
    }
    return rv;
}

static int tick_reminder(struct apply_ctx *ctx,
                         const struct paging_env *pe,
                         Klaxon__Incident *inc,
                         uint64_t due)
{
    struct page_origin o = {
        KLAXON__PAGE_KIND__PAGE_REMINDER, inc, 0, 0, NULL, 0, 0};
    unsigned n = 0;
    int rv = 0;

    if (inc->commander[0] != '\0') {
        rv = paging_user(ctx, pe->cfg, inc->commander, NULL, &o, &n);
    }
    if (rv == 0) {
        rv = incident_event(ctx, inc, KLAXON__EVENT_KIND__EVENT_REMINDER,
                            inc->commander,
                            "no status update posted: reminded the incident "
                            "commander (%u page(s))",
                            n);
    }
    if (rv == 0 && pe->rule != NULL) {
        rv = set_timer(ctx, inc, TIMER_REMINDER,
                       after(due, pe->rule->update_interval_ms));
    }
    return rv;
}

static int tick_kind(struct apply_ctx *ctx,
                     const struct paging_env *pe,
                     Klaxon__Incident *inc,
                     const struct timer_key *k)
{
    switch (k->kind) {
        case TIMER_ESCALATE:
            return tick_escalate(ctx, pe, inc, k->due_ms);
        case TIMER_ACK_TIMEOUT:
            return tick_ack_timeout(ctx, pe, inc);
        case TIMER_AUTO_RESOLVE:
            return incident_close(ctx, inc, KLAXON_ACTOR,
                                  "resolved automatically: no alert within "
                                  "the service's auto-resolve timeout");
        case TIMER_RESPONSE:
            return tick_target(ctx, inc, true);
        case TIMER_RESOLUTION:
            return tick_target(ctx, inc, false);
        default:
            return tick_reminder(ctx, pe, inc, k->due_ms);
    }
}

int incident_tick(struct apply_ctx *ctx, const struct timer_key *k)
{
    struct incident_work w;
    struct paging_env pe;
    uint64_t *slot;
    int rv;

    if (k->ref_len != 8) {
        return 0;
    }
    rv = incident_work_load(ctx, store_get_be64(k->ref), &w);
    if (rv != 0) {
        return rv == MDB_NOTFOUND ? 0 : rv;
    }
    slot = timer_slot(w.inc.timers, k->kind);
    if (*slot == k->due_ms) {
        *slot = 0; /* the key is already gone */
    }
    rv = paging_env(ctx, &w.inc, &pe);
    if (rv == 0 && w.inc.status != KLAXON__STATUS__RESOLVED) {
        rv = tick_kind(ctx, &pe, &w.inc, k);
    }
    if (rv == 0) {
        rv = incident_save(ctx, &w.inc);
    }
    incident_work_free(&w);
    return rv;
}
