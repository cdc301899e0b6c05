/* postmortem: the incident report template filled from one incident. */
#include <stdlib.h>
#include <string.h>

#include "kctl.h"
#include "reports.h"

#define LINE_MAX 4200

/* One line of the timeline: an event of the incident or one of its pages. */
struct entry
{
    uint64_t at_ms;
    const struct klaxon_event *event;
    const struct klaxon_page *page;
    size_t order; /* events first at the same time, then in their order */
};

static int cmp_entries(const void *a, const void *b)
{
    const struct entry *x = a;
    const struct entry *y = b;

    if (x->at_ms != y->at_ms) {
        return x->at_ms < y->at_ms ? -1 : 1;
    }
    return (x->order > y->order) - (x->order < y->order);
}

/* Page events that the pages themselves tell better. */
static bool page_event(const struct klaxon_event *e)
{
    return strcmp(e->kind, "paged") == 0 ||
           strcmp(e->kind, "page_delivered") == 0 ||
           strcmp(e->kind, "page_failed") == 0;
}

static size_t pages_of(const struct klaxon_incident *i,
                       const struct klaxon_page *pages,
                       size_t n_pages)
{
    size_t n = 0;

    for (size_t k = 0; k < n_pages; k++) {
        n += pages[k].incident_id == i->id;
    }
    return n;
}

/* The timeline entries, sorted; NULL when out of memory. Without pages
 * (none given) the page events of the timeline stay. */
static struct entry *entries_of(const struct klaxon_incident *i,
                                const struct klaxon_page *pages,
                                size_t n_pages,
                                size_t *n)
{
    struct entry *v = calloc(i->n_timeline + n_pages + 1, sizeof *v);
    bool paged = pages_of(i, pages, n_pages) > 0;

    *n = 0;
    if (v == NULL) {
        return NULL;
    }
    for (size_t k = 0; k < i->n_timeline; k++) {
        if (!paged || !page_event(&i->timeline[k])) {
            v[(*n)++] =
                (struct entry){i->timeline[k].at_ms, &i->timeline[k], NULL, k};
        }
    }
    for (size_t k = 0; k < n_pages; k++) {
        if (pages[k].incident_id == i->id) {
            v[(*n)++] = (struct entry){pages[k].created_ms, NULL, &pages[k],
                                       i->n_timeline + pages[k].id};
        }
    }
    qsort(v, *n, sizeof *v, cmp_entries);
    return v;
}

static const char *label_of(const char *kind)
{
    static const struct
    {
        const char *kind;
        const char *label;
    } labels[] = {
        {"triggered", "Triggered"},
        {"alert", "Alert"},
        {"acknowledged", "Acknowledged"},
        {"resolved", "Resolved"},
        {"note", "Note"},
        {"paged", "Paged"},
        {"page_delivered", "Page delivered"},
        {"page_failed", "Page failed"},
        {"escalated", "Escalation"},
        {"unanswered", "Unanswered"},
        {"target_missed", "Target missed"},
        {"not_paged", "Not paged"},
        {"retriggered", "Triggered again"},
        {"reminder", "Update reminder"},
        {"status_update", "Status update"},
    };

    for (size_t k = 0; k < sizeof labels / sizeof labels[0]; k++) {
        if (strcmp(labels[k].kind, kind) == 0) {
            return labels[k].label;
        }
    }
    return kind;
}

static void print_event(const struct klaxon_event *e, FILE *out)
{
    char msg[LINE_MAX];

    kctl_one_line(e->message, msg, sizeof msg);
    fprintf(out, "**%s**", label_of(e->kind));
    if (e->update_status != KLAXON_PUBLIC_NONE) {
        fprintf(out, " (%s)", klaxon_public_status_name(e->update_status));
    }
    if (e->actor[0] != '\0') {
        fprintf(out, " by %s", e->actor);
    }
    fprintf(out, "%s%s\n", msg[0] != '\0' ? ": " : "", msg);
}

/* "delivered at T after 1 attempt(s)", "failed at T ...: error", ... */
static void print_outcome(const struct klaxon_page *p, FILE *out)
{
    char when[32];
    char err[LINE_MAX];

    kctl_format_time(p->finished_ms, when, sizeof when);
    kctl_one_line(p->error, err, sizeof err);
    if (strcmp(p->state, "delivered") == 0) {
        fprintf(out, "delivered at %s after %u attempt(s)", when, p->attempts);
    } else if (strcmp(p->state, "failed") == 0) {
        fprintf(out, "failed at %s after %u attempt(s): %s", when, p->attempts,
                kctl_or_dash(err));
    } else if (strcmp(p->state, "cancelled") == 0 && p->attempts == 0) {
        fprintf(out, "cancelled at %s before delivery", when);
    } else if (strcmp(p->state, "cancelled") == 0) {
        fprintf(out, "cancelled at %s after %u failed attempt(s)", when,
                p->attempts);
    } else {
        fprintf(out, "%s, %u attempt(s) so far", p->state, p->attempts);
    }
}

/* "**Paged** alice (level 1, via schedule primary) by webhook URL: ..." */
static void print_page(const struct klaxon_page *p, FILE *out)
{
    if (strcmp(p->kind, "reminder") == 0) {
        fprintf(out, "**Update reminder paged** to %s", kctl_or_dash(p->user));
    } else {
        fprintf(out, "**Paged** %s (level %u", kctl_or_dash(p->user), p->level);
        if (p->loop > 0) {
            fprintf(out, ", repeat %u", p->loop);
        }
        if (p->schedule[0] != '\0') {
            fprintf(out, ", via schedule %s", p->schedule);
        }
        fputc(')', out);
    }
    fprintf(out, " by %s %s: ", kctl_or_dash(p->contact_kind),
            kctl_or_dash(p->contact_address));
    print_outcome(p, out);
    fputc('\n', out);
}

static int print_timeline(const struct klaxon_incident *i,
                          const struct klaxon_page *pages,
                          size_t n_pages,
                          FILE *out)
{
    size_t n;
    struct entry *v = entries_of(i, pages, n_pages, &n);
    char when[32];

    if (v == NULL) {
        return -1;
    }
    fprintf(out, "\n## Timeline\n\nAll times UTC.\n\n");
    for (size_t k = 0; k < n; k++) {
        kctl_format_time(v[k].at_ms, when, sizeof when);
        fprintf(out, "- `%s` ", when);
        if (v[k].page != NULL) {
            print_page(v[k].page, out);
        } else {
            print_event(v[k].event, out);
        }
    }
    free(v);
    return 0;
}

/* --- the summary ---------------------------------------------------------- */

static void print_duration(const struct klaxon_incident *i,
                           uint64_t now,
                           FILE *out)
{
    char span[48];
    uint64_t end = i->resolved_ms != 0 ? i->resolved_ms : now;

    kctl_format_span(
        (end > i->created_ms ? end - i->created_ms : 0) / 1000 * 1000, span,
        sizeof span);
    if (i->resolved_ms != 0) {
        fprintf(out, "- **Duration:** %s (trigger to resolve)\n", span);
    } else {
        fprintf(out, "- **Duration:** ongoing (open for %s)\n", span);
    }
}

static void print_done(const char *what,
                       const struct klaxon_incident *i,
                       uint64_t at,
                       const char *by,
                       FILE *out)
{
    char when[32], span[48];

    if (at == 0) {
        fprintf(out, "- **%s:** no\n", what);
        return;
    }
    kctl_format_time(at, when, sizeof when);
    kctl_format_span(
        (at > i->created_ms ? at - i->created_ms : 0) / 1000 * 1000, span,
        sizeof span);
    fprintf(out, "- **%s:** %s by %s, %s after the trigger\n", what, when,
            kctl_or_dash(by), span);
}

static void print_status_page(const struct klaxon_incident *i, FILE *out)
{
    char when[32];
    char impact[LINE_MAX];

    if (i->public_status != KLAXON_PUBLIC_NONE) {
        kctl_format_time(i->public_since_ms, when, sizeof when);
        fprintf(out, "- **Status page:** %s (first update %s)\n",
                klaxon_public_status_name(i->public_status), when);
    }
    for (size_t k = 0; k < i->n_components; k++) {
        fprintf(out, "%s%s", k == 0 ? "- **Components:** " : ", ",
                i->components[k]);
    }
    if (i->n_components > 0) {
        fputc('\n', out);
    }
    if (i->impact[0] != '\0') {
        kctl_one_line(i->impact, impact, sizeof impact);
        fprintf(out, "- **Customer impact:** %s\n", impact);
    }
}

static const char *missed(const struct klaxon_incident *i)
{
    if (i->response_missed && i->resolution_missed) {
        return "response, resolution";
    }
    if (i->response_missed || i->resolution_missed) {
        return i->response_missed ? "response" : "resolution";
    }
    return "none";
}

static void print_flags(const struct klaxon_incident *i, FILE *out)
{
    fprintf(out, "- **Alerts:** %u", i->alert_count);
    if (i->dedup_key[0] != '\0') {
        fprintf(out, " (dedup key %s)", i->dedup_key);
    }
    fprintf(out, "\n- **Pages:** %u\n", i->pages);
    if (i->commander[0] != '\0') {
        fprintf(out, "- **Commander:** %s\n", i->commander);
    }
    fprintf(out, "- **Targets missed:** %s\n", missed(i));
    if (i->false_positive) {
        fprintf(out, "- **False positive:** yes\n");
    }
}

static void print_summary(const struct klaxon_incident *i,
                          uint64_t now,
                          FILE *out)
{
    char title[LINE_MAX];
    char when[32];

    kctl_one_line(i->summary, title, sizeof title);
    kctl_format_time(i->created_ms, when, sizeof when);
    fprintf(out, "# Incident Report: %s\n\n## Summary\n\n", title);
    fprintf(out, "- **Incident ID:** %llu\n", (unsigned long long)i->id);
    fprintf(out, "- **Summary:** %s\n", title);
    fprintf(out, "- **Date:** %s\n", when);
    print_duration(i, now, out);
    fprintf(out, "- **Severity:** Sev%u\n", i->severity);
    fprintf(out, "- **Affected:** %s\n", i->service);
    fprintf(out, "- **Status:** %s\n", klaxon_status_name(i->status));
    print_done("Acknowledged", i, i->acknowledged_ms, i->acknowledged_by, out);
    print_done("Resolved", i, i->resolved_ms, i->resolved_by, out);
    print_flags(i, out);
    print_status_page(i, out);
}

/* --- the sections left to people ----------------------------------------- */

static void print_actions(const struct klaxon_incident *i, FILE *out)
{
    char line[LINE_MAX];
    char when[32];

    fprintf(out, "\n## Action Items\n\n");
    for (size_t k = 0; k < i->n_timeline; k++) {
        const struct klaxon_event *e = &i->timeline[k];
        if (strcmp(e->kind, "note") == 0 && rpt_is_action(e->message)) {
            kctl_one_line(e->message, line, sizeof line);
            kctl_format_time(e->at_ms, when, sizeof when);
            fprintf(out, "- [ ] %s (noted by %s, %s)\n", line,
                    kctl_or_dash(e->actor), when);
        }
    }
    fprintf(out, "- [ ] _Action_ (Owner: _name_, Due: _YYYY-MM-DD_)\n");
}

static void print_sections(const struct klaxon_incident *i, FILE *out)
{
    fprintf(out,
            "\n## Root Cause\n\n"
            "_What caused the incident, and why it was not caught "
            "earlier._\n");
    fprintf(out,
            "\n## Impact\n\n"
            "_Who and what was affected and for how long: users, requests "
            "or transactions failed, revenue impact, customers "
            "affected._\n");
    fprintf(out,
            "\n## Lessons Learned\n\n"
            "1. _What went well, what went badly, where we were lucky._\n");
    print_actions(i, out);
}

int rpt_postmortem_markdown(const struct klaxon_incident *i,
                            const struct klaxon_page *pages,
                            size_t n_pages,
                            uint64_t now_ms,
                            FILE *out)
{
    print_summary(i, now_ms, out);
    if (print_timeline(i, pages, n_pages, out) != 0) {
        return -1;
    }
    print_sections(i, out);
    return ferror(out) ? -1 : 0;
}
