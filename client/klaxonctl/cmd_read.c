/* get and list. */
#include <stdlib.h>
#include <string.h>

#include "kctl.h"

#define TABLE_WIDTH 100
#define SERVICE_MAX_WIDTH 24
#define SUMMARY_MIN_WIDTH 10
#define LINE_MAX 4200

static void field(const char *name, const char *value)
{
    char line[LINE_MAX];

    kctl_one_line(kctl_or_dash(value), line, sizeof line);
    printf("%-14s%s\n", name, line);
}

/* "when by who", or "-". */
static void done_field(const char *name, uint64_t ms, const char *by)
{
    char when[32];
    char line[200];

    kctl_format_time(ms, when, sizeof when);
    if (ms == 0) {
        field(name, "-");
        return;
    }
    snprintf(line, sizeof line, "%s by %s", when, kctl_or_dash(by));
    field(name, line);
}

static void print_details(const struct klaxon_incident *i)
{
    char line[LINE_MAX];

    if (i->n_details == 0) {
        field("details:", "-");
    }
    for (size_t k = 0; k < i->n_details; k++) {
        snprintf(line, sizeof line, "%s=%s", i->details[k].key,
                 i->details[k].value);
        field(k == 0 ? "details:" : "", line);
    }
}

/* "unanswered, maintenance, ..." or "-". */
static void flags_field(const struct klaxon_incident *i)
{
    const struct
    {
        bool set;
        const char *name;
    } flags[] = {
        {i->unanswered, "unanswered"},
        {i->maintenance, "opened in maintenance"},
        {i->response_missed, "response target missed"},
        {i->resolution_missed, "resolution target missed"},
        {i->false_positive, "false positive"},
    };
    char line[200] = "";
    size_t used = 0;

    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++) {
        if (flags[k].set && used < sizeof line) {
            int n = snprintf(line + used, sizeof line - used, "%s%s",
                             used > 0 ? ", " : "", flags[k].name);
            used += n > 0 ? (size_t)n : 0;
        }
    }
    field("flags:", line);
}

/* Escalation policy, level and repeat, next escalation, commander,
 * pages, flags and the last status update. */
static void print_paging(const struct klaxon_incident *i)
{
    char buf[300];
    char when[32];

    snprintf(buf, sizeof buf, "%s%s%s%s", kctl_or_dash(i->escalation_policy),
             i->paging[0] != '\0' ? " (paging: " : "", i->paging,
             i->paging[0] != '\0' ? ")" : "");
    field("policy:", buf);
    kctl_format_time(i->next_escalation_ms, when, sizeof when);
    if (i->escalation_level == 0) {
        snprintf(buf, sizeof buf, "-");
    } else {
        snprintf(buf, sizeof buf, "level %u, repeat %u%s%s",
                 i->escalation_level, i->escalation_loop,
                 i->next_escalation_ms != 0 ? "; next " : "",
                 i->next_escalation_ms != 0 ? when : "");
    }
    field("escalation:", buf);
    field("commander:", i->commander);
    snprintf(buf, sizeof buf, "%u", i->pages);
    field("pages:", buf);
    flags_field(i);
    kctl_format_time(i->last_update_ms, when, sizeof when);
    field("last update:", when);
    if (i->public_status != KLAXON_PUBLIC_NONE) {
        size_t used = (size_t)snprintf(
            buf, sizeof buf, "%s", klaxon_public_status_name(i->public_status));
        for (size_t k = 0; k < i->n_components && used < sizeof buf; k++) {
            used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s",
                                     k == 0 ? "; components " : ", ",
                                     i->components[k]);
        }
        field("status page:", buf);
        if (i->impact[0] != '\0') {
            field("impact:", i->impact);
        }
    }
}

static void print_header(const struct klaxon_incident *i)
{
    char buf[64];
    char when[32];

    printf("%-14s%llu\n", "incident:", (unsigned long long)i->id);
    field("status:", klaxon_status_name(i->status));
    snprintf(buf, sizeof buf, "Sev%u", i->severity);
    field("severity:", buf);
    field("service:", i->service);
    field("summary:", i->summary);
    field("source:", i->source);
    field("dedup key:", i->dedup_key);
    kctl_format_time(i->last_alert_ms, when, sizeof when);
    snprintf(buf, sizeof buf, "%u (last %s)", i->alert_count, when);
    field("alerts:", buf);
    kctl_format_time(i->created_ms, when, sizeof when);
    field("created:", when);
    done_field("acknowledged:", i->acknowledged_ms, i->acknowledged_by);
    done_field("resolved:", i->resolved_ms, i->resolved_by);
    print_details(i);
    print_paging(i);
}

static void print_timeline(const struct klaxon_incident *i)
{
    size_t actor_w = 5;
    char when[32];
    char msg[LINE_MAX];

    for (size_t k = 0; k < i->n_timeline; k++) {
        size_t w = kctl_width(kctl_or_dash(i->timeline[k].actor));
        actor_w = w > actor_w ? w : actor_w;
    }
    printf("\ntimeline:\n");
    for (size_t k = 0; k < i->n_timeline; k++) {
        const struct klaxon_event *e = &i->timeline[k];
        kctl_format_time(e->at_ms, when, sizeof when);
        kctl_one_line(e->message, msg, sizeof msg);
        fputs("  ", stdout);
        kctl_cell(stdout, when, 20);
        kctl_cell(stdout, e->kind, 14);
        if (msg[0] == '\0') {
            printf("%s\n", kctl_or_dash(e->actor));
            continue;
        }
        kctl_cell(stdout, kctl_or_dash(e->actor), actor_w);
        if (e->update_status != KLAXON_PUBLIC_NONE) {
            printf("[%s] ", klaxon_public_status_name(e->update_status));
        }
        printf("%s\n", msg);
    }
}

int kctl_cmd_get(struct kctl_ctx *ctx)
{
    struct klaxon_incident *i;
    uint64_t id;
    int rv;

    if (ctx->n_pos == 0) {
        return kctl_usage(ctx, "missing incident ID");
    }
    if (kctl_parse_id(ctx->pos[0], &id) != 0) {
        return kctl_usage(ctx, "'%s' is not an incident ID", ctx->pos[0]);
    }
    rv = kctl_connect(ctx);
    if (rv != 0) {
        return rv;
    }
    rv = klaxon_get(ctx->client, id, kctl_read_mode(ctx), &i);
    if (rv != KLAXON_OK) {
        return kctl_fail(ctx, rv);
    }
    if (ctx->g.json) {
        rv = kctl_json_print(ctx, kctl_json_incident(i, true));
    } else {
        print_header(i);
        print_timeline(i);
    }
    klaxon_incident_free(i);
    return rv;
}

static int parse_filter(const char *s, enum klaxon_filter *f)
{
    static const struct
    {
        const char *name;
        enum klaxon_filter filter;
    } names[] = {
        {"open", KLAXON_FILTER_OPEN},
        {"triggered", KLAXON_FILTER_TRIGGERED},
        {"acknowledged", KLAXON_FILTER_ACKNOWLEDGED},
        {"resolved", KLAXON_FILTER_RESOLVED},
        {"all", KLAXON_FILTER_ANY},
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(s, names[i].name) == 0) {
            *f = names[i].filter;
            return 0;
        }
    }
    return -1;
}

static int list_args(struct kctl_ctx *ctx, struct klaxon_list_query *q)
{
    const char *status = kctl_flag(ctx, "status");
    const char *limit = kctl_flag(ctx, "limit");
    const char *before = kctl_flag(ctx, "before");
    unsigned long n = 100;

    q->filter = KLAXON_FILTER_OPEN;
    q->service = kctl_flag(ctx, "service");
    if (status != NULL && parse_filter(status, &q->filter) != 0) {
        return kctl_usage(ctx,
                          "--status must be open, triggered, "
                          "acknowledged, resolved or all, got '%s'",
                          status);
    }
    if (limit != NULL && (kctl_parse_uint(limit, 1000, &n) != 0 || n == 0)) {
        return kctl_usage(ctx, "--limit must be 1..1000, got '%s'", limit);
    }
    q->limit = (unsigned)n;
    if (before != NULL && kctl_parse_id(before, &q->before_id) != 0) {
        return kctl_usage(ctx, "--before needs an incident ID, got '%s'",
                          before);
    }
    return 0;
}

/* Width of each column but the summary. */
struct widths
{
    size_t id, status, service, alerts, age;
};

static void measure(const struct klaxon_incident_list *l,
                    uint64_t now,
                    struct widths *w)
{
    char buf[32];

    *w = (struct widths){2, 6, 7, 6, 3};
    for (size_t k = 0; k < l->n; k++) {
        const struct klaxon_incident *i = &l->items[k];
        size_t n = (size_t)snprintf(buf, sizeof buf, "%llu",
                                    (unsigned long long)i->id);
        w->id = n > w->id ? n : w->id;
        n = strlen(klaxon_status_name(i->status));
        w->status = n > w->status ? n : w->status;
        n = kctl_width(i->service);
        w->service = n > w->service ? n : w->service;
        n = (size_t)snprintf(buf, sizeof buf, "%u", i->alert_count);
        w->alerts = n > w->alerts ? n : w->alerts;
        kctl_format_age(i->created_ms, now, buf, sizeof buf);
        n = strlen(buf);
        w->age = n > w->age ? n : w->age;
    }
    if (w->service > SERVICE_MAX_WIDTH) {
        w->service = SERVICE_MAX_WIDTH;
    }
}

static void print_row(const struct widths *w,
                      size_t summary_w,
                      const char *const cells[7])
{
    char fitted[LINE_MAX];

    kctl_fit(cells[3], w->service, fitted, sizeof fitted);
    kctl_cell(stdout, cells[0], w->id);
    kctl_cell(stdout, cells[1], w->status);
    kctl_cell(stdout, cells[2], 4);
    kctl_cell(stdout, fitted, w->service);
    kctl_cell(stdout, cells[4], w->alerts);
    kctl_cell(stdout, cells[5], w->age);
    kctl_fit(cells[6], summary_w, fitted, sizeof fitted);
    printf("%s\n", fitted);
}

static void print_table(const struct klaxon_incident_list *l)
{
    static const char *const head[7] = {"ID",     "STATUS", "SEV",    "SERVICE",
                                        "ALERTS", "AGE",    "SUMMARY"};
    uint64_t now = kctl_now_ms();
    struct widths w;
    size_t used;
    size_t summary_w;

    measure(l, now, &w);
    used = w.id + w.status + 4 + w.service + w.alerts + w.age + 6 * 2;
    summary_w = used + SUMMARY_MIN_WIDTH <= TABLE_WIDTH ? TABLE_WIDTH - used
                                                        : SUMMARY_MIN_WIDTH;
    print_row(&w, summary_w, head);
    for (size_t k = 0; k < l->n; k++) {
        const struct klaxon_incident *i = &l->items[k];
        char id[24], sev[16], alerts[16], age[16];
        const char *cells[7] = {id,        klaxon_status_name(i->status),
                                sev,       i->service,
                                alerts,    age,
                                i->summary};
        snprintf(id, sizeof id, "%llu", (unsigned long long)i->id);
        snprintf(sev, sizeof sev, "Sev%u", i->severity);
        snprintf(alerts, sizeof alerts, "%u", i->alert_count);
        kctl_format_age(i->created_ms, now, age, sizeof age);
        print_row(&w, summary_w, cells);
    }
}

static int print_list_json(const struct kctl_ctx *ctx,
                           const struct klaxon_incident_list *l)
{
    json_t *items = json_array();

    for (size_t k = 0; items != NULL && k < l->n; k++) {
        if (json_array_append_new(
                items, kctl_json_incident(&l->items[k], false)) != 0) {
            json_decref(items);
            items = NULL;
        }
    }
    return kctl_json_print(
        ctx, json_pack("{s:o, s:b}", "incidents", items, "more", (int)l->more));
}

int kctl_cmd_list(struct kctl_ctx *ctx)
{
    struct klaxon_list_query q = {0};
    struct klaxon_incident_list *l;
    int rv = list_args(ctx, &q);

    if (rv == 0) {
        rv = kctl_connect(ctx);
    }
    if (rv != 0) {
        return rv;
    }
    rv = klaxon_list(ctx->client, &q, kctl_read_mode(ctx), &l);
    if (rv != KLAXON_OK) {
        return kctl_fail(ctx, rv);
    }
    if (ctx->g.json) {
        rv = print_list_json(ctx, l);
    } else if (l->n == 0) {
        printf("no incidents\n");
    } else {
        print_table(l);
        if (l->more) {
            printf("(more incidents: add --before %llu for the next page)\n",
                   (unsigned long long)l->items[l->n - 1].id);
        }
    }
    klaxon_incident_list_free(l);
    return rv;
}
