/* report: the figures as aligned sections, or as one JSON object. */
#include <stdlib.h>
#include <string.h>

#include "kctl.h"
#include "reports.h"

#define CELL 64

/* A duration rounded to the second, "-" when there is none. */
static void span_cell(const struct rpt_times *t, bool p90, char *buf)
{
    uint64_t ms = p90 ? t->p90_ms : t->mean_ms;

    if (t->n == 0) {
        snprintf(buf, CELL, "-");
    } else {
        kctl_format_span((ms + 500) / 1000 * 1000, buf, CELL);
    }
}

static void share_cell(const struct rpt_sev *s, char *buf)
{
    double share = rpt_share(s);

    if (share < 0) {
        snprintf(buf, CELL, "-");
    } else {
        snprintf(buf, CELL, "%zu of %zu (%.1f%%)", s->false_positives,
                 s->resolved, 100 * share);
    }
}

static const struct rpt_sev *sev_row(const struct rpt_figures *f,
                                     size_t row,
                                     char *name)
{
    if (row == RPT_SEVERITIES) {
        snprintf(name, CELL, "all");
        return &f->all;
    }
    snprintf(name, CELL, "Sev%zu", row + 1);
    return &f->sev[row];
}

static int count_rows(struct kctl_table *t, const struct rpt_figures *f)
{
    int rv = 0;

    for (size_t r = 0; rv == 0 && r <= RPT_SEVERITIES; r++) {
        char c[8][CELL];
        const struct rpt_sev *s = sev_row(f, r, c[0]);
        const char *row[8] = {c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]};
        snprintf(c[1], CELL, "%zu", s->incidents);
        snprintf(c[2], CELL, "%zu", s->open);
        snprintf(c[3], CELL, "%zu", s->acknowledged);
        snprintf(c[4], CELL, "%zu", s->resolved);
        snprintf(c[5], CELL, "%zu", s->response_missed);
        snprintf(c[6], CELL, "%zu", s->resolution_missed);
        share_cell(s, c[7]);
        rv = kctl_table_add(t, row);
    }
    return rv;
}

static int time_rows(struct kctl_table *t, const struct rpt_figures *f)
{
    int rv = 0;

    for (size_t r = 0; rv == 0 && r <= RPT_SEVERITIES; r++) {
        char c[5][CELL];
        const struct rpt_sev *s = sev_row(f, r, c[0]);
        const char *row[5] = {c[0], c[1], c[2], c[3], c[4]};
        span_cell(&s->mtta, false, c[1]);
        span_cell(&s->mtta, true, c[2]);
        span_cell(&s->mttr, false, c[3]);
        span_cell(&s->mttr, true, c[4]);
        rv = kctl_table_add(t, row);
    }
    return rv;
}

static int person_rows(struct kctl_table *t, const struct rpt_figures *f)
{
    int rv = 0;

    for (size_t k = 0; rv == 0 && k < f->n_people; k++) {
        const struct rpt_person *p = &f->people[k];
        char c[5][CELL];
        const char *row[7] = {p->user, p->zone, c[0], c[1], c[2], c[3], c[4]};
        snprintf(c[0], CELL, "%zu", p->pages);
        snprintf(c[1], CELL, "%zu", p->interruptions);
        snprintf(c[2], CELL, "%zu", p->outside_hours);
        snprintf(c[3], CELL, "%zu", p->weekend);
        snprintf(c[4], CELL, "%zu", p->off_hours);
        rv = kctl_table_add(t, row);
    }
    return rv;
}

static int shift_rows(struct kctl_table *t, const struct rpt_figures *f)
{
    int rv = 0;

    for (size_t k = 0; rv == 0 && k < f->n_shifts; k++) {
        const struct rpt_shift_pages *s = &f->shifts[k];
        char c[4][CELL];
        const char *row[6] = {
            s->shift->schedule, s->shift->user, c[0], c[1], c[2], c[3]};
        kctl_format_time(s->shift->start_ms, c[0], CELL);
        kctl_format_time(s->shift->end_ms, c[1], CELL);
        snprintf(c[2], CELL, "%zu", s->pages);
        snprintf(c[3], CELL, "%zu", s->interruptions);
        rv = kctl_table_add(t, row);
    }
    return rv;
}

/* "1, 4, 7" */
static void id_list(const struct rpt_recurring *g, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t k = 0; k < g->count && used < len; k++) {
        int n = snprintf(buf + used, len - used, "%s%llu", k == 0 ? "" : ", ",
                         (unsigned long long)g->ids[k]);
        used += n > 0 ? (size_t)n : 0;
    }
}

static int recurring_rows(struct kctl_table *t, const struct rpt_figures *f)
{
    int rv = 0;

    for (size_t k = 0; rv == 0 && k < f->n_recurring; k++) {
        const struct rpt_recurring *g = &f->recurring[k];
        char count[CELL], ids[1024];
        const char *row[5] = {count, g->service,
                              g->by_summary ? "summary" : "dedup key", g->key,
                              ids};
        snprintf(count, sizeof count, "%zu", g->count);
        id_list(g, ids, sizeof ids);
        rv = kctl_table_add(t, row);
    }
    return rv;
}

typedef int (*rows_fn)(struct kctl_table *t, const struct rpt_figures *f);

/* A titled table; `empty` is printed instead when it has no rows. */
static int section(FILE *out,
                   const char *title,
                   const char *const *head,
                   size_t cols,
                   rows_fn rows,
                   const struct rpt_figures *f,
                   const char *empty)
{
    struct kctl_table t;
    int rv = kctl_table_init(&t, head, cols);

    if (rv == 0) {
        rv = rows(&t, f);
    }
    if (rv == 0) {
        fprintf(out, "\n%s\n", title);
        if (t.n > 1) {
            kctl_table_print(&t, out);
        } else {
            fprintf(out, "%s\n", empty);
        }
    }
    kctl_table_free(&t);
    return rv;
}

static void print_head(const struct rpt_figures *f, FILE *out)
{
    char from[32], to[32], span[48];

    kctl_format_time(f->from_ms, from, sizeof from);
    kctl_format_time(f->to_ms, to, sizeof to);
    kctl_format_span((f->to_ms - f->from_ms) / 1000 * 1000, span, sizeof span);
    fprintf(out, "Incident report %s to %s (%s), %s%s\n", from, to, span,
            f->service[0] != '\0' ? "service " : "every service", f->service);
}

static void print_pages(const struct rpt_figures *f, FILE *out)
{
    fprintf(out, "\nPages\n");
    fprintf(out, "pages sent                    %zu (%zu interruptions)\n",
            f->pages, f->interruptions);
    fprintf(out,
            "outside business hours        %zu (local time before "
            "09:00 or from 17:00)\n",
            f->outside_hours);
    fprintf(out,
            "at weekends                   %zu (local Saturday or "
            "Sunday)\n",
            f->weekend);
    fprintf(out, "off hours (either)            %zu\n", f->off_hours);
    fprintf(out, "outside any shift             %zu\n", f->outside_shifts);
}

int rpt_report_print(const struct rpt_figures *f, FILE *out)
{
    static const char *const counts[] = {
        "SEVERITY", "INCIDENTS",  "OPEN",           "ACKNOWLEDGED",
        "RESOLVED", "ACK MISSED", "RESOLVE MISSED", "FALSE POSITIVES"};
    static const char *const times[] = {"SEVERITY", "MTTA MEAN", "MTTA P90",
                                        "MTTR MEAN", "MTTR P90"};
    static const char *const people[] = {
        "USER",          "TIME ZONE", "PAGES",    "INTERRUPTIONS",
        "OUTSIDE HOURS", "WEEKEND",   "OFF HOURS"};
    static const char *const shifts[] = {"SCHEDULE", "USER",  "FROM",
                                         "UNTIL",    "PAGES", "INTERRUPTIONS"};
    static const char *const groups[] = {"COUNT", "SERVICE", "SAME", "KEY",
                                         "INCIDENTS"};
    char title[96];
    int rv;

    print_head(f, out);
    rv = section(out, "Incidents", counts, 8, count_rows, f, "");
    if (rv == 0) {
        rv = section(out, "Time to acknowledge (MTTA) and to resolve (MTTR)",
                     times, 5, time_rows, f, "");
    }
    print_pages(f, out);
    if (rv == 0) {
        rv = section(out, "Pages per person", people, 7, person_rows, f,
                     "nobody was paged");
    }
    if (rv == 0) {
        rv = section(out, "Pages per shift", shifts, 6, shift_rows, f,
                     "no shifts (nobody was paged through a schedule)");
    }
    snprintf(title, sizeof title, "Recurring incidents: %zu",
             f->recurring_incidents);
    if (rv == 0) {
        rv = section(out, title, groups, 5, recurring_rows, f,
                     "none opened more than once");
    }
    return rv == 0 && !ferror(out) ? 0 : -1;
}

/* --- JSON ----------------------------------------------------------------- */

static json_t *times_json(const struct rpt_times *t)
{
    return json_pack(
        "{s:I, s:o, s:o}", "count", (json_int_t)t->n, "mean_ms",
        t->n > 0 ? json_integer((json_int_t)t->mean_ms) : json_null(), "p90_ms",
        t->n > 0 ? json_integer((json_int_t)t->p90_ms) : json_null());
}

static json_t *sev_json(const struct rpt_sev *s)
{
    double share = rpt_share(s);

    return json_pack(
        "{s:I, s:I, s:I, s:I, s:o, s:o, s:I, s:I, s:I, s:o}", "incidents",
        (json_int_t)s->incidents, "open", (json_int_t)s->open, "acknowledged",
        (json_int_t)s->acknowledged, "resolved", (json_int_t)s->resolved,
        "mtta", times_json(&s->mtta), "mttr", times_json(&s->mttr),
        "response_missed", (json_int_t)s->response_missed, "resolution_missed",
        (json_int_t)s->resolution_missed, "false_positives",
        (json_int_t)s->false_positives, "false_positive_share",
        share >= 0 ? json_real(share) : json_null());
}

static json_t *severities_json(const struct rpt_figures *f)
{
    return json_pack("{s:o, s:o, s:o, s:o}", "sev1", sev_json(&f->sev[0]),
                     "sev2", sev_json(&f->sev[1]), "sev3", sev_json(&f->sev[2]),
                     "sev4", sev_json(&f->sev[3]));
}

/* An array of the n items built by item(f, k); NULL if one fails. */
static json_t *array_of(const struct rpt_figures *f,
                        size_t n,
                        json_t *(*item)(const struct rpt_figures *, size_t))
{
    json_t *a = json_array();

    for (size_t k = 0; a != NULL && k < n; k++) {
        if (json_array_append_new(a, item(f, k)) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

static json_t *person_json(const struct rpt_figures *f, size_t k)
{
    const struct rpt_person *p = &f->people[k];

    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "user", p->user,
                     "time_zone", p->zone, "pages", (json_int_t)p->pages,
                     "interruptions", (json_int_t)p->interruptions,
                     "outside_business_hours", (json_int_t)p->outside_hours,
                     "weekend", (json_int_t)p->weekend, "off_hours",
                     (json_int_t)p->off_hours);
}

static json_t *shift_json(const struct rpt_figures *f, size_t k)
{
    const struct rpt_shift_pages *s = &f->shifts[k];

    return json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:I}", "schedule", s->shift->schedule,
        "user", s->shift->user, "start_ms", (json_int_t)s->shift->start_ms,
        "end_ms", (json_int_t)s->shift->end_ms, "pages", (json_int_t)s->pages,
        "interruptions", (json_int_t)s->interruptions);
}

static json_t *group_json(const struct rpt_figures *f, size_t k)
{
    const struct rpt_recurring *g = &f->recurring[k];
    json_t *ids = json_array();

    for (size_t j = 0; ids != NULL && j < g->count; j++) {
        if (json_array_append_new(ids, json_integer((json_int_t)g->ids[j])) !=
            0) {
            json_decref(ids);
            ids = NULL;
        }
    }
    return json_pack("{s:s, s:s, s:s, s:I, s:o}", "service", g->service, "by",
                     g->by_summary ? "summary" : "dedup_key", "key", g->key,
                     "count", (json_int_t)g->count, "incident_ids", ids);
}

static json_t *pages_json(const struct rpt_figures *f)
{
    return json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I}", "total", (json_int_t)f->pages,
        "interruptions", (json_int_t)f->interruptions, "outside_business_hours",
        (json_int_t)f->outside_hours, "weekend", (json_int_t)f->weekend,
        "off_hours", (json_int_t)f->off_hours, "outside_shifts",
        (json_int_t)f->outside_shifts);
}

json_t *rpt_report_json(const struct rpt_figures *f)
{
    return json_pack("{s:I, s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:I}",
                     "from_ms", (json_int_t)f->from_ms, "to_ms",
                     (json_int_t)f->to_ms, "service", f->service, "overall",
                     sev_json(&f->all), "severities", severities_json(f),
                     "pages", pages_json(f), "people",
                     array_of(f, f->n_people, person_json), "shifts",
                     array_of(f, f->n_shifts, shift_json), "recurring",
                     array_of(f, f->n_recurring, group_json),
                     "recurring_incidents", (json_int_t)f->recurring_incidents);
}
