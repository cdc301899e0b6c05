/* On-call configuration, who is on call, and heartbeat monitors. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "client.h"
#include "convert.h"
#include "frame.h"
#include "klaxon.pb-c.h"
#include "request.h"

/* Send an apply request: a write, or with dry_run a plain request whose
 * answer may carry a MutationResult or no result at all. */
static int send_apply(klaxon_client *c,
                      Klaxon__Request *req,
                      struct klaxon_apply_result *out)
{
    Klaxon__Response *resp;
    int rv = req->apply_config->dry_run
                 ? call_run(c, req, CALL_LEADER, NULL, &resp)
                 : request_write(c, req, NULL, &resp);

    if (rv != KLAXON_OK) {
        return rv;
    }
    if (resp->result_case == KLAXON__RESPONSE__RESULT_MUTATION &&
        resp->mutation != NULL && out != NULL) {
        out->version = resp->mutation->config_version;
        out->unchanged = resp->mutation->unchanged;
    } else if (resp->result_case != KLAXON__RESPONSE__RESULT__NOT_SET &&
               resp->result_case != KLAXON__RESPONSE__RESULT_MUTATION) {
        return request_unexpected(c, resp);
    }
    klaxon__response__free_unpacked(resp, NULL);
    return KLAXON_OK;
}

int klaxon_apply_config(klaxon_client *c,
                        const char *file_name,
                        const char *yaml,
                        size_t len,
                        bool dry_run,
                        const char *by,
                        struct klaxon_apply_result *out)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__ApplyConfigRequest ap = KLAXON__APPLY_CONFIG_REQUEST__INIT;
    char msg[1200];
    int rv;

    if (out != NULL) {
        memset(out, 0, sizeof *out);
    }
    if (c == NULL) {
        return KLAXON_EINVAL;
    }
    if (check_apply(file_name, yaml, len, by, msg, sizeof msg) != KLAXON_OK) {
        return client_fail(c, KLAXON_EINVAL, "%s", msg);
    }
    ap.yaml = malloc(len + 1); /* protobuf-c strings end with a NUL */
    if (ap.yaml == NULL) {
        return client_fail(c, KLAXON_ENOMEM, "out of memory");
    }
    if (len > 0) {
        memcpy(ap.yaml, yaml, len);
    }
    ap.yaml[len] = '\0';
    ap.file_name = (char *)file_name;
    ap.dry_run = dry_run;
    ap.by = by != NULL ? (char *)by : "";
    req.op_case = KLAXON__REQUEST__OP_APPLY_CONFIG;
    req.apply_config = &ap;
    if (call_request_size(&req) + REQUEST_ID_BYTES > FRAME_MAX) {
        rv = client_fail(c, KLAXON_ETOOLARGE,
                         "yaml: %s is %zu bytes, too large for one request "
                         "(frame limit %u bytes)",
                         file_name, len, FRAME_MAX);
    } else {
        rv = send_apply(c, &req, out);
    }
    free(ap.yaml);
    return rv;
}

static void *config_of(const Klaxon__Response *resp)
{
    return convert_config(resp->config);
}

int klaxon_get_config(klaxon_client *c,
                      enum klaxon_read read,
                      struct klaxon_config **out)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__GetConfigRequest get = KLAXON__GET_CONFIG_REQUEST__INIT;
    void *res = NULL;
    int rv;

    if (c == NULL || out == NULL) {
        return KLAXON_EINVAL;
    }
    req.op_case = KLAXON__REQUEST__OP_GET_CONFIG;
    req.get_config = &get;
    rv = request_fetch(c, &req, read, KLAXON__RESPONSE__RESULT_CONFIG,
                       config_of, &res);
    *out = res;
    return rv;
}

static void *shifts_of(const Klaxon__Response *resp)
{
    return convert_shifts(resp->oncall);
}

int klaxon_oncall(klaxon_client *c,
                  const struct klaxon_oncall_query *q,
                  enum klaxon_read read,
                  struct klaxon_shift_list **out)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__OncallRequest oc = KLAXON__ONCALL_REQUEST__INIT;
    char msg[200];
    void *res = NULL;
    int rv;

    if (c == NULL || out == NULL) {
        return KLAXON_EINVAL;
    }
    *out = NULL;
    if (check_oncall_query(q, msg, sizeof msg) != KLAXON_OK) {
        return client_fail(c, KLAXON_EINVAL, "%s", msg);
    }
    if (q != NULL) {
        oc.schedule = q->schedule != NULL ? (char *)q->schedule : "";
        oc.at_ms = q->at_ms;
        oc.from_ms = q->from_ms;
        oc.to_ms = q->to_ms;
    }
    req.op_case = KLAXON__REQUEST__OP_ONCALL;
    req.oncall = &oc;
    rv = request_fetch(c, &req, read, KLAXON__RESPONSE__RESULT_ONCALL,
                       shifts_of, &res);
    *out = res;
    return rv;
}

int klaxon_heartbeat(klaxon_client *c, const char *name)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__HeartbeatRequest hb = KLAXON__HEARTBEAT_REQUEST__INIT;
    char msg[200];

    if (c == NULL) {
        return KLAXON_EINVAL;
    }
    if (check_monitor_name(name, msg, sizeof msg) != KLAXON_OK) {
        return client_fail(c, KLAXON_EINVAL, "%s", msg);
    }
    hb.name = (char *)name;
    req.op_case = KLAXON__REQUEST__OP_HEARTBEAT;
    req.heartbeat = &hb;
    return request_write_only(c, &req);
}

static void *monitors_of(const Klaxon__Response *resp)
{
    return convert_monitors(resp->monitors);
}

int klaxon_monitors(klaxon_client *c,
                    enum klaxon_read read,
                    struct klaxon_monitor_list **out)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__MonitorsRequest mr = KLAXON__MONITORS_REQUEST__INIT;
    void *res = NULL;
    int rv;

    if (c == NULL || out == NULL) {
        return KLAXON_EINVAL;
    }
    req.op_case = KLAXON__REQUEST__OP_MONITORS;
    req.monitors = &mr;
    rv = request_fetch(c, &req, read, KLAXON__RESPONSE__RESULT_MONITORS,
                       monitors_of, &res);
    *out = res;
    return rv;
}
