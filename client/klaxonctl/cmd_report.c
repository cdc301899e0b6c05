/* report, handover and postmortem: what they read through libklaxon
 * (linearizable reads); the figures and the text are in reports*.c. */
#include <stdlib.h>
#include <string.h>

#include "kctl.h"
#include "reports.h"

#define WINDOW_MAX_MS (366 * RPT_DAY_MS) /* the longest shift list */
#define DEFAULT_SINCE "7d"
#define LIST_LIMIT 1000
#define PAGES_LIMIT 1000
#define HANDOVER_LOOKBACK_MS (7 * RPT_DAY_MS)
#define ERR_MAX 256

/* What a command read: the answers (owned, freed at the end) and flat
 * arrays of shallow copies of their items for the reports. */
struct fetched
{
    struct klaxon_incident_list **lists;
    size_t n_lists;
    struct klaxon_incident **gets;
    size_t n_gets;
    struct klaxon_page_list **page_lists;
    size_t n_page_lists;
    struct klaxon_shift_list **shift_lists;
    size_t n_shift_lists;
    struct klaxon_incident *incidents;
    size_t n_incidents;
    struct klaxon_page *pages;
    size_t n_pages;
    struct klaxon_shift *shifts;
    size_t n_shifts;
    struct klaxon_config *config;
    struct rpt_config parsed;
};

static void fetched_free(struct fetched *f)
{
    for (size_t k = 0; k < f->n_lists; k++) {
        klaxon_incident_list_free(f->lists[k]);
    }
    for (size_t k = 0; k < f->n_gets; k++) {
        klaxon_incident_free(f->gets[k]);
    }
    for (size_t k = 0; k < f->n_page_lists; k++) {
        klaxon_page_list_free(f->page_lists[k]);
    }
    for (size_t k = 0; k < f->n_shift_lists; k++) {
        klaxon_shift_list_free(f->shift_lists[k]);
    }
    free(f->lists);
    free(f->gets);
    free(f->page_lists);
    free(f->shift_lists);
    free(f->incidents);
    free(f->pages);
    free(f->shifts);
    klaxon_config_free(f->config);
    rpt_config_free(&f->parsed);
    memset(f, 0, sizeof *f);
}

/* `arr` (holding len items of `size` bytes) with room for n more; NULL
 * when out of memory (arr is then unchanged). */
static void *grow(void *arr, size_t len, size_t n, size_t size)
{
    return realloc(arr, (len + n + 1) * size);
}

static int out_of_memory(const struct kctl_ctx *ctx)
{
    return kctl_error(ctx, KCTL_EXIT_REFUSED, "out of memory");
}

static bool have_incident(const struct fetched *f, uint64_t id)
{
    for (size_t k = 0; k < f->n_incidents; k++) {
        if (f->incidents[k].id == id) {
            return true;
        }
    }
    return false;
}

/* Keep list l (freed with f) and copy its items created in [from, to)
 * that f does not have yet. */
static int keep_list(const struct kctl_ctx *ctx,
                     struct fetched *f,
                     struct klaxon_incident_list *l,
                     uint64_t from,
                     uint64_t to)
{
    void *lists = grow(f->lists, f->n_lists, 1, sizeof *f->lists);
    void *items = lists != NULL ? grow(f->incidents, f->n_incidents, l->n,
                                       sizeof *f->incidents)
                                : NULL;

    if (lists != NULL) {
        f->lists = lists;
    }
    if (items == NULL) {
        klaxon_incident_list_free(l);
        return out_of_memory(ctx);
    }
    f->incidents = items;
    f->lists[f->n_lists++] = l;
    for (size_t k = 0; k < l->n; k++) {
        const struct klaxon_incident *i = &l->items[k];
        if (i->created_ms >= from && i->created_ms < to &&
            !have_incident(f, i->id)) {
            f->incidents[f->n_incidents++] = *i;
        }
    }
    return 0;
}

/* Incidents matching `filter` (and service) created in [from, to),
 * paging back until they are older than from (open ones: all). */
static int fetch_incidents(struct kctl_ctx *ctx,
                           struct fetched *f,
                           enum klaxon_filter filter,
                           const char *service,
                           uint64_t from,
                           uint64_t to)
{
    struct klaxon_list_query q = {filter, service, LIST_LIMIT, 0};
    bool more = true;

    while (more) {
        struct klaxon_incident_list *l;
        int rv = klaxon_list(ctx->client, &q, KLAXON_READ_LINEARIZABLE, &l);
        if (rv != KLAXON_OK) {
            return kctl_fail(ctx, rv);
        }
        more = l->more && l->n > 0 && l->items[l->n - 1].created_ms >= from;
        q.before_id = l->n > 0 ? l->items[l->n - 1].id : 0;
        rv = keep_list(ctx, f, l, from, to);
        if (rv != 0) {
            return rv;
        }
    }
    return 0;
}

static int keep_pages(const struct kctl_ctx *ctx,
                      struct fetched *f,
                      struct klaxon_page_list *l)
{
    void *lists =
        grow(f->page_lists, f->n_page_lists, 1, sizeof *f->page_lists);
    void *items = lists != NULL
                      ? grow(f->pages, f->n_pages, l->n, sizeof *f->pages)
                      : NULL;

    if (lists != NULL) {
        f->page_lists = lists;
    }
    if (items == NULL) {
        klaxon_page_list_free(l);
        return out_of_memory(ctx);
    }
    f->pages = items;
    f->page_lists[f->n_page_lists++] = l;
    memcpy(f->pages + f->n_pages, l->items, l->n * sizeof *l->items);
    f->n_pages += l->n;
    return 0;
}

/* The pages of incident `id`. */
static int fetch_pages_of(struct kctl_ctx *ctx, struct fetched *f, uint64_t id)
{
    struct klaxon_page_list *l;
    int rv = klaxon_pages(ctx->client, id, PAGES_LIMIT,
                          KLAXON_READ_LINEARIZABLE, &l);

    return rv == KLAXON_OK ? keep_pages(ctx, f, l) : kctl_fail(ctx, rv);
}

/* The pages of every incident of f that has any. */
static int fetch_pages(struct kctl_ctx *ctx, struct fetched *f)
{
    int rv = 0;

    for (size_t k = 0; rv == 0 && k < f->n_incidents; k++) {
        if (f->incidents[k].pages > 0) {
            rv = fetch_pages_of(ctx, f, f->incidents[k].id);
        }
    }
    return rv;
}

static int keep_shifts(const struct kctl_ctx *ctx,
                       struct fetched *f,
                       struct klaxon_shift_list *l)
{
    void *lists =
        grow(f->shift_lists, f->n_shift_lists, 1, sizeof *f->shift_lists);
    void *items = lists != NULL
                      ? grow(f->shifts, f->n_shifts, l->n, sizeof *f->shifts)
                      : NULL;

    if (lists != NULL) {
        f->shift_lists = lists;
    }
    if (items == NULL) {
        klaxon_shift_list_free(l);
        return out_of_memory(ctx);
    }
    f->shifts = items;
    f->shift_lists[f->n_shift_lists++] = l;
    memcpy(f->shifts + f->n_shifts, l->items, l->n * sizeof *l->items);
    f->n_shifts += l->n;
    return 0;
}

/* Shifts of `schedule`: at `at` (from = to = 0), or over [from, to).
 * *l is kept in f; NULL (and 0) when the schedule is unknown. */
static int fetch_shifts(struct kctl_ctx *ctx,
                        struct fetched *f,
                        const struct klaxon_oncall_query *q,
                        struct klaxon_shift_list **l)
{
    int rv = klaxon_oncall(ctx->client, q, KLAXON_READ_LINEARIZABLE, l);

    if (rv == KLAXON_ENOTFOUND) {
        *l = NULL;
        return 0;
    }
    return rv == KLAXON_OK ? keep_shifts(ctx, f, *l) : kctl_fail(ctx, rv);
}

static bool schedule_seen(const struct fetched *f, size_t upto)
{
    for (size_t k = 0; k < upto; k++) {
        if (strcmp(f->pages[k].schedule, f->pages[upto].schedule) == 0) {
            return true;
        }
    }
    return false;
}

/* The shifts over [from, to) of every schedule named in the pages (one
 * deleted from the configuration since is skipped). */
static int fetch_page_shifts(struct kctl_ctx *ctx,
                             struct fetched *f,
                             uint64_t from,
                             uint64_t to)
{
    int rv = 0;

    for (size_t k = 0; rv == 0 && k < f->n_pages; k++) {
        struct klaxon_oncall_query q = {f->pages[k].schedule, 0, from, to};
        struct klaxon_shift_list *l;
        if (q.schedule[0] != '\0' && !schedule_seen(f, k)) {
            rv = fetch_shifts(ctx, f, &q, &l);
        }
    }
    return rv;
}

/* The configuration in force, parsed for `schedule` (may be NULL). */
static int fetch_config(struct kctl_ctx *ctx,
                        struct fetched *f,
                        const char *schedule)
{
    char err[ERR_MAX];
    int rv =
        klaxon_get_config(ctx->client, KLAXON_READ_LINEARIZABLE, &f->config);

    if (rv != KLAXON_OK) {
        f->config = NULL;
        return kctl_fail(ctx, rv);
    }
    if (rpt_config_parse(f->config->yaml, strlen(f->config->yaml), schedule,
                         &f->parsed, err, sizeof err) != 0) {
        return kctl_error(ctx, KCTL_EXIT_REFUSED,
                          "cannot read the on-call configuration: %s", err);
    }
    return 0;
}

/* --- report --------------------------------------------------------------- */

/* --since: a duration back from now (7d, 24h) or a TIME. */
static int since_arg(struct kctl_ctx *ctx, uint64_t now, uint64_t *from)
{
    const char *s = kctl_flag(ctx, "since");
    uint64_t span;

    if (s == NULL) {
        s = DEFAULT_SINCE;
    }
    if (kctl_parse_span(s, WINDOW_MAX_MS, &span) == 0 && span <= now) {
        *from = now - span;
        return 0;
    }
    if (kctl_parse_time(s, now, from) == 0) {
        return 0;
    }
    return kctl_usage(ctx,
                      "--since: invalid duration or time '%s' (e.g. 24h, 7d, "
                      "30d, 2026-03-01T00:00:00Z)",
                      s);
}

static int report_args(struct kctl_ctx *ctx, uint64_t *from, uint64_t *to)
{
    uint64_t now = kctl_now_ms();
    int rv = since_arg(ctx, now, from);

    *to = now;
    if (rv == 0) {
        rv = kctl_time_flag(ctx, "until", to);
    }
    if (rv == 0 && *from >= *to) {
        rv = kctl_usage(ctx, "--since must be before --until");
    }
    if (rv == 0 && *to - *from > WINDOW_MAX_MS) {
        rv = kctl_usage(ctx, "the window is longer than 366 days");
    }
    return rv;
}

static int print_report(struct kctl_ctx *ctx, const struct rpt_figures *fig)
{
    if (ctx->g.json) {
        return kctl_json_print(ctx, rpt_report_json(fig));
    }
    if (rpt_report_print(fig, stdout) != 0) {
        return kctl_error(ctx, KCTL_EXIT_REFUSED,
                          "cannot print the report (out of memory or "
                          "stdout failed)");
    }
    return 0;
}

static int compute(struct kctl_ctx *ctx,
                   const struct fetched *f,
                   const char *service,
                   uint64_t from,
                   uint64_t to)
{
    const struct rpt_input in = {
        .from_ms = from,
        .to_ms = to,
        .service = service,
        .incidents = f->incidents,
        .n_incidents = f->n_incidents,
        .pages = f->pages,
        .n_pages = f->n_pages,
        .shifts = f->shifts,
        .n_shifts = f->n_shifts,
        .zones = f->parsed.zones,
        .n_zones = f->parsed.n_zones,
    };
    struct rpt_figures fig;
    int rv;

    if (rpt_compute(&in, &fig) != 0) {
        return out_of_memory(ctx);
    }
    rv = print_report(ctx, &fig);
    rpt_figures_free(&fig);
    return rv;
}

static int report(struct kctl_ctx *ctx,
                  struct fetched *f,
                  uint64_t from,
                  uint64_t to)
{
    const char *service = kctl_flag(ctx, "service");
    int rv = fetch_incidents(ctx, f, KLAXON_FILTER_ANY, service, from, to);

    if (rv == 0) {
        rv = fetch_pages(ctx, f);
    }
    if (rv == 0) {
        rv = fetch_page_shifts(ctx, f, from, to);
    }
    if (rv == 0) {
        rv = fetch_config(ctx, f, NULL);
    }
    return rv == 0 ? compute(ctx, f, service, from, to) : rv;
}

int kctl_cmd_report(struct kctl_ctx *ctx)
{
    struct fetched f = {0};
    uint64_t from, to;
    int rv = report_args(ctx, &from, &to);

    if (rv == 0) {
        rv = kctl_connect(ctx);
    }
    if (rv == 0) {
        rv = report(ctx, &f, from, to);
    }
    fetched_free(&f);
    return rv;
}

/* --- handover ------------------------------------------------------------- */

/* The shift handed over, who takes over, the end of its window, and the
 * time of the handover. */
struct handover_shift
{
    const struct klaxon_shift *shift;
    const char *next_user;
    uint64_t end_ms;
    uint64_t at_ms;
};

/* The last shift of `range` (over [at - 7d, at)) with somebody on call
 * that ended by `at`, or SIZE_MAX. The last one's end is `at` itself,
 * where the list stops, and is a real end only when a shift starts at
 * `at` (ends_at_at). */
static size_t last_ended(const struct klaxon_shift_list *range, bool ends_at_at)
{
    for (size_t k = range->n; k > 0; k--) {
        const struct klaxon_shift *s = &range->items[k - 1];
        if ((k < range->n || ends_at_at) && s->user[0] != '\0' &&
            s->end_ms != 0) {
            return k - 1;
        }
    }
    return SIZE_MAX;
}

/* The shift of `k` in `range` with its real start (the list cuts the
 * first one at the start of the range). */
static int ended_shift(struct kctl_ctx *ctx,
                       struct fetched *f,
                       const char *schedule,
                       const struct klaxon_shift *cut,
                       struct handover_shift *hs)
{
    struct klaxon_oncall_query q = {schedule, cut->end_ms - 1, 0, 0};
    struct klaxon_shift_list *l;
    int rv = fetch_shifts(ctx, f, &q, &l);

    if (rv != 0) {
        return rv;
    }
    hs->shift = l != NULL && l->n > 0 ? &l->items[0] : cut;
    hs->end_ms = cut->end_ms;
    return 0;
}

/* The shift of `schedule` that ended last by `at` (within 7 days), else
 * the one at `at`. */
static int find_shift(struct kctl_ctx *ctx,
                      struct fetched *f,
                      const char *schedule,
                      uint64_t at,
                      struct handover_shift *hs)
{
    struct klaxon_oncall_query q = {schedule, at, 0, 0};
    struct klaxon_shift_list *cur, *range;
    size_t k;
    int rv = fetch_shifts(ctx, f, &q, &cur);

    if (rv == 0 && (cur == NULL || cur->n == 0)) {
        return kctl_error(ctx, KCTL_EXIT_REFUSED, "schedule \"%s\" not found",
                          schedule);
    }
    q = (struct klaxon_oncall_query){
        schedule, 0, at > HANDOVER_LOOKBACK_MS ? at - HANDOVER_LOOKBACK_MS : 0,
        at};
    if (rv != 0 || (rv = fetch_shifts(ctx, f, &q, &range)) != 0) {
        return rv;
    }
    k = range != NULL ? last_ended(range, cur->items[0].start_ms == at)
                      : SIZE_MAX;
    if (k == SIZE_MAX) {
        *hs = (struct handover_shift){&cur->items[0], "", at, at};
        return 0;
    }
    hs->at_ms = at;
    hs->next_user =
        k + 1 < range->n ? range->items[k + 1].user : cur->items[0].user;
    return ended_shift(ctx, f, schedule, &range->items[k], hs);
}

/* Replace the incidents of f by the same incidents with their timelines. */
static int fetch_timelines(struct kctl_ctx *ctx, struct fetched *f)
{
    struct klaxon_incident *full = calloc(f->n_incidents + 1, sizeof *full);
    void *gets = grow(f->gets, f->n_gets, f->n_incidents, sizeof *f->gets);
    int rv = 0;

    if (gets != NULL) {
        f->gets = gets;
    }
    if (full == NULL || gets == NULL) {
        free(full);
        return out_of_memory(ctx);
    }
    for (size_t k = 0; rv == 0 && k < f->n_incidents; k++) {
        struct klaxon_incident *i;
        rv = klaxon_get(ctx->client, f->incidents[k].id,
                        KLAXON_READ_LINEARIZABLE, &i);
        if (rv == KLAXON_OK) {
            f->gets[f->n_gets++] = i;
            full[k] = *i;
        }
    }
    free(f->incidents);
    f->incidents = full;
    return rv == KLAXON_OK ? 0 : kctl_fail(ctx, rv);
}

/* The incidents created during the shift and those open now (all that
 * can be open at the handover), with their timelines and pages, and the
 * policies that page the schedule. */
static int fetch_handover(struct kctl_ctx *ctx,
                          struct fetched *f,
                          const char *schedule,
                          const struct handover_shift *hs)
{
    int rv = fetch_incidents(ctx, f, KLAXON_FILTER_ANY, NULL,
                             hs->shift->start_ms, hs->end_ms);

    if (rv == 0) {
        rv = fetch_incidents(ctx, f, KLAXON_FILTER_OPEN, NULL, 0, UINT64_MAX);
    }
    if (rv == 0) {
        rv = fetch_timelines(ctx, f);
    }
    if (rv == 0) {
        rv = fetch_pages(ctx, f);
    }
    if (rv == 0) {
        rv = fetch_config(ctx, f, schedule);
    }
    return rv;
}

static int print_handover(struct kctl_ctx *ctx, const struct rpt_handover *h)
{
    if (ctx->g.json) {
        return kctl_json_print(ctx, rpt_handover_json(h));
    }
    if (rpt_handover_markdown(h, stdout) != 0) {
        return kctl_error(ctx, KCTL_EXIT_REFUSED, "cannot write to stdout");
    }
    return 0;
}

static int handover(struct kctl_ctx *ctx,
                    struct fetched *f,
                    const char *schedule,
                    const struct handover_shift *hs)
{
    struct rpt_handover_input in = {
        .schedule = schedule,
        .shift = hs->shift,
        .next_user = hs->next_user,
        .end_ms = hs->end_ms,
        .at_ms = hs->at_ms,
        .incidents = f->incidents,
        .n_incidents = f->n_incidents,
        .pages = f->pages,
        .n_pages = f->n_pages,
        .policies = (const char *const *)f->parsed.policies,
        .n_policies = f->parsed.n_policies,
    };
    struct rpt_handover h;
    int rv;

    if (rpt_handover_build(&in, &h) != 0) {
        return out_of_memory(ctx);
    }
    rv = print_handover(ctx, &h);
    rpt_handover_free(&h);
    return rv;
}

int kctl_cmd_handover(struct kctl_ctx *ctx)
{
    const char *schedule = kctl_flag(ctx, "schedule");
    struct handover_shift hs = {0};
    struct fetched f = {0};
    uint64_t at = kctl_now_ms();
    int rv;

    if (schedule == NULL || schedule[0] == '\0') {
        return kctl_usage(ctx, "--schedule is required");
    }
    rv = kctl_time_flag(ctx, "at", &at);
    if (rv == 0) {
        rv = kctl_connect(ctx);
    }
    if (rv == 0) {
        rv = find_shift(ctx, &f, schedule, at, &hs);
    }
    if (rv == 0) {
        rv = fetch_handover(ctx, &f, schedule, &hs);
    }
    if (rv == 0) {
        rv = handover(ctx, &f, schedule, &hs);
    }
    fetched_free(&f);
    return rv;
}

/* --- postmortem ----------------------------------------------------------- */

/* The Markdown as {"incident_id": ID, "markdown": TEXT}. */
static int postmortem_json(struct kctl_ctx *ctx,
                           const struct klaxon_incident *i,
                           const struct fetched *f)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    int rv;

    if (mem == NULL) {
        return out_of_memory(ctx);
    }
    rv = rpt_postmortem_markdown(i, f->pages, f->n_pages, kctl_now_ms(), mem);
    if (fclose(mem) != 0 || rv != 0) {
        free(text);
        return out_of_memory(ctx);
    }
    rv = kctl_json_print(
        ctx, json_pack("{s:I, s:s%}", "incident_id", (json_int_t)i->id,
                       "markdown", text, len));
    free(text);
    return rv;
}

static int postmortem(struct kctl_ctx *ctx, struct fetched *f, uint64_t id)
{
    struct klaxon_incident *i;
    int rv = klaxon_get(ctx->client, id, KLAXON_READ_LINEARIZABLE, &i);
    void *gets;

    if (rv != KLAXON_OK) {
        return kctl_fail(ctx, rv);
    }
    gets = grow(f->gets, f->n_gets, 1, sizeof *f->gets);
    if (gets == NULL) {
        klaxon_incident_free(i);
        return out_of_memory(ctx);
    }
    f->gets = gets;
    f->gets[f->n_gets++] = i;
    if (i->pages > 0 && (rv = fetch_pages_of(ctx, f, id)) != 0) {
        return rv;
    }
    if (ctx->g.json) {
        return postmortem_json(ctx, i, f);
    }
    if (rpt_postmortem_markdown(i, f->pages, f->n_pages, kctl_now_ms(),
                                stdout) != 0) {
        return kctl_error(ctx, KCTL_EXIT_REFUSED, "cannot write to stdout");
    }
    return 0;
}

int kctl_cmd_postmortem(struct kctl_ctx *ctx)
{
    struct fetched f = {0};
    uint64_t id;
    int rv;

    if (ctx->n_pos == 0) {
        return kctl_usage(ctx, "missing incident ID");
    }
    if (kctl_parse_id(ctx->pos[0], &id) != 0) {
        return kctl_usage(ctx, "'%s' is not an incident ID", ctx->pos[0]);
    }
    rv = kctl_connect(ctx);
    if (rv == 0) {
        rv = postmortem(ctx, &f, id);
    }
    fetched_free(&f);
    return rv;
}
