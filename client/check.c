#include "check.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "endpoint.h"
#include "field_limits.h"

/* Limits of the on-call requests (ids and names as ONCALL_MAX_ID, texts
 * as ONCALL_MAX_TEXT of the nodes' configuration). */

static int check_text(const char *field,
                      const char *s,
                      size_t max,
                      bool required,
                      char *msg,
                      size_t len)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n == 0 && required) {
        snprintf(msg, len, "%s: required", field);
        return KLAXON_EINVAL;
    }
    if (n > max) {
        snprintf(msg, len, "%s: too long (%zu bytes, at most %zu)", field, n,
                 max);
        return KLAXON_EINVAL;
    }
    return KLAXON_OK;
}

static int check_details(const struct klaxon_trigger *t, char *msg, size_t len)
{
    size_t total = 0;
    char field[48];

    if (t->n_details > LIMIT_DETAILS) {
        snprintf(msg, len, "details: too many (%zu, at most %d)", t->n_details,
                 LIMIT_DETAILS);
        return KLAXON_EINVAL;
    }
    if (t->n_details > 0 && t->details == NULL) {
        snprintf(msg, len, "details: NULL with n_details %zu", t->n_details);
        return KLAXON_EINVAL;
    }
    for (size_t i = 0; i < t->n_details; i++) {
        const struct klaxon_detail *d = &t->details[i];
        snprintf(field, sizeof field, "details[%zu].key", i);
        if (check_text(field, d->key, LIMIT_DETAIL_KEY, true, msg, len) !=
            KLAXON_OK) {
            return KLAXON_EINVAL;
        }
        snprintf(field, sizeof field, "details[%zu].value", i);
        if (check_text(field, d->value, LIMIT_DETAIL_VALUE, false, msg, len) !=
            KLAXON_OK) {
            return KLAXON_EINVAL;
        }
        total += strlen(d->key) + (d->value != NULL ? strlen(d->value) : 0);
    }
    if (total > LIMIT_DETAILS_TOTAL) {
        snprintf(msg, len, "details: too large (%zu bytes, at most %d)", total,
                 LIMIT_DETAILS_TOTAL);
        return KLAXON_EINVAL;
    }
    return KLAXON_OK;
}

int check_trigger(const struct klaxon_trigger *t, char *msg, size_t len)
{
    if (t == NULL) {
        snprintf(msg, len, "trigger: required");
        return KLAXON_EINVAL;
    }
    if (check_text("service", t->service, LIMIT_SERVICE, true, msg, len)) {
        return KLAXON_EINVAL;
    }
    if (t->severity < SEVERITY_MIN || t->severity > SEVERITY_MAX) {
        snprintf(msg, len, "severity: must be %d..%d, got %u", SEVERITY_MIN,
                 SEVERITY_MAX, t->severity);
        return KLAXON_EINVAL;
    }
    if (check_text("summary", t->summary, LIMIT_SUMMARY, true, msg, len) ||
        check_text("source", t->source, LIMIT_SOURCE, false, msg, len) ||
        check_text("dedup_key", t->dedup_key, LIMIT_DEDUP_KEY, false, msg,
                   len)) {
        return KLAXON_EINVAL;
    }
    if (t->request_id != NULL && check_text("request_id", t->request_id,
                                            LIMIT_REQUEST_ID, true, msg, len)) {
        return KLAXON_EINVAL;
    }
    return check_details(t, msg, len);
}

int check_incident_id(uint64_t incident_id, char *msg, size_t len)
{
    if (incident_id == 0) {
        snprintf(msg, len, "incident_id: required");
        return KLAXON_EINVAL;
    }
    return KLAXON_OK;
}

int check_target(uint64_t incident_id, const char *by, char *msg, size_t len)
{
    if (check_incident_id(incident_id, msg, len) != KLAXON_OK) {
        return KLAXON_EINVAL;
    }
    return check_text("by", by, LIMIT_ACTOR, true, msg, len);
}

int check_note_text(const char *text, char *msg, size_t len)
{
    return check_text("text", text, LIMIT_NOTE, true, msg, len);
}

int check_list_query(const struct klaxon_list_query *q, char *msg, size_t len)
{
    if (q == NULL) {
        return KLAXON_OK;
    }
    if (q->filter < KLAXON_FILTER_ANY || q->filter > KLAXON_FILTER_RESOLVED) {
        snprintf(msg, len, "filter: unknown value %d", (int)q->filter);
        return KLAXON_EINVAL;
    }
    if (check_limit(q->limit, msg, len) != KLAXON_OK) {
        return KLAXON_EINVAL;
    }
    return check_text("service", q->service, LIMIT_SERVICE, false, msg, len);
}

int check_limit(unsigned limit, char *msg, size_t len)
{
    if (limit > LIMIT_LIST) {
        snprintf(msg, len, "limit: must be at most %d, got %u", LIMIT_LIST,
                 limit);
        return KLAXON_EINVAL;
    }
    return KLAXON_OK;
}

int check_token(const char *token, char *msg, size_t len)
{
    return check_text("token", token, LIMIT_TOKEN, true, msg, len);
}

int check_apply(const char *file_name,
                const char *yaml,
                size_t n,
                const char *by,
                char *msg,
                size_t len)
{
    const char *nul = yaml != NULL ? memchr(yaml, '\0', n) : NULL;

    if (check_text("file_name", file_name, LIMIT_FILE_NAME, true, msg, len) ||
        check_text("by", by, LIMIT_ACTOR, false, msg, len)) {
        return KLAXON_EINVAL;
    }
    if (yaml == NULL && n > 0) {
        snprintf(msg, len, "yaml: NULL with length %zu", n);
        return KLAXON_EINVAL;
    }
    if (nul != NULL) {
        snprintf(msg, len, "yaml: %s has a NUL byte at offset %zu", file_name,
                 (size_t)(nul - yaml));
        return KLAXON_EINVAL;
    }
    return KLAXON_OK;
}

int check_oncall_query(const struct klaxon_oncall_query *q,
                       char *msg,
                       size_t len)
{
    bool range = q != NULL && (q->from_ms != 0 || q->to_ms != 0);

    if (q == NULL) {
        return KLAXON_OK;
    }
    if (range && (q->schedule == NULL || q->schedule[0] == '\0')) {
        snprintf(msg, len, "schedule: required with from_ms and to_ms");
        return KLAXON_EINVAL;
    }
    if (check_text("schedule", q->schedule, LIMIT_NAME, false, msg, len)) {
        return KLAXON_EINVAL;
    }
    if (range && q->from_ms >= q->to_ms) {
        snprintf(msg, len, "to_ms: must be after from_ms (%llu), got %llu",
                 (unsigned long long)q->from_ms, (unsigned long long)q->to_ms);
        return KLAXON_EINVAL;
    }
    if (range && q->at_ms != 0) {
        snprintf(msg, len, "at_ms: must be 0 with from_ms and to_ms");
        return KLAXON_EINVAL;
    }
    return KLAXON_OK;
}

int check_monitor_name(const char *name, char *msg, size_t len)
{
    return check_text("name", name, LIMIT_NAME, true, msg, len);
}

int check_maintenance(const struct klaxon_maintenance *m, char *msg, size_t len)
{
    if (m == NULL) {
        snprintf(msg, len, "maintenance: required");
        return KLAXON_EINVAL;
    }
    if (check_text("service", m->service, LIMIT_SERVICE, true, msg, len) ||
        check_text("reason", m->reason, LIMIT_SUMMARY, false, msg, len) ||
        check_text("by", m->by, LIMIT_ACTOR, true, msg, len)) {
        return KLAXON_EINVAL;
    }
    if ((m->end_ms == 0) == (m->duration_ms == 0)) {
        snprintf(msg, len, "%s",
                 m->end_ms == 0 ? "end_ms or duration_ms: required"
                                : "end_ms and duration_ms: give only one");
        return KLAXON_EINVAL;
    }
    if (m->end_ms != 0 && m->start_ms != 0 && m->end_ms <= m->start_ms) {
        snprintf(msg, len, "end_ms: must be after start_ms (%llu), got %llu",
                 (unsigned long long)m->start_ms,
                 (unsigned long long)m->end_ms);
        return KLAXON_EINVAL;
    }
    return KLAXON_OK;
}

int check_window_end(uint64_t window_id, const char *by, char *msg, size_t len)
{
    if (window_id == 0) {
        snprintf(msg, len, "window_id: required");
        return KLAXON_EINVAL;
    }
    return check_text("by", by, LIMIT_ACTOR, true, msg, len);
}

int check_member_id(const char *field, uint64_t id, char *msg, size_t len)
{
    if (id == 0 || id > MEMBER_ID_MAX) {
        snprintf(msg, len, "%s: must be 1..%llu, got %llu", field,
                 (unsigned long long)MEMBER_ID_MAX, (unsigned long long)id);
        return KLAXON_EINVAL;
    }
    return KLAXON_OK;
}

int check_member_role(const char *role, char *msg, size_t len)
{
    if (role == NULL || role[0] == '\0' || strcmp(role, "voter") == 0 ||
        strcmp(role, "standby") == 0 || strcmp(role, "spare") == 0) {
        return KLAXON_OK;
    }
    snprintf(msg, len, "role: must be voter, standby or spare, got \"%.32s\"",
             role);
    return KLAXON_EINVAL;
}

static int check_address(const char *field,
                         const char *addr,
                         char *msg,
                         size_t len)
{
    struct endpoint e;
    char why[160];
    int rv = endpoint_parse(addr, &e, why, sizeof why);

    if (rv == KLAXON_OK) {
        endpoint_clear(&e);
        if (strlen(addr) < MEMBER_ADDRESS_MAX) {
            return KLAXON_OK;
        }
        snprintf(why, sizeof why, "longer than %d bytes",
                 MEMBER_ADDRESS_MAX - 1);
        rv = KLAXON_EINVAL;
    }
    snprintf(msg, len, "%s: %s", field, why);
    return rv;
}

int check_member_add(const struct klaxon_member_add *m, char *msg, size_t len)
{
    int rv;

    if (m == NULL) {
        snprintf(msg, len, "member: missing");
        return KLAXON_EINVAL;
    }
    if ((rv = check_member_id("id", m->id, msg, len)) != KLAXON_OK ||
        (rv = check_address("raft_address", m->raft_address, msg, len)) !=
            KLAXON_OK) {
        return rv;
    }
    if (m->api_address != NULL && m->api_address[0] != '\0' &&
        (rv = check_address("api_address", m->api_address, msg, len)) !=
            KLAXON_OK) {
        return rv;
    }
    return check_member_role(m->role, msg, len);
}
