#include "reload.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void differs(struct reload_plan *p, bool changed, const char *field)
{
    if (changed && p->n_restart < RELOAD_MAX_RESTART) {
        p->restart[p->n_restart++] = field;
    }
}

static bool members_differ(const struct config *a, const struct config *b)
{
    if (a->n_members != b->n_members) {
        return true;
    }
    for (unsigned i = 0; i < a->n_members; i++) {
        const struct config_member *x = &a->members[i];
        const struct config_member *y = &b->members[i];
        if (x->id != y->id || strcmp(x->raft_address, y->raft_address) != 0 ||
            strcmp(x->api_address, y->api_address) != 0) {
            return true;
        }
    }
    return false;
}

#define STR_DIFF(field) (strcmp(cur->field, next->field) != 0)
#define NUM_DIFF(field) (cur->field != next->field)

void reload_plan(const struct config *cur,
                 const struct config *next,
                 struct reload_plan *p)
{
    memset(p, 0, sizeof *p);
    differs(p, NUM_DIFF(id), "node.id");
    differs(p, STR_DIFF(data_dir), "node.data_dir");
    differs(p, STR_DIFF(raft_address), "node.raft_address");
    differs(p, STR_DIFF(api_address), "node.api_address");
    differs(p, STR_DIFF(raft_bind), "node.raft_bind");
    differs(p, STR_DIFF(api_bind), "node.api_bind");
    differs(p, members_differ(cur, next), "cluster.members");
    differs(p, NUM_DIFF(heartbeat_ms), "raft.heartbeat_timeout");
    differs(p, NUM_DIFF(election_ms), "raft.election_timeout");
    differs(p, NUM_DIFF(snapshot_threshold), "raft.snapshot_threshold");
    differs(p, NUM_DIFF(snapshot_trailing), "raft.snapshot_trailing");
    differs(p, NUM_DIFF(log_memory_mb), "raft.log_memory_mb");
    differs(p, NUM_DIFF(read_lease), "raft.read_lease");
    differs(p, NUM_DIFF(max_connections), "api.max_connections");
    differs(p, STR_DIFF(http_bind), "http.bind");
    differs(p, NUM_DIFF(http_max_body), "http.max_body");
    differs(p, NUM_DIFF(http_rate_limit), "http.rate_limit");
    differs(p, NUM_DIFF(http_max_connections), "http.max_connections");
    differs(p, NUM_DIFF(join), "cluster.join");
    differs(p, NUM_DIFF(limit_max_frame), "limits.max_frame");
    differs(p, NUM_DIFF(limit_max_handshakes), "limits.max_handshakes");
    differs(p, NUM_DIFF(limit_per_client), "limits.max_connections_per_client");
    differs(p, NUM_DIFF(limit_handshake_ms), "limits.handshake_timeout");
    differs(p, NUM_DIFF(limit_idle_ms), "limits.idle_timeout");
    differs(p, NUM_DIFF(limit_http_idle_ms), "limits.http_idle_timeout");
    differs(p, NUM_DIFF(limit_request_ms), "limits.request_timeout");
    differs(p, NUM_DIFF(limit_client_rate), "limits.client_rate");
    differs(p, NUM_DIFF(limit_state_mapped_mb), "limits.state_mapped_mb");
    differs(p,
            memcmp(cur->http_client_certs, next->http_client_certs,
                   sizeof cur->http_client_certs) != 0,
            "http.client_certs");
    p->tls_paths_changed =
        STR_DIFF(tls_ca) || STR_DIFF(tls_cert) || STR_DIFF(tls_key);
    p->log_level_changed = NUM_DIFF(log_level);
}

void reload_apply(struct config *cur, const struct config *next)
{
    memcpy(cur->tls_ca, next->tls_ca, sizeof cur->tls_ca);
    memcpy(cur->tls_cert, next->tls_cert, sizeof cur->tls_cert);
    memcpy(cur->tls_key, next->tls_key, sizeof cur->tls_key);
    cur->log_level = next->log_level;
}

static int readable(const char *field, const char *path, char *err, size_t n)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
        access(path, R_OK) != 0) {
        snprintf(err, n, "%s: cannot read %s", field, path);
        return -1;
    }
    return 0;
}

static int check_identity(SSL_CTX *ctx,
                          uint64_t id,
                          const char *cert_file,
                          char *err,
                          size_t errlen)
{
    struct tls_identity who;
    uint64_t cert_id = 0;

    if (tls_context_identity(ctx, &who) != 0 ||
        tls_node_id(&who, &cert_id) != 0 || cert_id != id) {
        snprintf(err, errlen,
                 "tls.cert: %s is not the certificate of node %llu "
                 "(subject CN=%s, OU=%s; expected CN=node-%llu, OU=node)",
                 cert_file, (unsigned long long)id, who.name, who.role,
                 (unsigned long long)id);
        return -1;
    }
    return 0;
}

int reload_tls_build(SSL_CTX *cur_peer,
                     SSL_CTX *cur_http,
                     uint64_t id,
                     const struct config *next,
                     struct reload_tls *out,
                     char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (readable("tls.ca", next->tls_ca, err, errlen) != 0 ||
        readable("tls.cert", next->tls_cert, err, errlen) != 0 ||
        readable("tls.key", next->tls_key, err, errlen) != 0) {
        return -1;
    }
    if (tls_context_renew(cur_peer, &out->peer, next->tls_ca, next->tls_cert,
                          next->tls_key, err, errlen) != 0) {
        return -1;
    }
    if (check_identity(out->peer, id, next->tls_cert, err, errlen) != 0) {
        goto err_after_peer;
    }
    if (tls_context_info(out->peer, &out->info) != 0) {
        snprintf(err, errlen, "tls.cert: %s: cannot read its subject or expiry",
                 next->tls_cert);
        goto err_after_peer;
    }
    if (cur_http != NULL &&
        tls_context_renew(cur_http, &out->http, next->tls_ca, next->tls_cert,
                          next->tls_key, err, errlen) != 0) {
        goto err_after_peer;
    }
    return 0;

err_after_peer:
    SSL_CTX_free(out->peer);
    out->peer = NULL;
    return -1;
}
