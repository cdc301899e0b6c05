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

static json_t *timeline_array(const struct klaxon_incident *i)
{
    json_t *a = json_array();

    for (size_t k = 0; a != NULL && k < i->n_timeline; k++) {
        const struct klaxon_event *e = &i->timeline[k];
        if (json_array_append_new(
                a, json_pack("{s:I, s:s, s:s, s:s}", "at_ms",
                             (json_int_t)e->at_ms, "kind", e->kind, "actor",
                             e->actor, "message", e->message)) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
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

    if (o != NULL && timeline &&
        json_object_set_new(o, "timeline", timeline_array(i)) != 0) {
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
