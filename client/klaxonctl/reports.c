/* report: the figures of the incidents of a window (docs/REPORTS.md). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reports.h"

const char *rpt_zone_of(const struct rpt_zone *zones,
                        size_t n,
                        const char *user)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(zones[i].user, user) == 0) {
            return zones[i].zone;
        }
    }
    return "UTC";
}

/* Set TZ to `zone` (saved: the previous value, to give to restore_tz). */
static int set_tz(const char *zone, char **saved)
{
    const char *old = getenv("TZ");

    *saved = NULL;
    if (old != NULL && (*saved = strdup(old)) == NULL) {
        return -1;
    }
    if (setenv("TZ", zone, 1) != 0) {
        free(*saved);
        *saved = NULL;
        return -1;
    }
    tzset();
    return 0;
}

static void restore_tz(char *saved)
{
    if (saved != NULL) {
        setenv("TZ", saved, 1);
    } else {
        unsetenv("TZ");
    }
    tzset();
    free(saved);
}

int rpt_local_clock(const char *zone, uint64_t ms, int *hour, int *wday)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char *saved;
    bool ok;

    if (set_tz(zone, &saved) != 0) {
        return -1;
    }
    ok = localtime_r(&t, &tm) != NULL;
    restore_tz(saved);
    if (!ok) {
        return -1;
    }
    *hour = tm.tm_hour;
    *wday = tm.tm_wday;
    return 0;
}

/* --- incidents ------------------------------------------------------------ */

static bool in_window(const struct rpt_input *in,
                      const struct klaxon_incident *i)
{
    return i->created_ms >= in->from_ms && i->created_ms < in->to_ms &&
           (in->service == NULL || in->service[0] == '\0' ||
            strcmp(i->service, in->service) == 0);
}

static bool is_resolved(const struct klaxon_incident *i)
{
    return i->status == KLAXON_RESOLVED && i->resolved_ms != 0;
}

static bool is_false_positive(const struct klaxon_incident *i)
{
    return is_resolved(i) && (i->acknowledged_ms == 0 || i->false_positive);
}

static uint64_t since_created(const struct klaxon_incident *i, uint64_t ms)
{
    return ms > i->created_ms ? ms - i->created_ms : 0;
}

static void count_incident(struct rpt_sev *s, const struct klaxon_incident *i)
{
    s->incidents++;
    s->open += !is_resolved(i);
    s->acknowledged += i->acknowledged_ms != 0;
    s->resolved += is_resolved(i);
    s->response_missed += i->response_missed;
    s->resolution_missed += i->resolution_missed;
    s->false_positives += is_false_positive(i);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

/* Mean and nearest-rank 90th percentile of v (sorted here). */
static void times_of(uint64_t *v, size_t n, struct rpt_times *t)
{
    uint64_t sum = 0;

    t->n = n;
    t->mean_ms = t->p90_ms = 0;
    if (n == 0) {
        return;
    }
    qsort(v, n, sizeof *v, cmp_u64);
    for (size_t k = 0; k < n; k++) {
        sum += v[k];
    }
    t->mean_ms = sum / n;
    t->p90_ms = v[(9 * n + 9) / 10 - 1];
}

/* Times to acknowledge (or with resolve, to resolve) of the window's
 * incidents of severity sev (0: all) into v; their number. */
static size_t collect(const struct rpt_input *in,
                      unsigned sev,
                      bool resolve,
                      uint64_t *v)
{
    size_t n = 0;

    for (size_t k = 0; k < in->n_incidents; k++) {
        const struct klaxon_incident *i = &in->incidents[k];
        if (!in_window(in, i) || (sev != 0 && i->severity != sev)) {
            continue;
        }
        if (resolve && is_resolved(i)) {
            v[n++] = since_created(i, i->resolved_ms);
        } else if (!resolve && i->acknowledged_ms != 0) {
            v[n++] = since_created(i, i->acknowledged_ms);
        }
    }
    return n;
}

static int incident_figures(const struct rpt_input *in, struct rpt_figures *f)
{
    uint64_t *v = calloc(in->n_incidents + 1, sizeof *v);

    if (v == NULL) {
        return -1;
    }
    for (size_t k = 0; k < in->n_incidents; k++) {
        const struct klaxon_incident *i = &in->incidents[k];
        if (in_window(in, i)) {
            count_incident(&f->all, i);
            if (i->severity >= 1 && i->severity <= RPT_SEVERITIES) {
                count_incident(&f->sev[i->severity - 1], i);
            }
        }
    }
    for (unsigned s = 0; s <= RPT_SEVERITIES; s++) {
        struct rpt_sev *to = s == 0 ? &f->all : &f->sev[s - 1];
        times_of(v, collect(in, s, false, v), &to->mtta);
        times_of(v, collect(in, s, true, v), &to->mttr);
    }
    free(v);
    return 0;
}

double rpt_share(const struct rpt_sev *s)
{
    return s->resolved == 0 ? -1 : (double)s->false_positives / s->resolved;
}

/* --- pages ---------------------------------------------------------------- */

static const struct klaxon_incident *incident_of(const struct rpt_input *in,
                                                 uint64_t id)
{
    for (size_t k = 0; k < in->n_incidents; k++) {
        if (in->incidents[k].id == id) {
            return &in->incidents[k];
        }
    }
    return NULL;
}

/* A page that counts: of an incident of the window, not cancelled. */
static bool page_counts(const struct rpt_input *in, const struct klaxon_page *p)
{
    const struct klaxon_incident *i;

    if (p->incident_id == 0 || strcmp(p->state, "cancelled") == 0) {
        return false;
    }
    i = incident_of(in, p->incident_id);
    return i != NULL && in_window(in, i);
}

static bool same_call(const struct klaxon_page *a, const struct klaxon_page *b)
{
    return a->incident_id == b->incident_id && a->level == b->level &&
           a->loop == b->loop && strcmp(a->kind, b->kind) == 0 &&
           strcmp(a->user, b->user) == 0;
}

/* Whether page k is the first counted page of its call (the same person
 * paged for the same incident, kind, level and repeat). */
static bool first_of_call(const struct rpt_input *in,
                          const bool *counted,
                          size_t k)
{
    for (size_t j = 0; j < k; j++) {
        if (counted[j] && same_call(&in->pages[j], &in->pages[k])) {
            return false;
        }
    }
    return true;
}

static struct rpt_person *person_of(const struct rpt_input *in,
                                    struct rpt_figures *f,
                                    const char *user)
{
    for (size_t k = 0; k < f->n_people; k++) {
        if (strcmp(f->people[k].user, user) == 0) {
            return &f->people[k];
        }
    }
    f->people[f->n_people] = (struct rpt_person){
        .user = user, .zone = rpt_zone_of(in->zones, in->n_zones, user)};
    return &f->people[f->n_people++];
}

static struct rpt_shift_pages *shift_of(struct rpt_figures *f,
                                        const struct klaxon_page *p)
{
    for (size_t k = 0; k < f->n_shifts; k++) {
        const struct klaxon_shift *s = f->shifts[k].shift;
        if (strcmp(s->schedule, p->schedule) == 0 &&
            strcmp(s->user, p->user) == 0 && p->created_ms >= s->start_ms &&
            (s->end_ms == 0 || p->created_ms < s->end_ms)) {
            return &f->shifts[k];
        }
    }
    return NULL;
}

/* Count page p in its person's local time. */
static int count_hours(struct rpt_figures *f,
                       struct rpt_person *who,
                       const struct klaxon_page *p)
{
    int hour, wday;
    bool outside, weekend;

    if (rpt_local_clock(who->zone, p->created_ms, &hour, &wday) != 0) {
        return -1;
    }
    outside = hour < RPT_WORK_START_HOUR || hour >= RPT_WORK_END_HOUR;
    weekend = wday == 0 || wday == 6;
    who->outside_hours += outside;
    who->weekend += weekend;
    who->off_hours += outside || weekend;
    f->outside_hours += outside;
    f->weekend += weekend;
    f->off_hours += outside || weekend;
    return 0;
}

static int count_page(const struct rpt_input *in,
                      struct rpt_figures *f,
                      const bool *counted,
                      size_t k)
{
    const struct klaxon_page *p = &in->pages[k];
    struct rpt_person *who = person_of(in, f, p->user);
    struct rpt_shift_pages *shift = shift_of(f, p);
    bool first = first_of_call(in, counted, k);

    f->pages++;
    f->interruptions += first;
    who->pages++;
    who->interruptions += first;
    if (shift != NULL) {
        shift->pages++;
        shift->interruptions += first;
    } else {
        f->outside_shifts++;
    }
    return count_hours(f, who, p);
}

static int cmp_people(const void *a, const void *b)
{
    const struct rpt_person *x = a;
    const struct rpt_person *y = b;

    if (x->pages != y->pages) {
        return x->pages < y->pages ? 1 : -1;
    }
    return strcmp(x->user, y->user);
}

static int page_figures(const struct rpt_input *in, struct rpt_figures *f)
{
    bool *counted = calloc(in->n_pages + 1, sizeof *counted);
    int rv = 0;

    f->people = calloc(in->n_pages + 1, sizeof *f->people);
    f->shifts = calloc(in->n_shifts + 1, sizeof *f->shifts);
    if (counted == NULL || f->people == NULL || f->shifts == NULL) {
        free(counted);
        return -1;
    }
    for (size_t k = 0; k < in->n_shifts; k++) {
        if (in->shifts[k].user[0] != '\0') {
            f->shifts[f->n_shifts++].shift = &in->shifts[k];
        }
    }
    for (size_t k = 0; k < in->n_pages; k++) {
        counted[k] = page_counts(in, &in->pages[k]);
    }
    for (size_t k = 0; rv == 0 && k < in->n_pages; k++) {
        rv = counted[k] ? count_page(in, f, counted, k) : 0;
    }
    free(counted);
    qsort(f->people, f->n_people, sizeof *f->people, cmp_people);
    return rv;
}

/* --- recurring incidents ------------------------------------------------ */

static const char *key_of(const struct klaxon_incident *i, bool by_summary)
{
    return by_summary ? i->summary : i->dedup_key;
}

static bool same_key(const struct klaxon_incident *a,
                     const struct klaxon_incident *b,
                     bool by_summary)
{
    return strcmp(a->service, b->service) == 0 &&
           strcmp(key_of(a, by_summary), key_of(b, by_summary)) == 0;
}

static int cmp_by_created(const void *a, const void *b)
{
    const struct klaxon_incident *x = *(const struct klaxon_incident *const *)a;
    const struct klaxon_incident *y = *(const struct klaxon_incident *const *)b;

    if (x->created_ms != y->created_ms) {
        return x->created_ms < y->created_ms ? -1 : 1;
    }
    return (x->id > y->id) - (x->id < y->id);
}

/* The window's incidents, oldest first (an array of n pointers). */
static const struct klaxon_incident **window_sorted(const struct rpt_input *in,
                                                    size_t *n)
{
    const struct klaxon_incident **v = calloc(in->n_incidents + 1, sizeof *v);

    *n = 0;
    if (v == NULL) {
        return NULL;
    }
    for (size_t k = 0; k < in->n_incidents; k++) {
        if (in_window(in, &in->incidents[k])) {
            v[(*n)++] = &in->incidents[k];
        }
    }
    qsort(v, *n, sizeof *v, cmp_by_created);
    return v;
}

/* Whether group g (by summary) holds the same incidents as an earlier
 * group by dedup key: then it says nothing new. */
static bool repeats_group(const struct rpt_figures *f,
                          const struct rpt_recurring *g)
{
    for (size_t k = 0; k < f->n_recurring; k++) {
        const struct rpt_recurring *o = &f->recurring[k];
        if (!o->by_summary && o->count == g->count &&
            memcmp(o->ids, g->ids, g->count * sizeof *g->ids) == 0) {
            return true;
        }
    }
    return false;
}

/* The group of v[first] (not yet in one), if it has more than one. */
static int add_group(struct rpt_figures *f,
                     const struct klaxon_incident **v,
                     size_t n,
                     size_t first,
                     bool by_summary,
                     bool *used)
{
    struct rpt_recurring g = {v[first]->service, key_of(v[first], by_summary),
                              by_summary, NULL, 0};

    g.ids = calloc(n - first, sizeof *g.ids);
    if (g.ids == NULL) {
        return -1;
    }
    for (size_t k = first; k < n; k++) {
        if (!used[k] && same_key(v[first], v[k], by_summary)) {
            used[k] = true;
            g.ids[g.count++] = v[k]->id;
        }
    }
    if (g.count < 2 || (by_summary && repeats_group(f, &g))) {
        free(g.ids);
        return 0;
    }
    f->recurring[f->n_recurring++] = g;
    return 0;
}

static int groups_by(struct rpt_figures *f,
                     const struct klaxon_incident **v,
                     size_t n,
                     bool by_summary)
{
    bool *used = calloc(n + 1, sizeof *used);
    int rv = used != NULL ? 0 : -1;

    for (size_t k = 0; rv == 0 && k < n; k++) {
        if (!used[k] && key_of(v[k], by_summary)[0] != '\0') {
            rv = add_group(f, v, n, k, by_summary, used);
        }
    }
    free(used);
    return rv;
}

static bool in_a_group(const struct rpt_figures *f, uint64_t id)
{
    for (size_t k = 0; k < f->n_recurring; k++) {
        for (size_t j = 0; j < f->recurring[k].count; j++) {
            if (f->recurring[k].ids[j] == id) {
                return true;
            }
        }
    }
    return false;
}

static int cmp_groups(const void *a, const void *b)
{
    const struct rpt_recurring *x = a;
    const struct rpt_recurring *y = b;

    if (x->count != y->count) {
        return x->count < y->count ? 1 : -1;
    }
    return (x->ids[0] > y->ids[0]) - (x->ids[0] < y->ids[0]);
}

static int recurring_figures(const struct rpt_input *in, struct rpt_figures *f)
{
    size_t n;
    const struct klaxon_incident **v = window_sorted(in, &n);
    int rv = -1;

    /* At most n / 2 groups of each kind. */
    f->recurring = v != NULL ? calloc(n + 1, sizeof *f->recurring) : NULL;
    if (f->recurring != NULL && groups_by(f, v, n, false) == 0 &&
        groups_by(f, v, n, true) == 0) {
        for (size_t k = 0; k < n; k++) {
            f->recurring_incidents += in_a_group(f, v[k]->id);
        }
        qsort(f->recurring, f->n_recurring, sizeof *f->recurring, cmp_groups);
        rv = 0;
    }
    free(v);
    return rv;
}

int rpt_compute(const struct rpt_input *in, struct rpt_figures *f)
{
    memset(f, 0, sizeof *f);
    f->from_ms = in->from_ms;
    f->to_ms = in->to_ms;
    f->service = in->service != NULL ? in->service : "";
    if (incident_figures(in, f) != 0 || page_figures(in, f) != 0 ||
        recurring_figures(in, f) != 0) {
        rpt_figures_free(f);
        return -1;
    }
    return 0;
}

void rpt_figures_free(struct rpt_figures *f)
{
    for (size_t k = 0; k < f->n_recurring; k++) {
        free(f->recurring[k].ids);
    }
    free(f->recurring);
    free(f->people);
    free(f->shifts);
    memset(f, 0, sizeof *f);
}
