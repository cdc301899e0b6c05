/* JSON documents of --json, field names as in proto/klaxon.proto. */
#include "kctl.h"

static json_t *details_object(const struct klaxon_incident *i)
{
    json_t *o = json_object();

    for (size_t k = 0; o != NULL && k < i->n_details; k++) {
        if (json_object_set_new(o, i->details[k].key,
                                json_string(i->details[k].value)) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    return o;
}

/* Builds item i of `items` as JSON; NULL when out of memory. */
typedef json_t *(*item_fn)(const void *items, size_t i);

/* An array of the n items; NULL when one of them could not be built. */
static json_t *array_of(const void *items, size_t n, item_fn item)
{
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && i < n; i++) {
        if (json_array_append_new(a, item(items, i)) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

static json_t *event_json(const void *items, size_t i)
{
    const struct klaxon_event *e = &((const struct klaxon_event *)items)[i];
    json_t *o =
        json_pack("{s:I, s:s, s:s, s:s}", "at_ms", (json_int_t)e->at_ms, "kind",
                  e->kind, "actor", e->actor, "message", e->message);

    if (o != NULL && e->update_status != KLAXON_PUBLIC_NONE) {
        json_object_set_new(
            o, "status",
            json_string(klaxon_public_status_name(e->update_status)));
    }
    return o;
}

static json_t *string_array(char *const *items, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++) {
        json_array_append_new(a, json_string(items[i]));
    }
    return a;
}

/* The status-page fields of an incident, added to its object `o`. */
static int add_public(json_t *o, const struct klaxon_incident *i)
{
    json_t *p = json_pack(
        "{s:b, s:s, s:o, s:s, s:I}", "false_positive", (int)i->false_positive,
        "public_status", klaxon_public_status_name(i->public_status),
        "components", string_array(i->components, i->n_components), "impact",
        i->impact, "public_since_ms", (json_int_t)i->public_since_ms);
    int rv = p != NULL ? json_object_update(o, p) : -1;

    json_decref(p);
    return rv;
}

/* The paging fields of an incident, added to its object `o`. */
static int add_paging(json_t *o, const struct klaxon_incident *i)
{
    json_t *p = json_pack(
        "{s:s, s:s, s:I, s:I, s:b, s:b, s:s, s:b, s:b, s:I, s:I, s:I}",
        "escalation_policy", i->escalation_policy, "paging", i->paging,
        "escalation_level", (json_int_t)i->escalation_level, "escalation_loop",
        (json_int_t)i->escalation_loop, "unanswered", (int)i->unanswered,
        "maintenance", (int)i->maintenance, "commander", i->commander,
        "response_missed", (int)i->response_missed, "resolution_missed",
        (int)i->resolution_missed, "pages", (json_int_t)i->pages,
        "next_escalation_ms", (json_int_t)i->next_escalation_ms,
        "last_update_ms", (json_int_t)i->last_update_ms);
    int rv = p != NULL ? json_object_update(o, p) : -1;

    json_decref(p);
    return rv;
}

json_t *kctl_json_incident(const struct klaxon_incident *i, bool timeline)
{
    json_t *o = json_pack(
        "{s:I, s:s, s:i, s:s, s:s, s:s, s:o, s:s, s:I, s:I, s:I, s:s, s:I, "
        "s:s, s:I, s:I}",
        "id", (json_int_t)i->id, "service", i->service, "severity",
        (int)i->severity, "summary", i->summary, "source", i->source,
        "dedup_key", i->dedup_key, "details", details_object(i), "status",
        klaxon_status_name(i->status), "created_ms", (json_int_t)i->created_ms,
        "updated_ms", (json_int_t)i->updated_ms, "acknowledged_ms",
        (json_int_t)i->acknowledged_ms, "acknowledged_by", i->acknowledged_by,
        "resolved_ms", (json_int_t)i->resolved_ms, "resolved_by",
        i->resolved_by, "alert_count", (json_int_t)i->alert_count,
        "last_alert_ms", (json_int_t)i->last_alert_ms);

    if (o != NULL &&
        (add_paging(o, i) != 0 || add_public(o, i) != 0 ||
         (timeline && json_object_set_new(o, "timeline",
                                          array_of(i->timeline, i->n_timeline,
                                                   event_json)) != 0))) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

json_t *kctl_json_result(const struct klaxon_result *r)
{
    return json_pack(
        "{s:I, s:b, s:I, s:s}", "incident_id", (json_int_t)r->incident_id,
        "deduplicated", (int)r->deduplicated, "alert_count",
        (json_int_t)r->alert_count, "status", klaxon_status_name(r->status));
}

json_t *kctl_json_counters(const struct klaxon_counters *c)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                     "config_version", (json_int_t)c->config_version,
                     "open_incidents", (json_int_t)c->open_incidents,
                     "pages_created", (json_int_t)c->pages_created,
                     "pages_delivered", (json_int_t)c->pages_delivered,
                     "pages_failed", (json_int_t)c->pages_failed,
                     "pages_cancelled", (json_int_t)c->pages_cancelled,
                     "escalations", (json_int_t)c->escalations, "unanswered",
                     (json_int_t)c->unanswered, "response_missed",
                     (json_int_t)c->response_missed, "resolution_missed",
                     (json_int_t)c->resolution_missed, "heartbeats_missed",
                     (json_int_t)c->heartbeats_missed);
}

json_t *kctl_json_config(const struct klaxon_config *c)
{
    return json_pack("{s:I, s:s, s:I, s:s, s:s}", "version",
                     (json_int_t)c->version, "file_name", c->file_name,
                     "applied_ms", (json_int_t)c->applied_ms, "applied_by",
                     c->applied_by, "yaml", c->yaml);
}

static json_t *shift_json(const void *items, size_t i)
{
    const struct klaxon_shift *s = &((const struct klaxon_shift *)items)[i];

    return json_pack("{s:s, s:s, s:I, s:I, s:s}", "schedule", s->schedule,
                     "user", s->user, "start_ms", (json_int_t)s->start_ms,
                     "end_ms", (json_int_t)s->end_ms, "layer", s->layer);
}

json_t *kctl_json_shifts(const struct klaxon_shift_list *l)
{
    return json_pack("{s:o, s:I}", "shifts",
                     array_of(l->items, l->n, shift_json), "config_version",
                     (json_int_t)l->config_version);
}

static json_t *monitor_json(const void *items, size_t i)
{
    const struct klaxon_monitor *m = &((const struct klaxon_monitor *)items)[i];

    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:b, s:I}", "name", m->name,
                     "service", m->service, "interval_ms",
                     (json_int_t)m->interval_ms, "last_checkin_ms",
                     (json_int_t)m->last_checkin_ms, "due_ms",
                     (json_int_t)m->due_ms, "down", (int)m->down, "incident_id",
                     (json_int_t)m->incident_id);
}

json_t *kctl_json_monitors(const struct klaxon_monitor_list *l)
{
    return json_pack("{s:o}", "monitors",
                     array_of(l->items, l->n, monitor_json));
}

static json_t *window_json(const void *items, size_t i)
{
    const struct klaxon_window *w = &((const struct klaxon_window *)items)[i];

    return json_pack("{s:I, s:s, s:I, s:I, s:s, s:s, s:I, s:I, s:s}", "id",
                     (json_int_t)w->id, "service", w->service, "start_ms",
                     (json_int_t)w->start_ms, "end_ms", (json_int_t)w->end_ms,
                     "reason", w->reason, "created_by", w->created_by,
                     "created_ms", (json_int_t)w->created_ms, "ended_ms",
                     (json_int_t)w->ended_ms, "ended_by", w->ended_by);
}

json_t *kctl_json_windows(const struct klaxon_window_list *l)
{
    return json_pack("{s:o}", "windows", array_of(l->items, l->n, window_json));
}

static json_t *page_json(const void *items, size_t i)
{
    const struct klaxon_page *p = &((const struct klaxon_page *)items)[i];

    return json_pack(
        "{s:I, s:I, s:s, s:I, s:I, s:s, s:s, s:{s:s, s:s}, s:s, s:I, s:I, "
        "s:I, s:s, s:I, s:I}",
        "id", (json_int_t)p->id, "incident_id", (json_int_t)p->incident_id,
        "kind", p->kind, "level", (json_int_t)p->level, "loop",
        (json_int_t)p->loop, "user", p->user, "schedule", p->schedule,
        "contact", "kind", p->contact_kind, "address", p->contact_address,
        "state", p->state, "attempts", (json_int_t)p->attempts, "created_ms",
        (json_int_t)p->created_ms, "finished_ms", (json_int_t)p->finished_ms,
        "error", p->error, "shift_start_ms", (json_int_t)p->shift_start_ms,
        "shift_end_ms", (json_int_t)p->shift_end_ms);
}

json_t *kctl_json_pages(const struct klaxon_page_list *l)
{
    return json_pack("{s:o}", "pages", array_of(l->items, l->n, page_json));
}

int kctl_json_print(const struct kctl_ctx *ctx, json_t *doc)
{
    int rv;

    if (doc == NULL) {
        return kctl_error(ctx, KCTL_EXIT_REFUSED,
                          "cannot encode the answer as JSON (out of memory "
                          "or invalid UTF-8)");
    }
    rv = json_dumpf(doc, stdout, JSON_COMPACT);
    json_decref(doc);
    if (rv != 0 || fputc('\n', stdout) == EOF) {
        return kctl_error(ctx, KCTL_EXIT_REFUSED, "cannot write to stdout");
    }
    return KCTL_EXIT_OK;
}
