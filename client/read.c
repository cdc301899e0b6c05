/* Reads: get, list and node status. */
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "check.h"
#include "client.h"
#include "convert.h"
#include "klaxon.pb-c.h"

/* Run a read with the mode that `read` asks for. */
static int run_read(klaxon_client *c,
                    Klaxon__Request *req,
                    enum klaxon_read read,
                    Klaxon__Response **resp)
{
    if (read != KLAXON_READ_LINEARIZABLE && read != KLAXON_READ_STALE) {
        return client_fail(c, KLAXON_EINVAL, "read: unknown value %d",
                           (int)read);
    }
    req->stale = read == KLAXON_READ_STALE;
    return call_run(c, req, req->stale ? CALL_STALE : CALL_LEADER, NULL, resp);
}

static int unexpected(klaxon_client *c, Klaxon__Response *resp)
{
    klaxon__response__free_unpacked(resp, NULL);
    return client_fail(c, KLAXON_EPROTO, "node answered without the result");
}

int klaxon_get(klaxon_client *c,
               uint64_t incident_id,
               enum klaxon_read read,
               struct klaxon_incident **out)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__GetRequest get = KLAXON__GET_REQUEST__INIT;
    Klaxon__Response *resp;
    char msg[128];
    int rv;

    if (c == NULL || out == NULL) {
        return KLAXON_EINVAL;
    }
    *out = NULL;
    if (check_incident_id(incident_id, msg, sizeof msg) != KLAXON_OK) {
        return client_fail(c, KLAXON_EINVAL, "%s", msg);
    }
    get.incident_id = incident_id;
    req.op_case = KLAXON__REQUEST__OP_GET;
    req.get = &get;
    rv = run_read(c, &req, read, &resp);
    if (rv != KLAXON_OK) {
        return rv;
    }
    if (resp->result_case != KLAXON__RESPONSE__RESULT_GET ||
        resp->get == NULL || resp->get->incident == NULL) {
        return unexpected(c, resp);
    }
    *out = malloc(sizeof **out);
    rv = *out == NULL ? KLAXON_ENOMEM
                      : convert_incident(resp->get->incident, resp->get, *out);
    klaxon__response__free_unpacked(resp, NULL);
    if (rv != KLAXON_OK) {
        free(*out);
        *out = NULL;
        return client_fail(c, rv, "out of memory");
    }
    return KLAXON_OK;
}

static Klaxon__StatusFilter filter_of(enum klaxon_filter f)
{
    switch (f) {
        case KLAXON_FILTER_OPEN:
            return KLAXON__STATUS_FILTER__OPEN;
        case KLAXON_FILTER_TRIGGERED:
            return KLAXON__STATUS_FILTER__ONLY_TRIGGERED;
        case KLAXON_FILTER_ACKNOWLEDGED:
            return KLAXON__STATUS_FILTER__ONLY_ACKNOWLEDGED;
        case KLAXON_FILTER_RESOLVED:
            return KLAXON__STATUS_FILTER__ONLY_RESOLVED;
        default:
            return KLAXON__STATUS_FILTER__ANY;
    }
}

int klaxon_list(klaxon_client *c,
                const struct klaxon_list_query *q,
                enum klaxon_read read,
                struct klaxon_incident_list **out)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__ListRequest list = KLAXON__LIST_REQUEST__INIT;
    Klaxon__Response *resp;
    char msg[128];
    int rv;

    if (c == NULL || out == NULL) {
        return KLAXON_EINVAL;
    }
    *out = NULL;
    if (check_list_query(q, msg, sizeof msg) != KLAXON_OK) {
        return client_fail(c, KLAXON_EINVAL, "%s", msg);
    }
    if (q != NULL) {
        list.filter = filter_of(q->filter);
        list.service = q->service != NULL ? (char *)q->service : "";
        list.limit = q->limit;
        list.before_id = q->before_id;
    }
    req.op_case = KLAXON__REQUEST__OP_LIST;
    req.list = &list;
    rv = run_read(c, &req, read, &resp);
    if (rv != KLAXON_OK) {
        return rv;
    }
    if (resp->result_case != KLAXON__RESPONSE__RESULT_LIST ||
        resp->list == NULL) {
        return unexpected(c, resp);
    }
    *out = convert_list(resp->list);
    klaxon__response__free_unpacked(resp, NULL);
    if (*out == NULL) {
        return client_fail(c, KLAXON_ENOMEM, "out of memory");
    }
    return KLAXON_OK;
}

int klaxon_node_status(klaxon_client *c,
                       const char *endpoint,
                       struct klaxon_node_status **out)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__StatusRequest st = KLAXON__STATUS_REQUEST__INIT;
    Klaxon__Response *resp;
    struct endpoint ep = {0};
    char msg[200];
    int rv;

    if (c == NULL || out == NULL) {
        return KLAXON_EINVAL;
    }
    *out = NULL;
    if (endpoint != NULL) {
        rv = endpoint_parse(endpoint, &ep, msg, sizeof msg);
        if (rv != KLAXON_OK) {
            return client_fail(c, rv, "endpoint: %s", msg);
        }
    }
    req.op_case = KLAXON__REQUEST__OP_STATUS;
    req.status = &st;
    rv = call_run(c, &req, CALL_ONE, endpoint != NULL ? &ep : NULL, &resp);
    endpoint_clear(&ep);
    if (rv != KLAXON_OK) {
        return rv;
    }
    if (resp->result_case != KLAXON__RESPONSE__RESULT_STATUS ||
        resp->status == NULL) {
        return unexpected(c, resp);
    }
    *out = convert_status(resp->status);
    klaxon__response__free_unpacked(resp, NULL);
    if (*out == NULL) {
        return client_fail(c, KLAXON_ENOMEM, "out of memory");
    }
    return KLAXON_OK;
}
