#include "http_service.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "apply.h"

static const struct
{
    const char *word;
    uint32_t severity;
} default_table[] = {
    {"critical", 1},
    {"error", 2},
    {"warning", 3},
    {"info", 4},
};

static void view_of(const Klaxon__Service *s, struct service_view *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", s->name);
    for (size_t i = 0; i < s->n_event_severities && i < SERVICE_ALIASES_MAX;
         i++) {
        snprintf(out->alias[i].word, sizeof out->alias[i].word, "%s",
                 s->event_severities[i]->name);
        out->alias[i].severity = s->event_severities[i]->severity;
        out->n_alias++;
    }
    out->severity_default =
        s->event_severity_default != 0 ? s->event_severity_default : 2;
}

int service_find(struct node *n,
                 const char *key,
                 const char *name,
                 struct service_view *out)
{
    const Klaxon__OncallConfig *cfg = NULL;
    MDB_txn *txn;
    int rv = 1;

    if (mdb_txn_begin(n->store.env, NULL, MDB_RDONLY, &txn) != 0) {
        return -1;
    }
    if (apply_env_config(&n->fsm.env, txn, &n->store, &cfg) != 0 ||
        cfg == NULL) {
        mdb_txn_abort(txn);
        return -1;
    }
    for (size_t i = 0; i < cfg->n_services; i++) {
        const Klaxon__Service *s = cfg->services[i];
        bool match = key != NULL ? s->integration_key[0] != '\0' &&
                                       strcmp(s->integration_key, key) == 0
                                 : strcmp(s->name, name) == 0;
        if (match) {
            view_of(s, out);
            rv = 0;
            break;
        }
    }
    mdb_txn_abort(txn);
    return rv;
}

uint32_t service_severity(const struct service_view *v, const char *word)
{
    if (word != NULL && word[0] != '\0') {
        for (size_t i = 0; i < v->n_alias; i++) {
            if (strcasecmp(v->alias[i].word, word) == 0) {
                return v->alias[i].severity;
            }
        }
        for (size_t i = 0; v->n_alias == 0 &&
                           i < sizeof default_table / sizeof *default_table;
             i++) {
            if (strcasecmp(default_table[i].word, word) == 0) {
                return default_table[i].severity;
            }
        }
    }
    return v->severity_default;
}
