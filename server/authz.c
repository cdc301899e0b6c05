#include "authz.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

static const struct
{
    const char *ou;
    enum authz_role role;
} ROLES[] = {
    {"sender", AUTHZ_SENDER},       {"responder", AUTHZ_RESPONDER},
    {"admin", AUTHZ_ADMIN},         {TLS_ROLE_NODE, AUTHZ_NODE},
    {TLS_ROLE_CLIENT, AUTHZ_ADMIN},
};

enum authz_role authz_role_of(const char *ou, bool *legacy)
{
    *legacy = false;
    for (size_t i = 0; i < sizeof ROLES / sizeof ROLES[0]; i++) {
        if (strcmp(ou, ROLES[i].ou) == 0) {
            *legacy = strcmp(ou, TLS_ROLE_CLIENT) == 0;
            return ROLES[i].role;
        }
    }
    return AUTHZ_NONE;
}

const char *authz_role_name(enum authz_role role)
{
    switch (role) {
        case AUTHZ_SENDER:
            return "sender";
        case AUTHZ_RESPONDER:
            return "responder";
        case AUTHZ_ADMIN:
            return "admin";
        case AUTHZ_NODE:
            return "node";
        case AUTHZ_INTEGRATION:
            return "integration";
        default:
            return "none";
    }
}

void authz_from_identity(const struct tls_identity *id,
                         struct authz_principal *p)
{
    memset(p, 0, sizeof *p);
    p->role = authz_role_of(id->role, &p->legacy);
    p->name = id->name;
    if (p->role == AUTHZ_SENDER) {
        p->n_services = id->n_services;
        for (unsigned i = 0; i < id->n_services; i++) {
            p->services[i] = id->services[i];
        }
    }
}

void authz_from_role(enum authz_role role,
                     const char *name,
                     struct authz_principal *p)
{
    memset(p, 0, sizeof *p);
    p->role = role;
    p->name = name;
}

void authz_integration(const char *actor,
                       const char *service,
                       struct authz_principal *p)
{
    authz_from_role(AUTHZ_INTEGRATION, actor, p);
    p->n_services = 1;
    p->services[0] = service;
}

/*
 * The table. Reads and sending alerts: sender. Handling incidents and
 * maintenance: responder. Everything else, and every op added later
 * until it is listed here: admin.
 */
enum authz_role authz_min_role(Klaxon__Request__OpCase op)
{
    switch (op) {
        case KLAXON__REQUEST__OP_TRIGGER:
        case KLAXON__REQUEST__OP_HEARTBEAT:
        case KLAXON__REQUEST__OP_GET:
        case KLAXON__REQUEST__OP_LIST:
        case KLAXON__REQUEST__OP_STATUS:
        case KLAXON__REQUEST__OP_ONCALL:
        case KLAXON__REQUEST__OP_MAINTENANCE_LIST:
        case KLAXON__REQUEST__OP_PAGES:
        case KLAXON__REQUEST__OP_MONITORS:
            return AUTHZ_SENDER;
        case KLAXON__REQUEST__OP_ACK:
        case KLAXON__REQUEST__OP_RESOLVE:
        case KLAXON__REQUEST__OP_NOTE:
        case KLAXON__REQUEST__OP_STATUS_UPDATE:
        case KLAXON__REQUEST__OP_MAINTENANCE_START:
        case KLAXON__REQUEST__OP_MAINTENANCE_END:
        /* the configuration holds every user's contact details */
        case KLAXON__REQUEST__OP_GET_CONFIG:
            return AUTHZ_RESPONDER;
        default:
            return AUTHZ_ADMIN;
    }
}

const char *authz_op_name(Klaxon__Request__OpCase op)
{
    const ProtobufCFieldDescriptor *f =
        op != KLAXON__REQUEST__OP__NOT_SET
            ? protobuf_c_message_descriptor_get_field(
                  &klaxon__request__descriptor, (unsigned)op)
            : NULL;
    return f != NULL && (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0
               ? f->name
               : "unknown operation";
}

/* Rank of a user role for the table; node counts as a responder. */
static int rank(enum authz_role role)
{
    switch (role) {
        case AUTHZ_SENDER:
            return 1;
        case AUTHZ_RESPONDER:
        case AUTHZ_NODE:
            return 2;
        case AUTHZ_ADMIN:
            return 3;
        default:
            return 0;
    }
}

static const char *roles_from(enum authz_role min)
{
    switch (min) {
        case AUTHZ_SENDER:
            return "the sender, responder or admin role";
        case AUTHZ_RESPONDER:
            return "the responder or admin role";
        default:
            return "the admin role";
    }
}

static bool allowed_service(const struct authz_principal *p, const char *s)
{
    for (unsigned i = 0; i < p->n_services; i++) {
        if (strcmp(p->services[i], s) == 0) {
            return true;
        }
    }
    return false;
}

static void list_services(const struct authz_principal *p,
                          char *buf,
                          size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (unsigned i = 0; i < p->n_services && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i > 0 ? ", " : "",
                         p->services[i]);
        if (n < 0) {
            break;
        }
        used += (size_t)n;
    }
}

static int deny_service(const struct authz_principal *p,
                        const char *what,
                        const char *service,
                        char *msg,
                        size_t len)
{
    char allowed[256];

    list_services(p, allowed, sizeof allowed);
    snprintf(msg, len,
             "%s for service \"%.128s\" refused: %s \"%.128s\" may only "
             "use %s",
             what, service, authz_role_name(p->role), p->name, allowed);
    return KLAXON__CODE__PERMISSION_DENIED;
}

/* A service-limited sender: the service of its trigger or heartbeat. */
static int check_sender_service(const struct authz_principal *p,
                                const Klaxon__Request *q,
                                authz_monitor_service_fn monitor_service,
                                void *arg,
                                char *msg,
                                size_t len)
{
    char service[TLS_SERVICE_MAX + 1];

    if (p->n_services == 0) {
        return KLAXON__CODE__OK;
    }
    if (q->op_case == KLAXON__REQUEST__OP_TRIGGER) {
        if (q->trigger == NULL || allowed_service(p, q->trigger->service)) {
            return KLAXON__CODE__OK;
        }
        return deny_service(p, "trigger", q->trigger->service, msg, len);
    }
    if (q->op_case != KLAXON__REQUEST__OP_HEARTBEAT || q->heartbeat == NULL) {
        return KLAXON__CODE__OK;
    }
    if (monitor_service == NULL ||
        monitor_service(arg, q->heartbeat->name, service, sizeof service) !=
            0) {
        snprintf(msg, len,
                 "heartbeat: monitor \"%.128s\" is not configured, so "
                 "sender \"%.128s\", limited to its services, may not "
                 "check it in",
                 q->heartbeat->name, p->name);
        return KLAXON__CODE__PERMISSION_DENIED;
    }
    if (allowed_service(p, service)) {
        return KLAXON__CODE__OK;
    }
    return deny_service(p, "heartbeat", service, msg, len);
}

/* An integration key: trigger, or ack/resolve by dedup key, of its own
 * service. */
static int check_integration(const struct authz_principal *p,
                             const Klaxon__Request *q,
                             char *msg,
                             size_t len)
{
    const char *service = NULL;
    bool by_key = false;

    switch (q->op_case) {
        case KLAXON__REQUEST__OP_TRIGGER:
            service = q->trigger != NULL ? q->trigger->service : NULL;
            by_key = true;
            break;
        case KLAXON__REQUEST__OP_ACK:
            service = q->ack != NULL ? q->ack->service : NULL;
            by_key = q->ack != NULL && q->ack->incident_id == 0 &&
                     q->ack->token[0] == '\0';
            break;
        case KLAXON__REQUEST__OP_RESOLVE:
            service = q->resolve != NULL ? q->resolve->service : NULL;
            by_key = q->resolve != NULL && q->resolve->incident_id == 0;
            break;
        default:
            break;
    }
    if (service == NULL || !by_key) {
        snprintf(msg, len,
                 "%s: an integration key may only trigger, acknowledge or "
                 "resolve its service's alerts by dedup key",
                 authz_op_name(q->op_case));
        return KLAXON__CODE__PERMISSION_DENIED;
    }
    if (p->n_services != 1 || strcmp(p->services[0], service) != 0) {
        return deny_service(p, authz_op_name(q->op_case), service, msg, len);
    }
    return KLAXON__CODE__OK;
}

int authz_check(const struct authz_principal *p,
                const Klaxon__Request *q,
                authz_monitor_service_fn monitor_service,
                void *arg,
                char *msg,
                size_t len)
{
    enum authz_role min = authz_min_role(q->op_case);

    if (p->role == AUTHZ_INTEGRATION) {
        return check_integration(p, q, msg, len);
    }
    if (rank(p->role) < rank(min) || rank(p->role) == 0) {
        snprintf(msg, len, "%s needs %s; \"%.128s\" has the %s role",
                 authz_op_name(q->op_case), roles_from(min), p->name,
                 authz_role_name(p->role));
        return KLAXON__CODE__PERMISSION_DENIED;
    }
    if (p->role == AUTHZ_SENDER) {
        return check_sender_service(p, q, monitor_service, arg, msg, len);
    }
    return KLAXON__CODE__OK;
}

/* --- logging ------------------------------------------------------------ */

static struct
{
    uint64_t window_start_ms;
    unsigned logged;     /* in the current window */
    uint64_t suppressed; /* not logged since the last line */
} refusals;

void authz_log_refusal(const struct authz_principal *p,
                       const char *remote,
                       const char *msg,
                       uint64_t now_ms)
{
    char more[64] = "";

    if (refusals.logged == 0 ||
        now_ms - refusals.window_start_ms >= AUTHZ_LOG_WINDOW_MS) {
        refusals.window_start_ms = now_ms;
        refusals.logged = 0;
    }
    if (refusals.logged >= AUTHZ_LOG_BURST) {
        refusals.suppressed++;
        return;
    }
    refusals.logged++;
    if (refusals.suppressed > 0) {
        snprintf(more, sizeof more, " (%llu earlier refusal(s) not logged)",
                 (unsigned long long)refusals.suppressed);
        refusals.suppressed = 0;
    }
    log_info("authz: refused %s (%s, %s): %s%s", p->name,
             authz_role_name(p->role), remote, msg, more);
}

static struct
{
    unsigned n;
    char names[AUTHZ_LEGACY_NAMES][sizeof((struct tls_identity *)0)->name];
} legacy;

void authz_warn_legacy(const struct authz_principal *p, const char *remote)
{
    for (unsigned i = 0; i < legacy.n; i++) {
        if (strcmp(legacy.names[i], p->name) == 0) {
            return;
        }
    }
    if (legacy.n == AUTHZ_LEGACY_NAMES) {
        return;
    }
    snprintf(legacy.names[legacy.n], sizeof legacy.names[legacy.n], "%s",
             p->name);
    legacy.n++;
    log_warn(
        "authz: %s (%s) uses a certificate with the deprecated OU "
        "\"client\", treated as admin; issue it a role (OU sender, "
        "responder or admin: deploy/gen-certs.sh --client %s:admin)",
        p->name, remote, p->name);
}
