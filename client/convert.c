#include "convert.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* strdup that maps NULL to "" and counts failures in *bad. */
static char *copy_str(const char *s, bool *bad)
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
    switch (k) {
        case KLAXON__EVENT_KIND__EVENT_TRIGGERED:
            return "triggered";
        case KLAXON__EVENT_KIND__EVENT_ALERT:
            return "alert";
        case KLAXON__EVENT_KIND__EVENT_ACKNOWLEDGED:
            return "acknowledged";
        case KLAXON__EVENT_KIND__EVENT_RESOLVED:
            return "resolved";
        case KLAXON__EVENT_KIND__EVENT_NOTE:
            return "note";
        default:
            return "unknown";
    }
}

static void copy_details(const Klaxon__Incident *in,
                         struct klaxon_incident *out,
                         bool *bad)
{
    if (in->n_details == 0) {
        return;
    }
    out->details = calloc(in->n_details, sizeof *out->details);
    if (out->details == NULL) {
        *bad = true;
        return;
    }
    out->n_details = in->n_details;
    for (size_t i = 0; i < in->n_details; i++) {
        out->details[i].key = copy_str(in->details[i]->key, bad);
        out->details[i].value = copy_str(in->details[i]->value, bad);
    }
}

static void copy_timeline(const Klaxon__GetResult *g,
                          struct klaxon_incident *out,
                          bool *bad)
{
    if (g->n_timeline == 0) {
        return;
    }
    out->timeline = calloc(g->n_timeline, sizeof *out->timeline);
    if (out->timeline == NULL) {
        *bad = true;
        return;
    }
    out->n_timeline = g->n_timeline;
    for (size_t i = 0; i < g->n_timeline; i++) {
        const Klaxon__TimelineEvent *e = g->timeline[i];
        struct klaxon_event *o = &out->timeline[i];
        o->at_ms = e->at_ms;
        o->kind = copy_str(event_kind(e->kind), bad);
        o->actor = copy_str(e->actor, bad);
        o->message = copy_str(e->message, bad);
    }
}

int convert_incident(const Klaxon__Incident *in,
                     const Klaxon__GetResult *g,
                     struct klaxon_incident *out)
{
    bool bad = false;

    memset(out, 0, sizeof *out);
    out->id = in->id;
    out->service = copy_str(in->service, &bad);
    out->severity = in->severity;
    out->summary = copy_str(in->summary, &bad);
    out->source = copy_str(in->source, &bad);
    out->dedup_key = copy_str(in->dedup_key, &bad);
    copy_details(in, out, &bad);
    out->status = convert_status_code(in->status);
    out->created_ms = in->created_ms;
    out->updated_ms = in->updated_ms;
    out->acknowledged_ms = in->acknowledged_ms;
    out->acknowledged_by = copy_str(in->acknowledged_by, &bad);
    out->resolved_ms = in->resolved_ms;
    out->resolved_by = copy_str(in->resolved_by, &bad);
    out->alert_count = in->alert_count;
    out->last_alert_ms = in->last_alert_ms;
    if (g != NULL) {
        copy_timeline(g, out, &bad);
    }
    if (bad) {
        convert_incident_clear(out);
        return KLAXON_ENOMEM;
    }
    return KLAXON_OK;
}

void convert_incident_clear(struct klaxon_incident *i)
{
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

static void copy_members(const Klaxon__NodeStatus *in,
                         struct klaxon_node_status *s,
                         bool *bad)
{
    if (in->n_members == 0) {
        return;
    }
    s->members = calloc(in->n_members, sizeof *s->members);
    if (s->members == NULL) {
        *bad = true;
        return;
    }
    s->n_members = in->n_members;
    for (size_t i = 0; i < in->n_members; i++) {
        s->members[i].id = in->members[i]->id;
        s->members[i].raft_address =
            copy_str(in->members[i]->raft_address, bad);
        s->members[i].api_address = copy_str(in->members[i]->api_address, bad);
    }
}

struct klaxon_node_status *convert_status(const Klaxon__NodeStatus *in)
{
    struct klaxon_node_status *s = calloc(1, sizeof *s);
    bool bad = false;

    if (s == NULL) {
        return NULL;
    }
    s->id = in->id;
    s->role = copy_str(in->role, &bad);
    s->term = in->term;
    s->commit_index = in->commit_index;
    s->applied_index = in->applied_index;
    s->last_log_index = in->last_log_index;
    s->leader_id = in->leader_id;
    s->leader_api_address = copy_str(in->leader_api_address, &bad);
    s->ready = in->ready;
    s->version = copy_str(in->version, &bad);
    s->uptime_ms = in->uptime_ms;
    copy_members(in, s, &bad);
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
    for (size_t i = 0; i < s->n_members; i++) {
        free(s->members[i].api_address);
        free(s->members[i].raft_address);
    }
    free(s->members);
    free(s->version);
    free(s->leader_api_address);
    free(s->role);
    free(s);
}
