/* What the reports read from the applied on-call YAML (docs/ONCALL.md):
 * users' time zones, and the escalation policies that page a schedule. */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "reports.h"

/* The value of `key` in mapping `map`, or NULL. */
static yaml_node_t *map_get(yaml_document_t *d,
                            yaml_node_t *map,
                            const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE) {
        return NULL;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        if (k != NULL && k->type == YAML_SCALAR_NODE &&
            strcmp((const char *)k->data.scalar.value, key) == 0) {
            return yaml_document_get_node(d, p->value);
        }
    }
    return NULL;
}

/* The text of scalar `key` of `map`, or NULL. */
static const char *map_text(yaml_document_t *d,
                            yaml_node_t *map,
                            const char *key)
{
    yaml_node_t *v = map_get(d, map, key);

    return v != NULL && v->type == YAML_SCALAR_NODE
               ? (const char *)v->data.scalar.value
               : NULL;
}

/* The number of items of sequence `seq` (0 if it is none), and item k. */
static size_t seq_len(yaml_node_t *seq)
{
    return seq != NULL && seq->type == YAML_SEQUENCE_NODE
               ? (size_t)(seq->data.sequence.items.top -
                          seq->data.sequence.items.start)
               : 0;
}

static yaml_node_t *seq_item(yaml_document_t *d, yaml_node_t *seq, size_t k)
{
    return yaml_document_get_node(d, seq->data.sequence.items.start[k]);
}

static int add_zone(struct rpt_config *c, const char *user, const char *zone)
{
    struct rpt_zone *z = &c->zones[c->n_zones];

    z->user = strdup(user);
    z->zone = strdup(zone != NULL && zone[0] != '\0' ? zone : "UTC");
    if (z->user == NULL || z->zone == NULL) {
        free(z->user);
        free(z->zone);
        return -1;
    }
    c->n_zones++;
    return 0;
}

static int read_zones(yaml_document_t *d,
                      yaml_node_t *root,
                      struct rpt_config *c)
{
    yaml_node_t *users = map_get(d, root, "users");
    size_t n = seq_len(users);

    c->zones = calloc(n + 1, sizeof *c->zones);
    if (c->zones == NULL) {
        return -1;
    }
    for (size_t k = 0; k < n; k++) {
        yaml_node_t *u = seq_item(d, users, k);
        const char *id = map_text(d, u, "id");
        if (id != NULL && add_zone(c, id, map_text(d, u, "time_zone")) != 0) {
            return -1;
        }
    }
    return 0;
}

static bool names_schedule(yaml_document_t *d,
                           yaml_node_t *target,
                           const char *schedule)
{
    const char *type = map_text(d, target, "type");
    const char *id = map_text(d, target, "id");

    return type != NULL && id != NULL && strcmp(id, schedule) == 0 &&
           (strcmp(type, "schedule") == 0 ||
            strcmp(type, "schedule_next") == 0 ||
            strcmp(type, "schedule_previous") == 0);
}

/* Whether a level of `policy` targets the schedule. */
static bool pages_schedule(yaml_document_t *d,
                           yaml_node_t *policy,
                           const char *schedule)
{
    yaml_node_t *levels = map_get(d, policy, "levels");

    if (levels == NULL) {
        levels = map_get(d, policy, "escalation_rules");
    }
    for (size_t k = 0; k < seq_len(levels); k++) {
        yaml_node_t *targets = map_get(d, seq_item(d, levels, k), "targets");
        for (size_t t = 0; t < seq_len(targets); t++) {
            if (names_schedule(d, seq_item(d, targets, t), schedule)) {
                return true;
            }
        }
    }
    return false;
}

static int read_policies(yaml_document_t *d,
                         yaml_node_t *root,
                         const char *schedule,
                         struct rpt_config *c)
{
    yaml_node_t *policies = map_get(d, root, "escalation_policies");
    size_t n = seq_len(policies);

    c->policies = calloc(n + 1, sizeof *c->policies);
    if (c->policies == NULL) {
        return -1;
    }
    for (size_t k = 0; schedule != NULL && k < n; k++) {
        yaml_node_t *p = seq_item(d, policies, k);
        const char *id = map_text(d, p, "id");
        if (id == NULL || !pages_schedule(d, p, schedule)) {
            continue;
        }
        c->policies[c->n_policies] = strdup(id);
        if (c->policies[c->n_policies] == NULL) {
            return -1;
        }
        c->n_policies++;
    }
    return 0;
}

static int load(const char *yaml,
                size_t len,
                yaml_document_t *d,
                char *err,
                size_t errlen)
{
    yaml_parser_t p;
    int ok;

    if (!yaml_parser_initialize(&p)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)yaml, len);
    ok = yaml_parser_load(&p, d);
    if (!ok) {
        snprintf(err, errlen, "line %lu: %s",
                 (unsigned long)p.problem_mark.line + 1,
                 p.problem != NULL ? p.problem : "malformed YAML");
    }
    yaml_parser_delete(&p);
    return ok ? 0 : -1;
}

int rpt_config_parse(const char *yaml,
                     size_t len,
                     const char *schedule,
                     struct rpt_config *out,
                     char *err,
                     size_t errlen)
{
    yaml_document_t d;
    yaml_node_t *root;
    int rv;

    memset(out, 0, sizeof *out);
    if (load(yaml, len, &d, err, errlen) != 0) {
        return -1;
    }
    root = yaml_document_get_root_node(&d);
    rv = read_zones(&d, root, out);
    if (rv == 0) {
        rv = read_policies(&d, root, schedule, out);
    }
    yaml_document_delete(&d);
    if (rv != 0) {
        rpt_config_free(out);
        snprintf(err, errlen, "out of memory");
    }
    return rv;
}

void rpt_config_free(struct rpt_config *c)
{
    for (size_t k = 0; k < c->n_zones; k++) {
        free(c->zones[k].user);
        free(c->zones[k].zone);
    }
    for (size_t k = 0; k < c->n_policies; k++) {
        free(c->policies[k]);
    }
    free(c->zones);
    free(c->policies);
    memset(c, 0, sizeof *c);
}
