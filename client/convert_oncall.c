/* Conversion of the on-call answers: configuration, shifts, monitors,
 * maintenance windows and pages. */
#include <stdlib.h>

#include "convert.h"

/* Fills item `dst` from entry i of the answer `msg`. */
typedef void (*fill_fn)(const void *msg, size_t i, void *dst, bool *bad);

/* Releases what a fill_fn put into an item. */
typedef void (*clear_fn)(void *item);

static void free_items(void *items, size_t n, size_t size, clear_fn clear)
{
    for (size_t i = 0; i < n; i++) {
        clear((char *)items + i * size);
    }
    free(items);
}

/* An array of the n items of `size` of the answer `msg`, each made by
 * fill(msg, i, ...); *n_out is n. When out of memory: NULL and *n_out 0,
 * nothing left to free. */
static void *convert_items(const void *msg,
                           size_t n,
                           size_t size,
                           fill_fn fill,
                           clear_fn clear,
                           size_t *n_out)
{
    bool bad = false;
    char *items = convert_array(n, size, &bad);

    for (size_t i = 0; items != NULL && i < n; i++) {
        fill(msg, i, items + i * size, &bad);
    }
    if (bad) {
        free_items(items, items != NULL ? n : 0, size, clear);
        items = NULL;
    }
    *n_out = bad ? 0 : n;
    return items;
}

struct klaxon_config *convert_config(const Klaxon__ConfigResult *in)
{
    struct klaxon_config *c = calloc(1, sizeof *c);
    bool bad = false;

    if (c == NULL) {
        return NULL;
    }
    c->version = in->version;
    c->file_name = convert_str(in->file_name, &bad);
    c->yaml = convert_str(in->yaml, &bad);
    c->applied_ms = in->applied_ms;
    c->applied_by = convert_str(in->applied_by, &bad);
    if (bad) {
        klaxon_config_free(c);
        return NULL;
    }
    return c;
}

void klaxon_config_free(struct klaxon_config *cfg)
{
    if (cfg == NULL) {
        return;
    }
    free(cfg->applied_by);
    free(cfg->yaml);
    free(cfg->file_name);
    free(cfg);
}

static void fill_shift(const void *msg, size_t i, void *dst, bool *bad)
{
    const Klaxon__Shift *in = ((const Klaxon__OncallResult *)msg)->shifts[i];
    struct klaxon_shift *out = dst;

    out->schedule = convert_str(in->schedule, bad);
    out->user = convert_str(in->user, bad);
    out->start_ms = in->start_ms;
    out->end_ms = in->end_ms;
    out->layer = convert_str(in->layer, bad);
}

static void clear_shift(void *item)
{
    struct klaxon_shift *s = item;

    free(s->layer);
    free(s->user);
    free(s->schedule);
}

struct klaxon_shift_list *convert_shifts(const Klaxon__OncallResult *in)
{
    struct klaxon_shift_list *l = calloc(1, sizeof *l);

    if (l != NULL) {
        l->config_version = in->config_version;
        l->items = convert_items(in, in->n_shifts, sizeof *l->items, fill_shift,
                                 clear_shift, &l->n);
        if (l->n < in->n_shifts) {
            free(l);
            l = NULL;
        }
    }
    return l;
}

void klaxon_shift_list_free(struct klaxon_shift_list *l)
{
    if (l != NULL) {
        free_items(l->items, l->n, sizeof *l->items, clear_shift);
        free(l);
    }
}

static void fill_monitor(const void *msg, size_t i, void *dst, bool *bad)
{
    const Klaxon__MonitorStatus *in =
        ((const Klaxon__MonitorsResult *)msg)->monitors[i];
    struct klaxon_monitor *out = dst;

    out->name = convert_str(in->name, bad);
    out->service = convert_str(in->service, bad);
    out->interval_ms = in->interval_ms;
    out->last_checkin_ms = in->last_checkin_ms;
    out->due_ms = in->due_ms;
    out->down = in->down;
    out->incident_id = in->incident_id;
}

static void clear_monitor(void *item)
{
    struct klaxon_monitor *m = item;

    free(m->service);
    free(m->name);
}

struct klaxon_monitor_list *convert_monitors(const Klaxon__MonitorsResult *in)
{
    struct klaxon_monitor_list *l = calloc(1, sizeof *l);

    if (l != NULL) {
        l->items = convert_items(in, in->n_monitors, sizeof *l->items,
                                 fill_monitor, clear_monitor, &l->n);
        if (l->n < in->n_monitors) {
            free(l);
            l = NULL;
        }
    }
    return l;
}

void klaxon_monitor_list_free(struct klaxon_monitor_list *l)
{
    if (l != NULL) {
        free_items(l->items, l->n, sizeof *l->items, clear_monitor);
        free(l);
    }
}

static void fill_window(const void *msg, size_t i, void *dst, bool *bad)
{
    const Klaxon__MaintenanceWindow *in =
        ((const Klaxon__MaintenanceListResult *)msg)->windows[i];
    struct klaxon_window *out = dst;

    out->id = in->id;
    out->service = convert_str(in->service, bad);
    out->start_ms = in->start_ms;
    out->end_ms = in->end_ms;
    out->reason = convert_str(in->reason, bad);
    out->created_by = convert_str(in->created_by, bad);
    out->created_ms = in->created_ms;
    out->ended_ms = in->ended_ms;
    out->ended_by = convert_str(in->ended_by, bad);
}

static void clear_window(void *item)
{
    struct klaxon_window *w = item;

    free(w->ended_by);
    free(w->created_by);
    free(w->reason);
    free(w->service);
}

struct klaxon_window_list *convert_windows(
    const Klaxon__MaintenanceListResult *in)
{
    struct klaxon_window_list *l = calloc(1, sizeof *l);

    if (l != NULL) {
        l->items = convert_items(in, in->n_windows, sizeof *l->items,
                                 fill_window, clear_window, &l->n);
        if (l->n < in->n_windows) {
            free(l);
            l = NULL;
        }
    }
    return l;
}

void klaxon_window_list_free(struct klaxon_window_list *l)
{
    if (l != NULL) {
        free_items(l->items, l->n, sizeof *l->items, clear_window);
        free(l);
    }
}

static const char *page_kind(Klaxon__PageKind k)
{
    static const char *const names[] = {
        [KLAXON__PAGE_KIND__PAGE_INCIDENT] = "incident",
        [KLAXON__PAGE_KIND__PAGE_REMINDER] = "reminder",
        [KLAXON__PAGE_KIND__PAGE_HANDOFF] = "handoff",
    };

    return convert_name(names, sizeof names / sizeof names[0], (int)k,
                        "unknown");
}

static const char *page_state(Klaxon__PageState s)
{
    static const char *const names[] = {
        [KLAXON__PAGE_STATE__PAGE_PENDING] = "pending",
        [KLAXON__PAGE_STATE__PAGE_DELIVERED] = "delivered",
        [KLAXON__PAGE_STATE__PAGE_FAILED] = "failed",
        [KLAXON__PAGE_STATE__PAGE_CANCELLED] = "cancelled",
    };

    return convert_name(names, sizeof names / sizeof names[0], (int)s,
                        "unknown");
}

static const char *contact_kind(const Klaxon__ContactMethod *c)
{
    static const char *const names[] = {
        [KLAXON__CONTACT_KIND__CONTACT_UNSPECIFIED] = "",
        [KLAXON__CONTACT_KIND__CONTACT_WEBHOOK] = "webhook",
        [KLAXON__CONTACT_KIND__CONTACT_EXEC] = "exec",
        [KLAXON__CONTACT_KIND__CONTACT_EMAIL] = "email",
    };

    return c == NULL ? ""
                     : convert_name(names, sizeof names / sizeof names[0],
                                    (int)c->kind, "unknown");
}

static void fill_page(const void *msg, size_t i, void *dst, bool *bad)
{
    const Klaxon__Page *in = ((const Klaxon__PagesResult *)msg)->pages[i];
    struct klaxon_page *out = dst;

    out->id = in->id;
    out->incident_id = in->incident_id;
    out->kind = page_kind(in->kind);
    out->level = in->level;
    out->loop = in->loop;
    out->user = convert_str(in->user, bad);
    out->schedule = convert_str(in->schedule, bad);
    out->contact_kind = contact_kind(in->contact);
    out->contact_address =
        convert_str(in->contact != NULL ? in->contact->address : NULL, bad);
    out->state = page_state(in->state);
    out->attempts = in->attempts;
    out->created_ms = in->created_ms;
    out->finished_ms = in->finished_ms;
    out->error = convert_str(in->error, bad);
    out->shift_start_ms = in->shift_start_ms;
    out->shift_end_ms = in->shift_end_ms;
}

static void clear_page(void *item)
{
    struct klaxon_page *p = item;

    free(p->error);
    free(p->contact_address);
    free(p->schedule);
    free(p->user);
}

struct klaxon_page_list *convert_pages(const Klaxon__PagesResult *in)
{
    struct klaxon_page_list *l = calloc(1, sizeof *l);

    if (l != NULL) {
        l->items = convert_items(in, in->n_pages, sizeof *l->items, fill_page,
                                 clear_page, &l->n);
        if (l->n < in->n_pages) {
            free(l);
            l = NULL;
        }
    }
    return l;
}

void klaxon_page_list_free(struct klaxon_page_list *l)
{
    if (l != NULL) {
        free_items(l->items, l->n, sizeof *l->items, clear_page);
        free(l);
    }
}
