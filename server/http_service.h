/*
 * What the HTTPS endpoints need of a configured service: its name and how
 * senders' severity words map to 1..4 (event_severities), read from the
 * on-call configuration this node has applied.
 */
#ifndef KLAXON_HTTP_SERVICE_H
#define KLAXON_HTTP_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "field_limits.h"
#include "node.h"

#define SERVICE_ALIASES_MAX 32

struct service_view
{
    char name[LIMIT_SERVICE + 1];
    size_t n_alias;
    struct
    {
        char word[65];
        uint32_t severity;
    } alias[SERVICE_ALIASES_MAX];
    uint32_t severity_default; /* for unmapped words, 1..4 */
};

/*
 * Find the service whose integration_key is `key` (if key is not NULL) or
 * whose name is `name`. 0 found, 1 no such service, -1 no configuration
 * or the state could not be read.
 */
int service_find(struct node *n,
                 const char *key,
                 const char *name,
                 struct service_view *out);

/* The severity of `word` (case-insensitive; NULL or "" for none): the
 * service's table, else the default table (critical 1, error 2, warning
 * 3, info 4), else the service's default. */
uint32_t service_severity(const struct service_view *v, const char *word);

#endif /* KLAXON_HTTP_SERVICE_H */
