/* Reads of incidents, and node status. */
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "check.h"
#include "client.h"
#include "convert.h"
#include "klaxon.pb-c.h"
#include "request.h"

/* An incident with its timeline, from a GetResult with its incident. */
static void *incident_of(const Klaxon__Response *resp)
{
    return convert_get(resp->get);
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
    void *res = NULL;
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
    rv = request_read(c, &req, read, &resp);
    if (rv != KLAXON_OK) {
        return rv;
    }
    if (resp->result_case == KLAXON__RESPONSE__RESULT_GET &&
        resp->get != NULL && resp->get->incident == NULL) {
        return request_unexpected(c, resp);
    }
    rv = request_convert(c, resp, KLAXON__RESPONSE__RESULT_GET, incident_of,
                         &res);
    *out = res;
    return rv;
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

static void *list_of(const Klaxon__Response *resp)
{
    return convert_list(resp->list);
}

int klaxon_list(klaxon_client *c,
                const struct klaxon_list_query *q,
                enum klaxon_read read,
                struct klaxon_incident_list **out)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__ListRequest list = KLAXON__LIST_REQUEST__INIT;
    char msg[128];
    void *res = NULL;
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
    rv = request_fetch(c, &req, read, KLAXON__RESPONSE__RESULT_LIST, list_of,
                       &res);
    *out = res;
    return rv;
}

static void *status_of(const Klaxon__Response *resp)
{
    return convert_status(resp->status);
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
    void *res = NULL;
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
    rv = request_convert(c, resp, KLAXON__RESPONSE__RESULT_STATUS, status_of,
                         &res);
    *out = res;
    return rv;
}
