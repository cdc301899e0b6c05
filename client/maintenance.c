/* Maintenance windows and pages. */
#include <stdlib.h>

#include "check.h"
#include "client.h"
#include "convert.h"
#include "klaxon.pb-c.h"
#include "request.h"

int klaxon_maintenance_start(klaxon_client *c,
                             const struct klaxon_maintenance *m,
                             uint64_t *window_id)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__MaintenanceStartRequest ms =
        KLAXON__MAINTENANCE_START_REQUEST__INIT;
    Klaxon__Response *resp;
    char msg[200];
    int rv;

    if (window_id != NULL) {
        *window_id = 0;
    }
    if (c == NULL) {
        return KLAXON_EINVAL;
    }
    if (check_maintenance(m, msg, sizeof msg) != KLAXON_OK) {
        return client_fail(c, KLAXON_EINVAL, "%s", msg);
    }
    ms.service = (char *)m->service;
    ms.start_ms = m->start_ms;
    ms.end_ms = m->end_ms;
    ms.duration_ms = m->duration_ms;
    ms.reason = m->reason != NULL ? (char *)m->reason : "";
    ms.by = (char *)m->by;
    req.op_case = KLAXON__REQUEST__OP_MAINTENANCE_START;
    req.maintenance_start = &ms;
    rv = request_write(c, &req, NULL, &resp);
    if (rv != KLAXON_OK) {
        return rv;
    }
    if (window_id != NULL) {
        *window_id = resp->mutation->window_id;
    }
    klaxon__response__free_unpacked(resp, NULL);
    return KLAXON_OK;
}

int klaxon_maintenance_end(klaxon_client *c, uint64_t window_id, const char *by)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__MaintenanceEndRequest me = KLAXON__MAINTENANCE_END_REQUEST__INIT;
    char msg[200];

    if (c == NULL) {
        return KLAXON_EINVAL;
    }
    if (check_window_end(window_id, by, msg, sizeof msg) != KLAXON_OK) {
        return client_fail(c, KLAXON_EINVAL, "%s", msg);
    }
    me.window_id = window_id;
    me.by = (char *)by;
    req.op_case = KLAXON__REQUEST__OP_MAINTENANCE_END;
    req.maintenance_end = &me;
    return request_write_only(c, &req);
}

static void *windows_of(const Klaxon__Response *resp)
{
    return convert_windows(resp->maintenance);
}

int klaxon_maintenance_list(klaxon_client *c,
                            bool include_ended,
                            enum klaxon_read read,
                            struct klaxon_window_list **out)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__MaintenanceListRequest ml = KLAXON__MAINTENANCE_LIST_REQUEST__INIT;
    void *res = NULL;
    int rv;

    if (c == NULL || out == NULL) {
        return KLAXON_EINVAL;
    }
    ml.include_ended = include_ended;
    req.op_case = KLAXON__REQUEST__OP_MAINTENANCE_LIST;
    req.maintenance_list = &ml;
    rv = request_fetch(c, &req, read, KLAXON__RESPONSE__RESULT_MAINTENANCE,
                       windows_of, &res);
    *out = res;
    return rv;
}

static void *pages_of(const Klaxon__Response *resp)
{
    return convert_pages(resp->pages);
}

int klaxon_pages(klaxon_client *c,
                 uint64_t incident_id,
                 unsigned limit,
                 enum klaxon_read read,
                 struct klaxon_page_list **out)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__PagesRequest pr = KLAXON__PAGES_REQUEST__INIT;
    char msg[128];
    void *res = NULL;
    int rv;

    if (c == NULL || out == NULL) {
        return KLAXON_EINVAL;
    }
    *out = NULL;
    if (check_limit(limit, msg, sizeof msg) != KLAXON_OK) {
        return client_fail(c, KLAXON_EINVAL, "%s", msg);
    }
    pr.incident_id = incident_id;
    pr.limit = limit;
    req.op_case = KLAXON__REQUEST__OP_PAGES;
    req.pages = &pr;
    rv = request_fetch(c, &req, read, KLAXON__RESPONSE__RESULT_PAGES, pages_of,
                       &res);
    *out = res;
    return rv;
}
