/* Client API: mutating requests, proposed through Raft by the leader. */
#include <stdio.h>
#include <string.h>

#include "api_check.h"
#include "api_req.h"
#include "field_limits.h"
#include "log.h"
#include "oncall_config.h"
#include "requests.h"
#include "validate.h"
#include "version.h"

static void write_done(struct node_op *op,
                       int code,
                       const struct apply_result *res)
{
    struct api_req *r = op->data;
    Klaxon__Response resp;
    Klaxon__MutationResult m;

    if (code != KLAXON__CODE__OK) {
        api_reply_error(r, code, api_code_message(code));
        api_req_free(r);
        return;
    }
    histogram_observe(&r->node->metrics.commit_latency,
                      (double)(uv_hrtime() - r->started_ns) / 1e9);
    api_response_init(&resp, r->req->seq);
    apply_result_to_proto(res, &m);
    resp.code = m.code;
    resp.message = m.message;
    resp.result_case = KLAXON__RESPONSE__RESULT_MUTATION;
    resp.mutation = &m;
    api_reply(r, &resp);
    api_req_free(r);
}

void api_log_refused(struct api_req *r, const char *what, const char *msg)
{
    log_info("api: refused %s from %s (%s): %s", what, r->who, r->remote, msg);
    (*r->n_refused)++;
}

static const char *config_name(const Klaxon__ApplyConfigRequest *a)
{
    return a->file_name[0] != '\0' ? a->file_name : "config";
}

/* Answer a dry run: the configuration parsed and validated. */
static void answer_dry_run(struct api_req *r)
{
    const char *name = config_name(r->req->apply_config);
    const Klaxon__OncallConfig *c = r->config;
    Klaxon__MutationResult m = KLAXON__MUTATION_RESULT__INIT;
    Klaxon__Response resp;
    char msg[256];

    snprintf(msg, sizeof msg,
             "%s is valid: %zu user(s), %zu schedule(s), %zu escalation "
             "policy(ies), %zu service(s), %zu heartbeat monitor(s)",
             name, c->n_users, c->n_schedules, c->n_escalation_policies,
             c->n_services, c->n_heartbeats);
    api_response_init(&resp, r->req->seq);
    m.message = msg;
    resp.message = msg;
    resp.result_case = KLAXON__RESPONSE__RESULT_MUTATION;
    resp.mutation = &m;
    api_reply(r, &resp);
}

/*
 * Parse the YAML of an apply_config request into sc. Returns OK, an error
 * code with msg, or API_DRY_RUN.
 */
static int prepare_apply(const Klaxon__Request *q,
                         const char *who,
                         Klaxon__Cluster__Command *c,
                         Klaxon__Cluster__SetConfig *sc,
                         Klaxon__OncallConfig **config,
                         char *msg,
                         size_t len)
{
    const Klaxon__ApplyConfigRequest *a = q->apply_config;
    size_t n = strlen(a->yaml);

    if (n > LIMIT_CONFIG_YAML) {
        snprintf(msg, len, "yaml: %zu bytes, at most %u", n, LIMIT_CONFIG_YAML);
        return KLAXON__CODE__TOO_LARGE;
    }
    if (oncall_config_parse(config_name(a), a->yaml, n, config, msg, len) !=
        0) {
        return KLAXON__CODE__INVALID_ARGUMENT;
    }
    if (a->dry_run) {
        return API_DRY_RUN;
    }
    klaxon__cluster__set_config__init(sc);
    sc->config = *config;
    sc->file_name = (char *)config_name(a);
    sc->yaml = a->yaml;
    sc->by = a->by[0] != '\0' ? a->by : (char *)who;
    c->op_case = KLAXON__CLUSTER__COMMAND__OP_SET_CONFIG;
    c->set_config = sc;
    return KLAXON__CODE__OK;
}

/* Fill c from the request: OK, an error code with msg, or API_DRY_RUN. */
static int make_command(const Klaxon__Request *q,
                        const char *who,
                        Klaxon__Cluster__Command *c,
                        Klaxon__Cluster__SetConfig *sc,
                        Klaxon__OncallConfig **config,
                        char *msg,
                        size_t len)
{
    klaxon__cluster__command__init(c);
    c->request_id = q->request_id;
    switch (q->op_case) {
        case KLAXON__REQUEST__OP_TRIGGER:
            c->op_case = KLAXON__CLUSTER__COMMAND__OP_TRIGGER;
            c->trigger = q->trigger;
            break;
        case KLAXON__REQUEST__OP_ACK:
            c->op_case = KLAXON__CLUSTER__COMMAND__OP_ACK;
            c->ack = q->ack;
            break;
        case KLAXON__REQUEST__OP_RESOLVE:
            c->op_case = KLAXON__CLUSTER__COMMAND__OP_RESOLVE;
            c->resolve = q->resolve;
            break;
        case KLAXON__REQUEST__OP_NOTE:
            c->op_case = KLAXON__CLUSTER__COMMAND__OP_NOTE;
            c->note = q->note;
            break;
        case KLAXON__REQUEST__OP_HEARTBEAT:
            c->op_case = KLAXON__CLUSTER__COMMAND__OP_HEARTBEAT;
            c->heartbeat = q->heartbeat;
            break;
        case KLAXON__REQUEST__OP_MAINTENANCE_START:
            c->op_case = KLAXON__CLUSTER__COMMAND__OP_MAINTENANCE_START;
            c->maintenance_start = q->maintenance_start;
            break;
        case KLAXON__REQUEST__OP_MAINTENANCE_END:
            c->op_case = KLAXON__CLUSTER__COMMAND__OP_MAINTENANCE_END;
            c->maintenance_end = q->maintenance_end;
            break;
        case KLAXON__REQUEST__OP_STATUS_UPDATE:
            c->op_case = KLAXON__CLUSTER__COMMAND__OP_STATUS_UPDATE;
            c->status_update = q->status_update;
            break;
        case KLAXON__REQUEST__OP_APPLY_CONFIG:
            return prepare_apply(q, who, c, sc, config, msg, len);
        default:
            snprintf(msg, len, "op: not a write operation");
            return KLAXON__CODE__INVALID_ARGUMENT;
    }
    return KLAXON__CODE__OK;
}

/*
 * On the leader: OK when every member that applies entries has announced
 * an apply version of at least need (version.h), so no node will stop at
 * this command. A member not heard from since this node started makes
 * the answer UNAVAILABLE (retry); one with a lower version UNSUPPORTED.
 */
static int check_cluster_version(struct node *n,
                                 uint32_t need,
                                 char *msg,
                                 size_t len)
{
    const struct raft_configuration *conf = &n->raft.configuration;

    if (need <= 1 || raft_state(&n->raft) != RAFT_LEADER) {
        return KLAXON__CODE__OK;
    }
    for (unsigned i = 0; i < conf->n; i++) {
        const struct raft_server *s = &conf->servers[i];
        unsigned v = s->id == n->cfg->id
                         ? APPLY_VERSION
                         : transport_peer_version(&n->transport, s->id);
        if (s->role == RAFT_SPARE || v >= need) {
            continue;
        }
        if (v == 0) {
            snprintf(msg, len,
                     "this operation needs apply version %u and node %llu "
                     "has not announced its version yet; retry",
                     (unsigned)need, (unsigned long long)s->id);
            return KLAXON__CODE__UNAVAILABLE;
        }
        snprintf(msg, len,
                 "this operation needs apply version %u but node %llu "
                 "applies up to version %u: upgrade every node first",
                 (unsigned)need, (unsigned long long)s->id, v);
        return KLAXON__CODE__UNSUPPORTED;
    }
    return KLAXON__CODE__OK;
}

int api_check_version(struct node *n,
                      Klaxon__Cluster__Command *cmd,
                      char *msg,
                      size_t len)
{
    uint32_t need = command_version(cmd);

    if (need > APPLY_VERSION) {
        snprintf(msg, len,
                 "this operation needs apply version %u but node %llu (this "
                 "node) applies up to version %u: upgrade every node first",
                 (unsigned)need, (unsigned long long)n->cfg->id,
                 (unsigned)APPLY_VERSION);
        return KLAXON__CODE__UNSUPPORTED;
    }
    cmd->min_version = need;
    return check_cluster_version(n, need, msg, len);
}

int api_write_command(const Klaxon__Request *q,
                      const char *who,
                      Klaxon__Cluster__Command *c,
                      Klaxon__Cluster__SetConfig *sc,
                      Klaxon__OncallConfig **config,
                      char *msg,
                      size_t len)
{
    int rv = make_command(q, who, c, sc, config, msg, len);
    if (rv == KLAXON__CODE__OK) {
        rv = validate_command(c, msg, len);
    }
    return rv;
}

void api_handle_write(struct api_req *r)
{
    char msg[512];
    int rv = api_write_command(r->req, r->who, &r->cmd, &r->set_config,
                               &r->config, msg, sizeof msg);

    if (rv == API_DRY_RUN) {
        answer_dry_run(r);
        api_req_free(r);
        return;
    }
    if (rv == KLAXON__CODE__OK) {
        rv = api_check_version(r->node, &r->cmd, msg, sizeof msg);
    }
    if (rv != KLAXON__CODE__OK) {
        api_log_refused(r, "write", msg);
        api_reply_error(r, rv, msg);
        api_req_free(r);
        return;
    }
    r->op.cmd = &r->cmd;
    r->op.cb = write_done;
    r->op.data = r;
    rv = node_submit(r->node, &r->op);
    if (rv != 0) {
        api_reply_error(r, rv, api_code_message(rv));
        api_req_free(r);
    }
}
