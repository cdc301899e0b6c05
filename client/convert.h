/*
 * Conversion of the nodes' protobuf answers into the public structures,
 * which own deep copies of every string.
 */
#ifndef KLAXON_CLIENT_CONVERT_H
#define KLAXON_CLIENT_CONVERT_H

#include "klaxon.h"
#include "klaxon.pb-c.h"

/* Fill *out (zeroed first) from `in`; the timeline only when `g` is not
 * NULL. KLAXON_OK or KLAXON_ENOMEM (then *out holds nothing to free). */
int convert_incident(const Klaxon__Incident *in,
                     const Klaxon__GetResult *g,
                     struct klaxon_incident *out);

/* Release what convert_incident put into *i, not i itself. */
void convert_incident_clear(struct klaxon_incident *i);

/* A new list, or NULL when out of memory. */
struct klaxon_incident_list *convert_list(const Klaxon__ListResult *in);

/* A new status, or NULL when out of memory. */
struct klaxon_node_status *convert_status(const Klaxon__NodeStatus *in);

/* KLAXON_* status of a protobuf status. */
enum klaxon_status convert_status_code(Klaxon__Status s);

#endif /* KLAXON_CLIENT_CONVERT_H */
