/*
 * Internals of the on-call configuration (server/oncall_*.c).
 *
 * The checks report a failure as the message and the YAML key it is
 * about, besides the "FIELD: REASON" text, so that the YAML parser can
 * point at the line the offending value came from.
 */
#ifndef KLAXON_ONCALL_CHECK_H
#define KLAXON_ONCALL_CHECK_H

#include "oncall_config.h"

#define ONCALL_FAULT_MAX 1024

struct oncall_fault
{
    const void *msg; /* the message holding the offending field */
    const void *alt; /* where to point if msg came from no YAML node */
    const char *key; /* the field's YAML key in msg; NULL: msg itself */
    long index;      /* item of a list value, -1: the whole value */
    char text[ONCALL_FAULT_MAX]; /* "FIELD: REASON" */
};

/* Every check of oncall_config_validate(). 0, or -1 with *f filled. */
int oncall_check(const Klaxon__OncallConfig *c, struct oncall_fault *f);

/* Fill the defaults of severity 1..4 into r (severity included). */
void oncall_rule_defaults(unsigned severity, Klaxon__SeverityRule *r);

#endif /* KLAXON_ONCALL_CHECK_H */
