/*
 * Authorization: which caller may do which request. Every request of the
 * client API and of the HTTPS endpoint passes authz_check() before any
 * other work (api_req_dispatch()), so this file is the one place that
 * decides.
 *
 * A caller is a principal: a role, a name for logs and messages, and for
 * senders and integration keys the services they may trigger.
 *
 *   sender       trigger, heartbeat check-in, reads (incidents, on-call,
 *                maintenance windows, pages, monitors, status)
 *   responder    + ack, resolve, note, status update, maintenance
 *                start/end, the configuration in force (get_config)
 *   admin        + apply_config and every operation not listed here
 *                (cluster membership, snapshots, leader transfer, log
 *                level...): an operation added to klaxon.proto is
 *                admin-only until this table says otherwise
 *   node         what forwarding needs: a follower's HTTPS endpoint sends
 *                its callers' requests to the leader with the node's
 *                certificate, after authorizing them itself; a node may do
 *                what a responder may, never an admin-only operation
 *   integration  a PagerDuty routing key or an Alertmanager path key of one
 *                service: trigger, and acknowledge/resolve by dedup key,
 *                of that service only
 *
 * A client certificate's role is its subject OU. The legacy OU "client"
 * (certificates made before roles existed) is an admin, with a warning
 * logged once per certificate name; it is deprecated.
 *
 * Services: a sender certificate may list the services it may trigger as
 * subjectAltName URIs urn:klaxon:service:<name>. With none listed, it may
 * trigger every service. With some listed, a trigger, or a heartbeat
 * check-in of a monitor, for another service is refused.
 *
 * Refusals are PERMISSION_DENIED with a message naming the role (or the
 * service) needed; authz_log_refusal() writes one log line per refusal,
 * at most AUTHZ_LOG_BURST per AUTHZ_LOG_WINDOW_MS, naming the principal
 * by name only (never a key or a token).
 */
#ifndef KLAXON_AUTHZ_H
#define KLAXON_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "klaxon.pb-c.h"
#include "tls.h"

#define AUTHZ_LOG_BURST 20
#define AUTHZ_LOG_WINDOW_MS 10000
#define AUTHZ_LEGACY_NAMES 64 /* names warned about, at most */

enum authz_role {
    AUTHZ_NONE = 0, /* not a role we know: refused */
    AUTHZ_SENDER,
    AUTHZ_RESPONDER,
    AUTHZ_ADMIN,
    AUTHZ_NODE,
    AUTHZ_INTEGRATION,
};

struct authz_principal
{
    enum authz_role role;
    const char *name; /* CN, user id, or the integration's actor */
    bool legacy;      /* OU "client" */
    /* sender: the services it may trigger, none = all; integration: its
     * one service. Pointers into storage the caller keeps alive while
     * the principal is in use. */
    unsigned n_services;
    const char *services[TLS_MAX_SERVICES];
};

/* The role of a certificate OU ("sender", ..., "node"; "client" is
 * AUTHZ_ADMIN with *legacy set). AUTHZ_NONE for anything else. */
enum authz_role authz_role_of(const char *ou, bool *legacy);

/* "sender", "responder", "admin", "node", "integration", "none". */
const char *authz_role_name(enum authz_role role);

/* A principal from a verified certificate identity (which must outlive
 * it). The role is AUTHZ_NONE if the OU is not a role. */
void authz_from_identity(const struct tls_identity *id,
                         struct authz_principal *p);

/* A principal of a role without service limits (bearer-token users). */
void authz_from_role(enum authz_role role,
                     const char *name,
                     struct authz_principal *p);

/* An integration key's principal: `service` is the key's service. */
void authz_integration(const char *actor,
                       const char *service,
                       struct authz_principal *p);

/* The lowest of sender < responder < admin that may do op. Every op not
 * explicitly listed (new ones included) is AUTHZ_ADMIN. */
enum authz_role authz_min_role(Klaxon__Request__OpCase op);

/* The request's op as named in klaxon.proto ("trigger", "apply_config",
 * ...), or "unknown operation". */
const char *authz_op_name(Klaxon__Request__OpCase op);

/* The service a heartbeat monitor belongs to in the configuration in
 * force, copied into buf: 0, or -1 if unknown. */
typedef int (*authz_monitor_service_fn)(void *arg,
                                        const char *monitor,
                                        char *buf,
                                        size_t len);

/*
 * May p make request q? KLAXON__CODE__OK, or KLAXON__CODE__PERMISSION_DENIED
 * with msg saying what role or service was needed. monitor_service (may be
 * NULL: then a service-limited heartbeat is refused) is asked only for a
 * heartbeat of a service-limited sender.
 */
int authz_check(const struct authz_principal *p,
                const Klaxon__Request *q,
                authz_monitor_service_fn monitor_service,
                void *arg,
                char *msg,
                size_t len);

/* Log one refusal ("authz: refused OP from NAME (ROLE, REMOTE): MSG"),
 * rate-limited; a line after a quiet spell says how many were not
 * logged. now_ms: any monotonic clock. */
void authz_log_refusal(const struct authz_principal *p,
                       const char *remote,
                       const char *msg,
                       uint64_t now_ms);

/* Warn that p uses a legacy "client" certificate, once per name. */
void authz_warn_legacy(const struct authz_principal *p, const char *remote);

#endif /* KLAXON_AUTHZ_H */
