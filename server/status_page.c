#include "status_page.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply.h"
#include "incident.h"
#include "store.h"
#include "strbuf.h"

#define RESOLVED_DAYS 7
#define RESOLVED_MAX 10
#define SCAN_MAX 5000 /* newest incidents looked at for resolved ones */
#define OPEN_SCAN_MAX 100000

static const char *const public_names[] = {
    "none", "investigating", "identified", "monitoring", "resolved"};

/* Component states, best to worst. */
static const char *const states[] = {"operational", "degraded_performance",
                                     "partial_outage", "major_outage"};

static int state_of_severity(uint32_t sev)
{
    return sev <= 1 ? 3 : sev == 2 ? 2 : 1;
}

static void iso_time(uint64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms == 0 || gmtime_r(&t, &tm) == NULL) {
        snprintf(buf, len, "%s", "");
        return;
    }
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *time_json(uint64_t ms)
{
    char buf[32];
    if (ms == 0) {
        return json_null();
    }
    iso_time(ms, buf, sizeof buf);
    return json_string(buf);
}

/* --- the model ------------------------------------------------------------ */

static json_t *updates_of(const Klaxon__GetResult *g)
{
    json_t *a = json_array();
    for (size_t i = g->n_timeline; a != NULL && i > 0; i--) {
        const Klaxon__TimelineEvent *e = g->timeline[i - 1];
        unsigned st;
        if (e->kind != KLAXON__EVENT_KIND__EVENT_STATUS_UPDATE ||
            e->update == NULL) {
            continue;
        }
        st = (unsigned)e->update->status < 5 ? (unsigned)e->update->status : 0;
        json_array_append_new(
            a,
            json_pack("{s:o,s:s,s:s,s:s}", "at", time_json(e->at_ms), "status",
                      public_names[st], "message", e->message, "by", e->actor));
    }
    return a; /* newest first */
}

static json_t *components_of(const Klaxon__Incident *inc)
{
    json_t *a = json_array();
    if (inc->n_components == 0) {
        json_array_append_new(a, json_string(inc->service));
    }
    for (size_t i = 0; a != NULL && i < inc->n_components; i++) {
        json_array_append_new(a, json_string(inc->components[i]));
    }
    return a;
}

static json_t *incident_json(MDB_txn *txn,
                             const struct store *s,
                             const Klaxon__Incident *inc)
{
    Klaxon__GetResult *g = NULL;
    bool resolved = inc->status == KLAXON__STATUS__RESOLVED;
    unsigned st = (unsigned)inc->public_status < 5 ? inc->public_status : 0;
    json_t *o;

    if (incident_get(txn, s, inc->id, &g) != 0) {
        return NULL;
    }
    o = json_pack("{s:I,s:s,s:i,s:s,s:s,s:o,s:o,s:o,s:o,s:o}", "id",
                  (json_int_t)inc->id, "title", inc->summary, "severity",
                  (int)inc->severity, "status",
                  resolved ? "resolved" : public_names[st], "impact",
                  inc->impact, "components", components_of(inc), "started_at",
                  time_json(inc->public_since_ms != 0 ? inc->public_since_ms
                                                      : inc->created_ms),
                  "updated_at", time_json(inc->updated_ms), "resolved_at",
                  time_json(inc->resolved_ms), "updates", updates_of(g));
    klaxon__get_result__free_unpacked(g, NULL);
    return o;
}

/* The worst state of every component affected by a current incident. */
static void mark_components(json_t *state, const Klaxon__Incident *inc)
{
    int st = state_of_severity(inc->severity);
    json_t *list = components_of(inc);
    json_t *c;
    size_t i;

    json_array_foreach(list, i, c)
    {
        const char *name = json_string_value(c);
        json_t *old = json_object_get(state, name);
        if (old == NULL || json_integer_value(old) < st) {
            json_object_set_new(state, name, json_integer(st));
        }
    }
    json_decref(list);
}

static int add_current(MDB_txn *txn,
                       const struct store *s,
                       json_t *current,
                       json_t *state)
{
    MDB_cursor *cur;
    MDB_val k, v;
    size_t n = 0;
    int rv = mdb_cursor_open(txn, s->dbi[TABLE_OPEN], &cur);

    for (rv = rv != 0 ? rv : mdb_cursor_get(cur, &k, &v, MDB_LAST);
         rv == 0 && n < OPEN_SCAN_MAX;
         rv = mdb_cursor_get(cur, &k, &v, MDB_PREV), n++) {
        Klaxon__Incident *inc;
        if (k.mv_size != 8 ||
            incident_load(txn, s, store_get_be64(k.mv_data), &inc) != 0) {
            continue;
        }
        if (inc->public_status != KLAXON__PUBLIC_STATUS__PUBLIC_NONE) {
            json_t *o = incident_json(txn, s, inc);
            if (o != NULL) {
                json_array_append_new(current, o);
            }
            mark_components(state, inc);
        }
        klaxon__incident__free_unpacked(inc, NULL);
    }
    if (cur != NULL) {
        mdb_cursor_close(cur);
    }
    return rv == 0 || rv == MDB_NOTFOUND ? 0 : -1;
}

static int add_resolved(MDB_txn *txn,
                        const struct store *s,
                        uint64_t now_ms,
                        json_t *resolved)
{
    uint64_t since = now_ms - (uint64_t)RESOLVED_DAYS * 24 * 3600 * 1000;
    MDB_cursor *cur;
    MDB_val k, v;
    size_t n = 0;
    int rv = mdb_cursor_open(txn, s->dbi[TABLE_INCIDENTS], &cur);

    for (rv = rv != 0 ? rv : mdb_cursor_get(cur, &k, &v, MDB_LAST);
         rv == 0 && n < SCAN_MAX && json_array_size(resolved) < RESOLVED_MAX;
         rv = mdb_cursor_get(cur, &k, &v, MDB_PREV), n++) {
        Klaxon__Incident *inc;
        if (k.mv_size != 8 ||
            incident_load(txn, s, store_get_be64(k.mv_data), &inc) != 0) {
            continue;
        }
        if (inc->public_status != KLAXON__PUBLIC_STATUS__PUBLIC_NONE &&
            inc->status == KLAXON__STATUS__RESOLVED &&
            inc->resolved_ms >= since) {
            json_t *o = incident_json(txn, s, inc);
            if (o != NULL) {
                json_array_append_new(resolved, o);
            }
        }
        klaxon__incident__free_unpacked(inc, NULL);
    }
    if (cur != NULL) {
        mdb_cursor_close(cur);
    }
    return rv == 0 || rv == MDB_NOTFOUND ? 0 : -1;
}

static json_t *components_json(const Klaxon__OncallConfig *cfg, json_t *state)
{
    json_t *out = json_array();
    json_t *seen = json_object();
    const char *name;
    json_t *v;

    for (size_t i = 0; cfg != NULL && i < cfg->n_services; i++) {
        const Klaxon__Service *svc = cfg->services[i];
        json_t *st = json_object_get(state, svc->name);
        json_array_append_new(
            out, json_pack("{s:s,s:s,s:s}", "name", svc->name, "description",
                           svc->description, "status",
                           states[st != NULL ? json_integer_value(st) : 0]));
        json_object_set_new(seen, svc->name, json_true());
    }
    json_object_foreach(state, name, v)
    {
        if (json_object_get(seen, name) == NULL) {
            json_array_append_new(
                out, json_pack("{s:s,s:s,s:s}", "name", name, "description", "",
                               "status", states[json_integer_value(v)]));
        }
    }
    json_decref(seen);
    return out;
}

static json_t *overall(json_t *state)
{
    static const char *const indicator[] = {"none", "minor", "major",
                                            "critical"};
    static const char *const words[] = {"All systems operational",
                                        "Degraded performance",
                                        "Partial outage", "Major outage"};
    json_int_t worst = 0;
    const char *name;
    json_t *v;

    json_object_foreach(state, name, v)
    {
        if (json_integer_value(v) > worst) {
            worst = json_integer_value(v);
        }
    }
    return json_pack("{s:s,s:s}", "indicator", indicator[worst], "description",
                     words[worst]);
}

json_t *status_model(struct node *n, uint64_t now_ms)
{
    const Klaxon__OncallConfig *cfg = NULL;
    json_t *current = json_array(), *resolved = json_array();
    json_t *state = json_object();
    json_t *model = NULL;
    MDB_txn *txn;

    if (current == NULL || resolved == NULL || state == NULL ||
        mdb_txn_begin(n->store.env, NULL, MDB_RDONLY, &txn) != 0) {
        goto done;
    }
    (void)apply_env_config(&n->fsm.env, txn, &n->store, &cfg);
    if (add_current(txn, &n->store, current, state) == 0 &&
        add_resolved(txn, &n->store, now_ms, resolved) == 0) {
        model = json_pack("{s:o,s:o,s:o,s:O,s:O}", "generated_at",
                          time_json(now_ms), "status", overall(state),
                          "components", components_json(cfg, state),
                          "incidents", current, "resolved", resolved);
    }
    mdb_txn_abort(txn);
done:
    json_decref(current);
    json_decref(resolved);
    json_decref(state);
    return model;
}

/* --- HTML ----------------------------------------------------------------- */

static const char css[] =
    "*{box-sizing:border-box}"
    "body{margin:0;font:15px/1.5 -apple-system,'Segoe UI',Roboto,"
    "'DejaVu Sans',Helvetica,Arial,sans-serif;color:#1f2933;"
    "background:#f5f7fa}"
    "main{max-width:780px;margin:0 auto;padding:32px 20px 48px}"
    "h1{font-size:26px;margin:0 0 20px;font-weight:650;letter-spacing:-.01em}"
    "h2{font-size:17px;margin:32px 0 12px;font-weight:650}"
    ".banner{border-radius:10px;padding:16px 20px;color:#fff;"
    "font-weight:600;font-size:17px}"
    ".none{background:#2f9e62}.minor{background:#d9822b}"
    ".major{background:#e0632f}.critical{background:#c92a2a}"
    ".card{background:#fff;border:1px solid #e3e8ee;border-radius:10px;"
    "overflow:hidden}"
    ".row{display:flex;justify-content:space-between;align-items:center;"
    "padding:12px 18px;border-top:1px solid #eef1f4}"
    ".row:first-child{border-top:0}"
    ".desc{color:#6b7785;font-size:13px}"
    ".state{font-size:13px;font-weight:600;white-space:nowrap;"
    "margin-left:16px}"
    ".state:before{content:'';display:inline-block;width:9px;height:9px;"
    "border-radius:50%;margin-right:7px;background:currentColor}"
    ".operational{color:#2f9e62}.degraded_performance{color:#c99a06}"
    ".partial_outage{color:#e0632f}.major_outage{color:#c92a2a}"
    ".incident{background:#fff;border:1px solid #e3e8ee;border-radius:10px;"
    "padding:16px 18px;margin-bottom:14px}"
    ".incident h3{margin:0 0 4px;font-size:16px}"
    ".meta{color:#6b7785;font-size:13px;margin-bottom:8px}"
    ".impact{background:#fff4e6;border-left:3px solid #e0632f;"
    "padding:6px 10px;margin:8px 0;font-size:14px}"
    ".update{border-top:1px solid #eef1f4;padding:8px 0 2px}"
    ".update b{text-transform:capitalize}"
    ".when{color:#6b7785;font-size:12px}"
    ".empty{color:#6b7785;padding:14px 18px}"
    "footer{margin-top:36px;color:#8a94a1;font-size:12px;text-align:center}";

static const char *human(const char *s)
{
    static const struct
    {
        const char *key, *text;
    } names[] = {
        {"operational", "Operational"},
        {"degraded_performance", "Degraded performance"},
        {"partial_outage", "Partial outage"},
        {"major_outage", "Major outage"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(names[i].key, s) == 0) {
            return names[i].text;
        }
    }
    return s;
}

/* "2026-11-28T14:45:00Z" as "2026-11-28 14:45 UTC". */
static void html_time(struct strbuf *b, const json_t *t)
{
    const char *s = json_string_value(t);
    if (s == NULL || strlen(s) < 16) {
        strbuf_printf(b, "-");
        return;
    }
    strbuf_printf(b, "%.10s %.5s UTC", s, s + 11);
}

static void html_components(struct strbuf *b, const json_t *model)
{
    const json_t *list = json_object_get(model, "components");
    json_t *c;
    size_t i;

    strbuf_printf(b, "<h2>Components</h2><div class=\"card\">");
    if (json_array_size(list) == 0) {
        strbuf_printf(b,
                      "<div class=\"empty\">No components configured.</div>");
    }
    json_array_foreach(list, i, c)
    {
        const char *st = json_string_value(json_object_get(c, "status"));
        const char *desc = json_string_value(json_object_get(c, "description"));
        strbuf_printf(b, "<div class=\"row\"><div><div>");
        strbuf_html(b, json_string_value(json_object_get(c, "name")));
        strbuf_printf(b, "</div>");
        if (desc != NULL && desc[0] != '\0') {
            strbuf_printf(b, "<div class=\"desc\">");
            strbuf_html(b, desc);
            strbuf_printf(b, "</div>");
        }
        strbuf_printf(b, "</div><span class=\"state %s\">%s</span></div>", st,
                      human(st));
    }
    strbuf_printf(b, "</div>");
}

static void html_incident(struct strbuf *b, const json_t *inc)
{
    const char *impact = json_string_value(json_object_get(inc, "impact"));
    json_t *comps = json_object_get(inc, "components");
    json_t *u, *c;
    size_t i;

    strbuf_printf(b, "<div class=\"incident\"><h3>");
    strbuf_html(b, json_string_value(json_object_get(inc, "title")));
    strbuf_printf(b, "</h3><div class=\"meta\">Started ");
    html_time(b, json_object_get(inc, "started_at"));
    strbuf_printf(b, " &middot; Affects ");
    json_array_foreach(comps, i, c)
    {
        strbuf_printf(b, "%s", i > 0 ? ", " : "");
        strbuf_html(b, json_string_value(c));
    }
    strbuf_printf(b, "</div>");
    if (impact != NULL && impact[0] != '\0') {
        strbuf_printf(b, "<div class=\"impact\"><b>Impact:</b> ");
        strbuf_html(b, impact);
        strbuf_printf(b, "</div>");
    }
    json_array_foreach(json_object_get(inc, "updates"), i, u)
    {
        strbuf_printf(b, "<div class=\"update\"><b>");
        strbuf_html(b, json_string_value(json_object_get(u, "status")));
        strbuf_printf(b, "</b> &mdash; ");
        strbuf_html(b, json_string_value(json_object_get(u, "message")));
        strbuf_printf(b, "<div class=\"when\">");
        html_time(b, json_object_get(u, "at"));
        strbuf_printf(b, "</div></div>");
    }
    strbuf_printf(b, "</div>");
}

static void html_incidents(struct strbuf *b,
                           const json_t *list,
                           const char *title,
                           const char *none)
{
    json_t *inc;
    size_t i;

    strbuf_printf(b, "<h2>%s</h2>", title);
    if (json_array_size(list) == 0) {
        strbuf_printf(
            b, "<div class=\"card\"><div class=\"empty\">%s</div></div>", none);
    }
    json_array_foreach(list, i, inc)
    {
        html_incident(b, inc);
    }
}

char *status_html(const json_t *model)
{
    const json_t *st = json_object_get(model, "status");
    struct strbuf b;

    if (strbuf_init(&b, 16384) != 0) {
        return NULL;
    }
    strbuf_printf(&b,
                  "<!DOCTYPE html><html lang=\"en\"><head><meta "
                  "charset=\"utf-8\"><meta name=\"viewport\" "
                  "content=\"width=device-width,initial-scale=1\"><meta "
                  "http-equiv=\"refresh\" content=\"60\"><title>Service "
                  "status</title><style>%s</style></head><body><main>"
                  "<h1>Service status</h1><div class=\"banner %s\">",
                  css, json_string_value(json_object_get(st, "indicator")));
    strbuf_html(&b, json_string_value(json_object_get(st, "description")));
    strbuf_printf(&b, "</div>");
    html_incidents(&b, json_object_get(model, "incidents"), "Current incidents",
                   "No incidents right now.");
    html_components(&b, model);
    html_incidents(&b, json_object_get(model, "resolved"),
                   "Resolved in the last 7 days",
                   "Nothing resolved in the last 7 days.");
    strbuf_printf(&b, "<footer>Updated ");
    html_time(&b, json_object_get(model, "generated_at"));
    strbuf_printf(&b,
                  " &middot; refreshes every minute</footer></main></body>"
                  "</html>\n");
    return strbuf_take(&b, NULL);
}
