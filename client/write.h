/*
 * Pieces of the incident writes (write.c) that the pipeline
 * (pipeline.c) builds its requests and results with.
 */
#ifndef KLAXON_CLIENT_WRITE_H
#define KLAXON_CLIENT_WRITE_H

#include <stddef.h>

#include "klaxon.h"
#include "klaxon.pb-c.h"

/* A TriggerRequest pointing into a klaxon_trigger (borrowed) and the
 * detail arrays it needs. */
struct trigger_msg
{
    Klaxon__TriggerRequest tr;
    Klaxon__Detail *details;
    Klaxon__Detail **ptrs;
};

/* Check t and build m: KLAXON_OK, or KLAXON_EINVAL / KLAXON_ENOMEM with
 * a message naming the field (m then needs no clearing). */
int trigger_msg_init(struct trigger_msg *m,
                     const struct klaxon_trigger *t,
                     char *msg,
                     size_t len);

void trigger_msg_clear(struct trigger_msg *m);

/* Fill *out from a node's result of a write. */
void write_result(const Klaxon__MutationResult *m, struct klaxon_result *out);

#endif /* KLAXON_CLIENT_WRITE_H */
