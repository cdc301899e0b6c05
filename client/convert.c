#include "convert.h"

#include <stdlib.h>
#include <string.h>

const char *convert_name(const char *const *names,
                         size_t n,
                         int value,
                         const char *unknown)
{
    if (value < 0 || (size_t)value >= n || names[value] == NULL) {
        return unknown;
    }
    return names[value];
}

void *convert_array(size_t n, size_t size, bool *bad)
{
    void *p = n > 0 ? calloc(n, size) : NULL;

    if (n > 0 && p == NULL) {
        *bad = true;
    }
    return p;
}

char *convert_str(const char *s, bool *bad)
{
    char *d = strdup(s != NULL ? s : "");

    if (d == NULL) {
        *bad = true;
    }
    return d;
}

enum klaxon_status convert_status_code(Klaxon__Status s)
{
    switch (s) {
        case KLAXON__STATUS__TRIGGERED:
            return KLAXON_TRIGGERED;
        case KLAXON__STATUS__ACKNOWLEDGED:
            return KLAXON_ACKNOWLEDGED;
        case KLAXON__STATUS__RESOLVED:
            return KLAXON_RESOLVED;
        default:
            return KLAXON_STATUS_UNKNOWN;
    }
}

static const char *event_kind(Klaxon__EventKind k)
{
    static const char *const names[] = {
        [KLAXON__EVENT_KIND__EVENT_TRIGGERED] = "triggered",
        [KLAXON__EVENT_KIND__EVENT_ALERT] = "alert",
        [KLAXON__EVENT_KIND__EVENT_ACKNOWLEDGED] = "acknowledged",
        [KLAXON__EVENT_KIND__EVENT_RESOLVED] = "resolved",
        [KLAXON__EVENT_KIND__EVENT_NOTE] = "note",
        [KLAXON__EVENT_KIND__EVENT_PAGED] = "paged",
        [KLAXON__EVENT_KIND__EVENT_PAGE_DELIVERED] = "page_delivered",
        [KLAXON__EVENT_KIND__EVENT_PAGE_FAILED] = "page_failed",
        [KLAXON__EVENT_KIND__EVENT_ESCALATED] = "escalated",
        [KLAXON__EVENT_KIND__EVENT_UNANSWERED] = "unanswered",
        [KLAXON__EVENT_KIND__EVENT_TARGET_MISSED] = "target_missed",
        [KLAXON__EVENT_KIND__EVENT_NOT_PAGED] = "not_paged",
        [KLAXON__EVENT_KIND__EVENT_RETRIGGERED] = "retriggered",
        [KLAXON__EVENT_KIND__EVENT_REMINDER] = "reminder",
        [KLAXON__EVENT_KIND__EVENT_STATUS_UPDATE] = "status_update",
    };

    return convert_name(names, sizeof names / sizeof names[0], (int)k,
                        "unknown");
}

static const char *paging_name(Klaxon__Paging p)
{
    static const char *const names[] = {
        [KLAXON__PAGING__PAGING_DEFAULT] = "",
        [KLAXON__PAGING__PAGING_ESCALATE] = "escalate",
        [KLAXON__PAGING__PAGING_FIRST_LEVEL] = "first_level",
        [KLAXON__PAGING__PAGING_NONE] = "none",
    };

    return convert_name(names, sizeof names / sizeof names[0], (int)p,
                        "unknown");
}

static void copy_details(const Klaxon__Incident *in,
                         struct klaxon_incident *out,
                         bool *bad)
{
    out->details = convert_array(in->n_details, sizeof *out->details, bad);
    if (out->details == NULL) {
        return;
    }
    out->n_details = in->n_details;
    for (size_t i = 0; i < in->n_details; i++) {
        out->details[i].key = convert_str(in->details[i]->key, bad);
        out->details[i].value = convert_str(in->details[i]->value, bad);
    }
}

static void copy_timeline(const Klaxon__GetResult *g,
                          struct klaxon_incident *out,
                          bool *bad)
{
    out->timeline = convert_array(g->n_timeline, sizeof *out->timeline, bad);
    if (out->timeline == NULL) {
        return;
    }
    out->n_timeline = g->n_timeline;
    for (size_t i = 0; i < g->n_timeline; i++) {
        const Klaxon__TimelineEvent *e = g->timeline[i];
        struct klaxon_event *o = &out->timeline[i];
        o->at_ms = e->at_ms;
        o->kind = convert_str(event_kind(e->kind), bad);
        o->actor = convert_str(e->actor, bad);
        o->message = convert_str(e->message, bad);
        o->update_status = e->update != NULL
                               ? (enum klaxon_public_status)e->update->status
                               : KLAXON_PUBLIC_NONE;
    }
}

static void copy_public(const Klaxon__Incident *in,
                        struct klaxon_incident *out,
                        bool *bad)
{
    out->false_positive = in->false_positive;
    out->public_status = (enum klaxon_public_status)in->public_status;
    out->impact = convert_str(in->impact, bad);
    out->public_since_ms = in->public_since_ms;
    out->components = convert_array(in->n_components, sizeof(char *), bad);
    for (size_t i = 0; out->components != NULL && i < in->n_components; i++) {
        out->components[i] = convert_str(in->components[i], bad);
        out->n_components++;
    }
}

static void copy_paging(const Klaxon__Incident *in,
                        struct klaxon_incident *out,
                        bool *bad)
{
    out->escalation_policy = convert_str(in->escalation_policy, bad);
    out->paging = paging_name(in->paging);
    out->escalation_level = in->escalation_level;
    out->escalation_loop = in->escalation_loop;
    out->unanswered = in->unanswered;
    out->maintenance = in->maintenance;
    out->commander = convert_str(in->commander, bad);
    out->response_missed = in->response_missed;
    out->resolution_missed = in->resolution_missed;
    out->pages = in->pages;
    out->next_escalation_ms = in->timers != NULL ? in->timers->escalate_ms : 0;
    out->last_update_ms = in->last_update_ms;
}

int convert_incident(const Klaxon__Incident *in,
                     const Klaxon__GetResult *g,
                     struct klaxon_incident *out)
{
    bool bad = false;

    memset(out, 0, sizeof *out);
    out->id = in->id;
    out->service = convert_str(in->service, &bad);
    out->severity = in->severity;
    out->summary = convert_str(in->summary, &bad);
    out->source = convert_str(in->source, &bad);
    out->dedup_key = convert_str(in->dedup_key, &bad);
    copy_details(in, out, &bad);
    out->status = convert_status_code(in->status);
    out->created_ms = in->created_ms;
    out->updated_ms = in->updated_ms;
    out->acknowledged_ms = in->acknowledged_ms;
    out->acknowledged_by = convert_str(in->acknowledged_by, &bad);
    out->resolved_ms = in->resolved_ms;
    out->resolved_by = convert_str(in->resolved_by, &bad);
    out->alert_count = in->alert_count;
    out->last_alert_ms = in->last_alert_ms;
    copy_paging(in, out, &bad);
    copy_public(in, out, &bad);
    if (g != NULL) {
        copy_timeline(g, out, &bad);
    }
    if (bad) {
        convert_incident_clear(out);
        return KLAXON_ENOMEM;
    }
    return KLAXON_OK;
}

struct klaxon_incident *convert_get(const Klaxon__GetResult *g)
{
    struct klaxon_incident *i = malloc(sizeof *i);

    if (i != NULL && convert_incident(g->incident, g, i) != KLAXON_OK) {
        free(i);
        i = NULL;
    }
    return i;
}

void convert_incident_clear(struct klaxon_incident *i)
{
    for (size_t k = 0; k < i->n_components; k++) {
        free(i->components[k]);
    }
    free(i->components);
    free(i->impact);
    free(i->commander);
    free(i->escalation_policy);
    for (size_t k = 0; k < i->n_timeline; k++) {
        free(i->timeline[k].message);
        free(i->timeline[k].actor);
        free(i->timeline[k].kind);
    }
    free(i->timeline);
    free(i->resolved_by);
    free(i->acknowledged_by);
    for (size_t k = 0; k < i->n_details; k++) {
        free((char *)i->details[k].value);
        free((char *)i->details[k].key);
    }
    free(i->details);
    free(i->dedup_key);
    free(i->source);
    free(i->summary);
    free(i->service);
    memset(i, 0, sizeof *i);
}

void klaxon_incident_free(struct klaxon_incident *i)
{
    if (i == NULL) {
        return;
    }
    convert_incident_clear(i);
    free(i);
}

struct klaxon_incident_list *convert_list(const Klaxon__ListResult *in)
{
    struct klaxon_incident_list *l = calloc(1, sizeof *l);

    if (l == NULL) {
        return NULL;
    }
    l->more = in->more;
    if (in->n_incidents > 0) {
        l->items = calloc(in->n_incidents, sizeof *l->items);
        if (l->items == NULL) {
            free(l);
            return NULL;
        }
    }
    for (; l->n < in->n_incidents; l->n++) {
        if (convert_incident(in->incidents[l->n], NULL, &l->items[l->n]) !=
            KLAXON_OK) {
            klaxon_incident_list_free(l);
            return NULL;
        }
    }
    return l;
}

void klaxon_incident_list_free(struct klaxon_incident_list *l)
{
    if (l == NULL) {
        return;
    }
    for (size_t i = 0; i < l->n; i++) {
        convert_incident_clear(&l->items[i]);
    }
    free(l->items);
    free(l);
}

void convert_members(Klaxon__Member *const *in,
                     size_t n,
                     struct klaxon_member **out,
                     size_t *n_out,
                     bool *bad)
{
    *out = convert_array(n, sizeof **out, bad);
    if (*out == NULL) {
        return;
    }
    *n_out = n;
    for (size_t i = 0; i < n; i++) {
        struct klaxon_member *m = &(*out)[i];
        m->id = in[i]->id;
        m->raft_address = convert_str(in[i]->raft_address, bad);
        m->api_address = convert_str(in[i]->api_address, bad);
        m->role = convert_str(in[i]->role, bad);
        m->progress_known = in[i]->progress_known;
        m->match_index = in[i]->match_index;
        m->caught_up = in[i]->caught_up;
    }
}

void convert_members_free(struct klaxon_member *m, size_t n)
{
    for (size_t i = 0; m != NULL && i < n; i++) {
        free(m[i].role);
        free(m[i].api_address);
        free(m[i].raft_address);
    }
    free(m);
}

static void copy_counters(const Klaxon__StateCounters *in,
                          struct klaxon_counters *out)
{
    if (in == NULL) {
        return;
    }
    out->config_version = in->config_version;
    out->open_incidents = in->open_incidents;
    out->pages_created = in->pages_created;
    out->pages_delivered = in->pages_delivered;
    out->pages_failed = in->pages_failed;
    out->pages_cancelled = in->pages_cancelled;
    out->escalations = in->escalations;
    out->unanswered = in->unanswered;
    out->response_missed = in->response_missed;
    out->resolution_missed = in->resolution_missed;
    out->heartbeats_missed = in->heartbeats_missed;
}

struct klaxon_node_status *convert_status(const Klaxon__NodeStatus *in)
{
    struct klaxon_node_status *s = calloc(1, sizeof *s);
    bool bad = false;

    if (s == NULL) {
        return NULL;
    }
    s->id = in->id;
    s->role = convert_str(in->role, &bad);
    s->term = in->term;
    s->commit_index = in->commit_index;
    s->applied_index = in->applied_index;
    s->last_log_index = in->last_log_index;
    s->leader_id = in->leader_id;
    s->leader_api_address = convert_str(in->leader_api_address, &bad);
    s->ready = in->ready;
    s->version = convert_str(in->version, &bad);
    s->uptime_ms = in->uptime_ms;
    copy_counters(in->counters, &s->counters);
    convert_members(in->members, in->n_members, &s->members, &s->n_members,
                    &bad);
    if (bad) {
        klaxon_node_status_free(s);
        return NULL;
    }
    return s;
}

void klaxon_node_status_free(struct klaxon_node_status *s)
{
    if (s == NULL) {
        return;
    }
    convert_members_free(s->members, s->n_members);
    free(s->version);
    free(s->leader_api_address);
    free(s->role);
    free(s);
}
