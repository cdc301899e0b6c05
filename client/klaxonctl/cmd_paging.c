/* maintenance start, end and list, and pages. */
#include <stdlib.h>
#include <string.h>

#include "kctl.h"

#define DURATION_MAX_MS (366ULL * 86400000) /* a year */

static int maintenance_args(struct kctl_ctx *ctx, struct klaxon_maintenance *m)
{
    const char *duration = kctl_flag(ctx, "duration");
    bool end = kctl_flag(ctx, "end") != NULL;
    int rv;

    m->service = kctl_flag(ctx, "service");
    m->reason = kctl_flag(ctx, "reason");
    if (m->service == NULL) {
        return kctl_usage(ctx, "--service is required");
    }
    if ((rv = kctl_time_flag(ctx, "start", &m->start_ms)) != 0 ||
        (rv = kctl_time_flag(ctx, "end", &m->end_ms)) != 0) {
        return rv;
    }
    if ((duration != NULL) == end) {
        return kctl_usage(ctx, "give either --duration or --end");
    }
    if (duration != NULL &&
        kctl_parse_span(duration, DURATION_MAX_MS, &m->duration_ms) != 0) {
        return kctl_usage(ctx,
                          "--duration: invalid duration '%s' (e.g. 30m, 2h, "
                          "1d; at most 366d)",
                          duration);
    }
    m->by = kctl_actor(ctx);
    if (m->by == NULL) {
        return kctl_usage(ctx, "who are you? use --by or set KLAXON_USER");
    }
    return 0;
}

int kctl_cmd_maintenance_start(struct kctl_ctx *ctx)
{
    struct klaxon_maintenance m = {0};
    uint64_t id;
    int rv = maintenance_args(ctx, &m);

    if (rv == 0) {
        rv = kctl_connect(ctx);
    }
    if (rv != 0) {
        return rv;
    }
    rv = klaxon_maintenance_start(ctx->client, &m, &id);
    if (rv != KLAXON_OK) {
        return kctl_fail(ctx, rv);
    }
    if (ctx->g.json) {
        return kctl_json_print(ctx,
                               json_pack("{s:I}", "window_id", (json_int_t)id));
    }
    printf("%llu\n", (unsigned long long)id);
    return 0;
}

int kctl_cmd_maintenance_end(struct kctl_ctx *ctx)
{
    const char *by = kctl_actor(ctx);
    uint64_t id;
    int rv;

    if (ctx->n_pos == 0) {
        return kctl_usage(ctx, "missing window ID");
    }
    if (kctl_parse_id(ctx->pos[0], &id) != 0) {
        return kctl_usage(ctx, "'%s' is not a window ID", ctx->pos[0]);
    }
    if (by == NULL) {
        return kctl_usage(ctx, "who are you? use --by or set KLAXON_USER");
    }
    rv = kctl_connect(ctx);
    if (rv != 0) {
        return rv;
    }
    rv = klaxon_maintenance_end(ctx->client, id, by);
    if (rv != KLAXON_OK) {
        return kctl_fail(ctx, rv);
    }
    if (ctx->g.json) {
        return kctl_json_print(ctx, json_pack("{s:I, s:s}", "window_id",
                                              (json_int_t)id, "ended_by", by));
    }
    printf("maintenance window %llu ended by %s\n", (unsigned long long)id, by);
    return 0;
}

/* "scheduled", "active", "over" or "ended by WHO". */
static void window_state(const struct klaxon_window *w,
                         uint64_t now,
                         char *buf,
                         size_t len)
{
    if (w->ended_ms != 0) {
        snprintf(buf, len, "ended by %s", kctl_or_dash(w->ended_by));
    } else {
        snprintf(buf, len, "%s",
                 now < w->start_ms ? "scheduled"
                 : now < w->end_ms ? "active"
                                   : "over");
    }
}

static int window_row(struct kctl_table *t, const void *list, size_t i)
{
    const struct klaxon_window *w =
        &((const struct klaxon_window_list *)list)->items[i];
    char id[24], start[32], end[32], state[200];
    const char *row[] = {id,
                         w->service,
                         start,
                         end,
                         state,
                         kctl_or_dash(w->created_by),
                         kctl_or_dash(w->reason)};

    snprintf(id, sizeof id, "%llu", (unsigned long long)w->id);
    kctl_format_time(w->start_ms, start, sizeof start);
    kctl_format_time(w->ended_ms != 0 ? w->ended_ms : w->end_ms, end,
                     sizeof end);
    window_state(w, kctl_now_ms(), state, sizeof state);
    return kctl_table_add(t, row);
}

static const struct kctl_listing windows_listing = {
    (const char *const[]){"ID", "SERVICE", "START", "END", "STATE", "BY",
                          "REASON"},
    7, window_row, "no maintenance windows"};

int kctl_cmd_maintenance_list(struct kctl_ctx *ctx)
{
    struct klaxon_window_list *l;
    int rv = kctl_connect(ctx);

    if (rv != 0) {
        return rv;
    }
    rv = klaxon_maintenance_list(ctx->client, kctl_flag(ctx, "all") != NULL,
                                 kctl_read_mode(ctx), &l);
    if (rv != KLAXON_OK) {
        return kctl_fail(ctx, rv);
    }
    rv = kctl_print_list(ctx, ctx->g.json ? kctl_json_windows(l) : NULL, l,
                         l->n, &windows_listing);
    klaxon_window_list_free(l);
    return rv;
}

/* The LEVEL cell: "2", "2 (repeat 1)", or the kind of a page that is not
 * an escalation level's. */
static void page_level(const struct klaxon_page *p, char *buf, size_t len)
{
    if (strcmp(p->kind, "incident") != 0) {
        snprintf(buf, len, "%s", p->kind);
    } else if (p->loop > 0) {
        snprintf(buf, len, "%u (repeat %u)", p->level, p->loop);
    } else {
        snprintf(buf, len, "%u", p->level);
    }
}

static int page_row(struct kctl_table *t, const void *list, size_t i)
{
    const struct klaxon_page *p =
        &((const struct klaxon_page_list *)list)->items[i];
    char id[24], inc[24], level[48], attempts[16], created[32];
    const char *row[] = {id,
                         p->incident_id != 0 ? inc : "-",
                         level,
                         kctl_or_dash(p->user),
                         kctl_or_dash(p->contact_kind),
                         kctl_or_dash(p->contact_address),
                         p->state,
                         attempts,
                         created,
                         kctl_or_dash(p->error)};

    snprintf(id, sizeof id, "%llu", (unsigned long long)p->id);
    snprintf(inc, sizeof inc, "%llu", (unsigned long long)p->incident_id);
    page_level(p, level, sizeof level);
    snprintf(attempts, sizeof attempts, "%u", p->attempts);
    kctl_format_time(p->created_ms, created, sizeof created);
    return kctl_table_add(t, row);
}

static const struct kctl_listing pages_listing = {
    (const char *const[]){"ID", "INCIDENT", "LEVEL", "USER", "CHANNEL",
                          "ADDRESS", "STATE", "ATTEMPTS", "CREATED", "ERROR"},
    10, page_row, "no pages"};

static int pages_args(struct kctl_ctx *ctx, uint64_t *id, unsigned *limit)
{
    const char *s = kctl_flag(ctx, "limit");
    unsigned long n = 100;

    *id = 0;
    if (ctx->n_pos > 0 && kctl_parse_id(ctx->pos[0], id) != 0) {
        return kctl_usage(ctx, "'%s' is not an incident ID", ctx->pos[0]);
    }
    if (s != NULL && (kctl_parse_uint(s, 1000, &n) != 0 || n == 0)) {
        return kctl_usage(ctx, "--limit must be 1..1000, got '%s'", s);
    }
    *limit = (unsigned)n;
    return 0;
}

int kctl_cmd_pages(struct kctl_ctx *ctx)
{
    struct klaxon_page_list *l;
    uint64_t id = 0;
    unsigned limit = 0;
    int rv = pages_args(ctx, &id, &limit);

    if (rv == 0) {
        rv = kctl_connect(ctx);
    }
    if (rv != 0) {
        return rv;
    }
    rv = klaxon_pages(ctx->client, id, limit, kctl_read_mode(ctx), &l);
    if (rv != KLAXON_OK) {
        return kctl_fail(ctx, rv);
    }
    rv = kctl_print_list(ctx, ctx->g.json ? kctl_json_pages(l) : NULL, l, l->n,
                         &pages_listing);
    klaxon_page_list_free(l);
    return rv;
}
