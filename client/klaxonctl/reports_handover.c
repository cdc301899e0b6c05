/* handover: the summary of a shift for the next on-call person. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kctl.h"
#include "reports.h"

#define LINE_MAX 4200

bool rpt_of_schedule(const struct rpt_handover_input *in,
                     const struct klaxon_incident *i)
{
    for (size_t k = 0; k < in->n_policies; k++) {
        if (strcmp(i->escalation_policy, in->policies[k]) == 0) {
            return true;
        }
    }
    for (size_t k = 0; k < in->n_pages; k++) {
        const struct klaxon_page *p = &in->pages[k];
        if (p->incident_id == i->id && strcmp(p->schedule, in->schedule) == 0) {
            return true;
        }
    }
    return false;
}

bool rpt_is_action(const char *text)
{
    while (isspace((unsigned char)*text)) {
        text++;
    }
    return strncasecmp(text, "action:", 7) == 0 ||
           (strncasecmp(text, "todo", 4) == 0 &&
            !isalnum((unsigned char)text[4]));
}

/* Open at `end`: created before it, not resolved before it. */
static bool open_at(const struct klaxon_incident *i, uint64_t end)
{
    return i->created_ms < end &&
           (i->resolved_ms == 0 || i->resolved_ms >= end);
}

static int cmp_created(const void *a, const void *b)
{
    const struct klaxon_incident *x = *(const struct klaxon_incident *const *)a;
    const struct klaxon_incident *y = *(const struct klaxon_incident *const *)b;

    if (x->created_ms != y->created_ms) {
        return x->created_ms < y->created_ms ? -1 : 1;
    }
    return (x->id > y->id) - (x->id < y->id);
}

static void add_notes(struct rpt_handover *h, const struct klaxon_incident *i)
{
    for (size_t k = 0; k < i->n_timeline; k++) {
        const struct klaxon_event *e = &i->timeline[k];
        struct rpt_note n = {i, e};
        if (strcmp(e->kind, "note") != 0 || e->at_ms < h->start_ms ||
            e->at_ms >= h->end_ms) {
            continue;
        }
        if (rpt_is_action(e->message)) {
            h->actions[h->n_actions++] = n;
        } else {
            h->notes[h->n_notes++] = n;
        }
    }
}

static int cmp_notes(const void *a, const void *b)
{
    const struct rpt_note *x = a;
    const struct rpt_note *y = b;

    if (x->event->at_ms != y->event->at_ms) {
        return x->event->at_ms < y->event->at_ms ? -1 : 1;
    }
    return (x->incident->id > y->incident->id) -
           (x->incident->id < y->incident->id);
}

static size_t count_notes(const struct rpt_handover_input *in)
{
    size_t n = 0;

    for (size_t k = 0; k < in->n_incidents; k++) {
        n += in->incidents[k].n_timeline;
    }
    return n;
}

static int alloc_lists(const struct rpt_handover_input *in,
                       struct rpt_handover *h)
{
    size_t notes = count_notes(in) + 1;

    h->during = calloc(in->n_incidents + 1, sizeof *h->during);
    h->open = calloc(in->n_incidents + 1, sizeof *h->open);
    h->actions = calloc(notes, sizeof *h->actions);
    h->notes = calloc(notes, sizeof *h->notes);
    return h->during != NULL && h->open != NULL && h->actions != NULL &&
                   h->notes != NULL
               ? 0
               : -1;
}

static void sort_lists(struct rpt_handover *h)
{
    qsort(h->during, h->n_during, sizeof *h->during, cmp_created);
    qsort(h->open, h->n_open, sizeof *h->open, cmp_created);
    qsort(h->actions, h->n_actions, sizeof *h->actions, cmp_notes);
    qsort(h->notes, h->n_notes, sizeof *h->notes, cmp_notes);
}

int rpt_handover_build(const struct rpt_handover_input *in,
                       struct rpt_handover *h)
{
    memset(h, 0, sizeof *h);
    h->schedule = in->schedule;
    h->shift = in->shift;
    h->next_user = in->next_user != NULL ? in->next_user : "";
    h->start_ms = in->shift->start_ms;
    h->end_ms = in->end_ms;
    h->at_ms = in->at_ms;
    h->current = in->shift->end_ms == 0 || in->shift->end_ms > in->end_ms;
    if (alloc_lists(in, h) != 0) {
        rpt_handover_free(h);
        return -1;
    }
    for (size_t k = 0; k < in->n_incidents; k++) {
        const struct klaxon_incident *i = &in->incidents[k];
        bool during = i->created_ms >= h->start_ms && i->created_ms < h->end_ms;
        bool open = open_at(i, h->at_ms);
        if (!rpt_of_schedule(in, i) || (!during && !open)) {
            continue;
        }
        if (during) {
            h->during[h->n_during++] = i;
        }
        if (during && i->severity >= 1 && i->severity <= RPT_SEVERITIES) {
            h->by_sev[i->severity - 1]++;
        }
        if (open) {
            h->open[h->n_open++] = i;
        }
        add_notes(h, i);
    }
    sort_lists(h);
    return 0;
}

void rpt_handover_free(struct rpt_handover *h)
{
    free(h->during);
    free(h->open);
    free(h->actions);
    free(h->notes);
    memset(h, 0, sizeof *h);
}

/* --- Markdown ------------------------------------------------------------- */

/* The status of an open incident at `end`. */
static const char *status_at(const struct klaxon_incident *i, uint64_t end)
{
    if (i->resolved_ms == 0) {
        return klaxon_status_name(i->status);
    }
    return i->acknowledged_ms != 0 && i->acknowledged_ms < end ? "acknowledged"
                                                               : "triggered";
}

static void print_head(const struct rpt_handover *h, FILE *out)
{
    char from[32], to[32], date[32], span[48];

    kctl_format_time(h->start_ms, from, sizeof from);
    kctl_format_time(h->end_ms, to, sizeof to);
    kctl_format_time(h->at_ms, date, sizeof date);
    kctl_format_span((h->end_ms - h->start_ms) / 1000 * 1000, span,
                     sizeof span);
    fprintf(out, "# Shift Handover Summary\n\n");
    fprintf(out, "- **Date:** %s\n", date);
    fprintf(out, "- **Schedule:** %s\n", h->schedule);
    fprintf(out, "- **Handed over by:** %s\n", kctl_or_dash(h->shift->user));
    fprintf(out, "- **Handed over to:** %s\n",
            h->current ? "- (shift not over yet)" : kctl_or_dash(h->next_user));
    fprintf(out, "- **Shift:** %s to %s (%s%s)\n", from, to, span,
            h->current ? ", so far" : "");
}

/* "Sev2: 1 (#12 Payment gateway latency)" */
static void print_sev(const struct rpt_handover *h, unsigned sev, FILE *out)
{
    char line[LINE_MAX];
    const char *sep = " (";

    fprintf(out, "- Sev%u: %zu", sev, h->by_sev[sev - 1]);
    for (size_t k = 0; k < h->n_during; k++) {
        const struct klaxon_incident *i = h->during[k];
        if (i->severity == sev) {
            kctl_one_line(i->summary, line, sizeof line);
            fprintf(out, "%s#%llu %s", sep, (unsigned long long)i->id, line);
            sep = ", ";
        }
    }
    fprintf(out, "%s\n", h->by_sev[sev - 1] > 0 ? ")" : "");
}

static void print_during(const struct rpt_handover *h, FILE *out)
{
    fprintf(out, "\n## Incidents During Shift\n\n");
    fprintf(out, "- Total: %zu\n", h->n_during);
    for (unsigned sev = 1; sev <= RPT_SEVERITIES; sev++) {
        print_sev(h, sev, out);
    }
}

static void print_open(const struct rpt_handover *h, FILE *out)
{
    char line[LINE_MAX];
    char when[32];

    fprintf(out, "\n## Still Open\n\n");
    kctl_format_time(h->at_ms, when, sizeof when);
    fprintf(out, "At %s:\n\n", when);
    if (h->n_open == 0) {
        fprintf(out, "Nothing is open.\n");
        return;
    }
    fprintf(out, "| ID | Severity | Status | Service | Summary |\n");
    fprintf(out, "|---|---|---|---|---|\n");
    for (size_t k = 0; k < h->n_open; k++) {
        const struct klaxon_incident *i = h->open[k];
        kctl_one_line(i->summary, line, sizeof line);
        fprintf(out, "| %llu | Sev%u | %s | %s | %s |\n",
                (unsigned long long)i->id, i->severity, status_at(i, h->at_ms),
                i->service, line);
    }
}

/* "text (#12, alice, 2026-11-28 10:00:00Z)" */
static void print_note(const struct rpt_note *n, FILE *out)
{
    char line[LINE_MAX];
    char when[32];

    kctl_one_line(n->event->message, line, sizeof line);
    kctl_format_time(n->event->at_ms, when, sizeof when);
    fprintf(out, "%s (#%llu, %s, %s)\n", line,
            (unsigned long long)n->incident->id, kctl_or_dash(n->event->actor),
            when);
}

static void print_notes(const struct rpt_handover *h, FILE *out)
{
    fprintf(out, "\n## Action Items\n\n");
    if (h->n_actions == 0) {
        fprintf(out, "None noted.\n");
    }
    for (size_t k = 0; k < h->n_actions; k++) {
        fprintf(out, "%zu. ", k + 1);
        print_note(&h->actions[k], out);
    }
    fprintf(out, "\n## Notes for Next On-Call\n\n");
    if (h->n_notes == 0) {
        fprintf(out, "None noted.\n");
    }
    for (size_t k = 0; k < h->n_notes; k++) {
        fprintf(out, "- ");
        print_note(&h->notes[k], out);
    }
}

int rpt_handover_markdown(const struct rpt_handover *h, FILE *out)
{
    print_head(h, out);
    print_during(h, out);
    print_open(h, out);
    print_notes(h, out);
    return ferror(out) ? -1 : 0;
}

/* --- JSON ----------------------------------------------------------------- */

static json_t *incident_ref(const struct klaxon_incident *i, uint64_t end)
{
    return json_pack("{s:I, s:i, s:s, s:s, s:s, s:I}", "id", (json_int_t)i->id,
                     "severity", (int)i->severity, "status", status_at(i, end),
                     "service", i->service, "summary", i->summary, "created_ms",
                     (json_int_t)i->created_ms);
}

static json_t *incident_refs(const struct klaxon_incident *const *v,
                             size_t n,
                             uint64_t end)
{
    json_t *a = json_array();

    for (size_t k = 0; a != NULL && k < n; k++) {
        if (json_array_append_new(a, incident_ref(v[k], end)) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

static json_t *note_refs(const struct rpt_note *v, size_t n)
{
    json_t *a = json_array();

    for (size_t k = 0; a != NULL && k < n; k++) {
        json_t *o = json_pack("{s:I, s:I, s:s, s:s}", "incident_id",
                              (json_int_t)v[k].incident->id, "at_ms",
                              (json_int_t)v[k].event->at_ms, "by",
                              v[k].event->actor, "text", v[k].event->message);
        if (json_array_append_new(a, o) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

json_t *rpt_handover_json(const struct rpt_handover *h)
{
    return json_pack(
        "{s:s, s:s, s:s, s:I, s:I, s:I, s:b, s:I, s:{s:I, s:I, s:I, s:I}, "
        "s:o, s:o, s:o, s:o}",
        "schedule", h->schedule, "handed_over_by", h->shift->user,
        "handed_over_to", h->current ? "" : h->next_user, "start_ms",
        (json_int_t)h->start_ms, "end_ms", (json_int_t)h->end_ms, "at_ms",
        (json_int_t)h->at_ms, "current", (int)h->current, "incidents",
        (json_int_t)h->n_during, "by_severity", "sev1",
        (json_int_t)h->by_sev[0], "sev2", (json_int_t)h->by_sev[1], "sev3",
        (json_int_t)h->by_sev[2], "sev4", (json_int_t)h->by_sev[3], "during",
        incident_refs(h->during, h->n_during, h->at_ms), "open",
        incident_refs(h->open, h->n_open, h->at_ms), "action_items",
        note_refs(h->actions, h->n_actions), "notes",
        note_refs(h->notes, h->n_notes));
}
