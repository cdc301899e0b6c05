/*
 * What a SIGHUP reloads. klaxond re-reads its configuration file and
 * applies what can change while it runs: the node certificate, its key
 * and the CA bundle (tls.*), and log.level. Everything else (node id,
 * addresses, data directory, members, timeouts, limits) is only compared:
 * a difference is reported as needing a restart and is not applied.
 *
 * reload_plan() and reload_apply() are pure; reload_tls_build() reads the
 * certificate files and builds the new contexts without touching the
 * running ones, so that a failure changes nothing.
 */
#ifndef KLAXON_RELOAD_H
#define KLAXON_RELOAD_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "tls.h"

#define RELOAD_MAX_RESTART 32

struct reload_plan
{
    /* Fields (as named in klaxond.yaml) whose new value differs from the
     * running one and can only take effect after a restart. */
    const char *restart[RELOAD_MAX_RESTART];
    unsigned n_restart;
    bool tls_paths_changed; /* tls.ca, tls.cert or tls.key names another file */
    bool log_level_changed;
};

/* Compare the running configuration cur with next. */
void reload_plan(const struct config *cur,
                 const struct config *next,
                 struct reload_plan *plan);

/* Copy what can change at runtime (tls.* paths, log.level) from next to
 * cur; nothing else of cur changes. */
void reload_apply(struct config *cur, const struct config *next);

struct reload_tls
{
    SSL_CTX *peer; /* Raft, client API and forwarding; the caller's ref */
    SSL_CTX *http; /* the HTTPS port's, NULL if it has none; caller's ref */
    struct tls_info info; /* of the new node certificate */
};

/*
 * Build the contexts of next's tls.* files with the settings of the
 * running ones (cur_http may be NULL: no HTTPS port), and check them: the
 * files are readable, the key matches the certificate, the certificate
 * verifies against the new CA bundle and is the one of node `id`. 0, or
 * -1 with a message naming the field, the file and why, and nothing built.
 */
int reload_tls_build(SSL_CTX *cur_peer,
                     SSL_CTX *cur_http,
                     uint64_t id,
                     const struct config *next,
                     struct reload_tls *out,
                     char *err,
                     size_t errlen);

#endif /* KLAXON_RELOAD_H */
