/*
 * Lookups, severity defaults and freeing of the on-call configuration.
 * Parsing is in oncall_yaml.c, validation in oncall_check.c.
 */
#include "oncall_config.h"

#include <stdbool.h>
#include <string.h>

#include "oncall_check.h"

#define MINUTE_MS ((uint64_t)60 * 1000)
#define HOUR_MS (60 * MINUTE_MS)

/* Defaults of severities 1..4 (proto/oncall.proto, docs/ONCALL.md). */
static const struct
{
    Klaxon__Paging paging;
    uint64_t response_ms;
    uint64_t resolution_ms;
    uint64_t update_interval_ms;
} rule_defaults[4] = {
    {KLAXON__PAGING__PAGING_ESCALATE, 5 * MINUTE_MS, 4 * HOUR_MS,
     30 * MINUTE_MS},
    {KLAXON__PAGING__PAGING_ESCALATE, 15 * MINUTE_MS, 8 * HOUR_MS, HOUR_MS},
    {KLAXON__PAGING__PAGING_FIRST_LEVEL, 30 * MINUTE_MS, 24 * HOUR_MS, 0},
    {KLAXON__PAGING__PAGING_NONE, 0, 72 * HOUR_MS, 0},
};

void oncall_rule_defaults(unsigned severity, Klaxon__SeverityRule *r)
{
    unsigned i = severity >= 1 && severity <= 4 ? severity - 1 : 3;

    r->severity = severity;
    r->paging = rule_defaults[i].paging;
    r->response_ms = rule_defaults[i].response_ms;
    r->resolution_ms = rule_defaults[i].resolution_ms;
    r->update_interval_ms = rule_defaults[i].update_interval_ms;
}

void oncall_config_free(Klaxon__OncallConfig *c)
{
    klaxon__oncall_config__free_unpacked(c, NULL);
}

static bool same(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

const Klaxon__User *oncall_user(const Klaxon__OncallConfig *c, const char *id)
{
    for (size_t i = 0; i < c->n_users; i++) {
        if (same(c->users[i]->id, id)) {
            return c->users[i];
        }
    }
    return NULL;
}

const Klaxon__Schedule *oncall_schedule(const Klaxon__OncallConfig *c,
                                        const char *id)
{
    for (size_t i = 0; i < c->n_schedules; i++) {
        if (same(c->schedules[i]->id, id)) {
            return c->schedules[i];
        }
    }
    return NULL;
}

const Klaxon__EscalationPolicy *oncall_policy(const Klaxon__OncallConfig *c,
                                              const char *id)
{
    for (size_t i = 0; i < c->n_escalation_policies; i++) {
        if (same(c->escalation_policies[i]->id, id)) {
            return c->escalation_policies[i];
        }
    }
    return NULL;
}

const Klaxon__Service *oncall_service(const Klaxon__OncallConfig *c,
                                      const char *name)
{
    for (size_t i = 0; i < c->n_services; i++) {
        if (same(c->services[i]->name, name)) {
            return c->services[i];
        }
    }
    return NULL;
}

const Klaxon__HeartbeatMonitor *oncall_heartbeat(const Klaxon__OncallConfig *c,
                                                 const char *name)
{
    for (size_t i = 0; i < c->n_heartbeats; i++) {
        if (same(c->heartbeats[i]->name, name)) {
            return c->heartbeats[i];
        }
    }
    return NULL;
}

const Klaxon__SeverityRule *oncall_severity(const Klaxon__Service *s,
                                            unsigned severity)
{
    if (severity < 1 || severity > 4 || s->n_severities != 4) {
        return NULL;
    }
    return s->severities[severity - 1];
}

Klaxon__Paging oncall_paging(const Klaxon__SeverityRule *r)
{
    unsigned i;

    if (r->paging != KLAXON__PAGING__PAGING_DEFAULT) {
        return r->paging;
    }
    i = r->severity >= 1 && r->severity <= 4 ? r->severity - 1 : 3;
    return rule_defaults[i].paging;
}
