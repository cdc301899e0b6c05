/*
 * Conversion of the nodes' protobuf answers into the public structures,
 * which own deep copies of every string.
 */
#ifndef KLAXON_CLIENT_CONVERT_H
#define KLAXON_CLIENT_CONVERT_H

#include <stdbool.h>
#include <stddef.h>

#include "klaxon.h"
#include "klaxon.pb-c.h"

/* strdup that maps NULL to "" and sets *bad when out of memory. */
char *convert_str(const char *s, bool *bad);

/* names[value] for an enum value, or `unknown` outside the table. */
const char *convert_name(const char *const *names,
                         size_t n,
                         int value,
                         const char *unknown);

/* calloc of n items of `size` (NULL when n is 0); sets *bad when out of
 * memory. */
void *convert_array(size_t n, size_t size, bool *bad);

/* Fill *out (zeroed first) from `in`; the timeline only when `g` is not
 * NULL. KLAXON_OK or KLAXON_ENOMEM (then *out holds nothing to free). */
int convert_incident(const Klaxon__Incident *in,
                     const Klaxon__GetResult *g,
                     struct klaxon_incident *out);

/* A new incident with its timeline from a GetResult with its incident;
 * NULL when out of memory. */
struct klaxon_incident *convert_get(const Klaxon__GetResult *g);

/* Release what convert_incident put into *i, not i itself. */
void convert_incident_clear(struct klaxon_incident *i);

/* A new list, or NULL when out of memory. */
struct klaxon_incident_list *convert_list(const Klaxon__ListResult *in);

/* A new status, or NULL when out of memory. */
struct klaxon_node_status *convert_status(const Klaxon__NodeStatus *in);

/* KLAXON_* status of a protobuf status. */
enum klaxon_status convert_status_code(Klaxon__Status s);

/* New on-call structures (convert_oncall.c), or NULL when out of
 * memory. */
struct klaxon_config *convert_config(const Klaxon__ConfigResult *in);
struct klaxon_shift_list *convert_shifts(const Klaxon__OncallResult *in);
struct klaxon_monitor_list *convert_monitors(const Klaxon__MonitorsResult *in);
struct klaxon_window_list *convert_windows(
    const Klaxon__MaintenanceListResult *in);
struct klaxon_page_list *convert_pages(const Klaxon__PagesResult *in);

/* Copy n members into a new array *out (*n_out = n); sets *bad (and
 * leaves what was copied for convert_members_free) when out of memory. */
void convert_members(Klaxon__Member *const *in,
                     size_t n,
                     struct klaxon_member **out,
                     size_t *n_out,
                     bool *bad);

/* Free an array of convert_members. NULL is allowed. */
void convert_members_free(struct klaxon_member *m, size_t n);

#endif /* KLAXON_CLIENT_CONVERT_H */
