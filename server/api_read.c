/*
 * Client API: reads. Linearizable by default (the leader serves them under
 * its read lease or after a Raft barrier, node_read); with `stale` the
 * local state answers at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_req.h"
#include "field_limits.h"
#include "frame.h"
#include "incident.h"
#include "log.h"
#include "maintenance.h"
#include "monitor.h"
#include "oncall_config.h"
#include "oncall_state.h"
#include "paging.h"
#include "schedule.h"

#define SHIFTS_MAX 1000
#define SHIFT_RANGE_MAX_MS (366ll * 24 * 3600 * 1000)
#define SHIFT_HORIZON_MS (35ll * 24 * 3600 * 1000)

static struct store *req_store(struct api_req *r)
{
    return &r->node->store;
}

static void send_internal(struct api_req *r, const char *what, int rv)
{
    log_error("api: %s: %s", what, mdb_strerror(rv));
    api_reply_error(r, KLAXON__CODE__INTERNAL, mdb_strerror(rv));
}

static void serve_get(struct api_req *r, MDB_txn *txn)
{
    Klaxon__Response resp = KLAXON__RESPONSE__INIT;
    uint64_t id = r->req->get->incident_id;
    Klaxon__GetResult *res = NULL;
    char msg[128];
    int rv = incident_get(txn, req_store(r), id, &res);

    if (rv == MDB_NOTFOUND) {
        snprintf(msg, sizeof msg, "incident %llu not found",
                 (unsigned long long)id);
        api_reply_error(r, KLAXON__CODE__NOT_FOUND, msg);
        return;
    }
    if (rv != 0) {
        send_internal(r, "get", rv);
        return;
    }
    resp.result_case = KLAXON__RESPONSE__RESULT_GET;
    resp.get = res;
    api_reply(r, &resp);
    klaxon__get_result__free_unpacked(res, NULL);
}

static void serve_list(struct api_req *r, MDB_txn *txn)
{
    Klaxon__Response resp = KLAXON__RESPONSE__INIT;
    const Klaxon__ListRequest *q = r->req->list;
    Klaxon__ListResult *res = NULL;
    char msg[160];
    int rv;

    if ((unsigned)q->filter > KLAXON__STATUS_FILTER__ONLY_RESOLVED) {
        snprintf(msg, sizeof msg, "filter: unknown value %d", q->filter);
        api_reply_error(r, KLAXON__CODE__INVALID_ARGUMENT, msg);
        return;
    }
    rv = incident_list(txn, req_store(r), q, &res);
    if (rv != 0) {
        send_internal(r, "list", rv);
        return;
    }
    resp.result_case = KLAXON__RESPONSE__RESULT_LIST;
    resp.list = res;
    api_reply(r, &resp);
    klaxon__list_result__free_unpacked(res, NULL);
}

/* The stored configuration, or NULL (none applied, or answered already
 * with an error). */
static Klaxon__Cluster__StoredConfig *stored_config(struct api_req *r,
                                                    MDB_txn *txn)
{
    Klaxon__Cluster__StoredConfig *sc = NULL;
    int rv = oncall_stored(txn, req_store(r), &sc);

    if (rv != 0 && rv != MDB_NOTFOUND) {
        send_internal(r, "config", rv);
    }
    return rv == 0 ? sc : NULL;
}

static void serve_config(struct api_req *r, MDB_txn *txn)
{
    Klaxon__Response resp = KLAXON__RESPONSE__INIT;
    Klaxon__ConfigResult cr = KLAXON__CONFIG_RESULT__INIT;
    Klaxon__Cluster__StoredConfig *sc = NULL;
    int rv = oncall_stored(txn, req_store(r), &sc);

    if (rv != 0 && rv != MDB_NOTFOUND) {
        send_internal(r, "config", rv);
        return;
    }
    if (rv == 0) {
        cr.version = sc->version;
        cr.file_name = sc->file_name;
        cr.yaml = sc->yaml;
        cr.applied_ms = sc->applied_ms;
        cr.applied_by = sc->applied_by;
        cr.config = sc->config;
    }
    resp.result_case = KLAXON__RESPONSE__RESULT_CONFIG;
    resp.config = &cr;
    api_reply(r, &resp);
    if (sc != NULL) {
        klaxon__cluster__stored_config__free_unpacked(sc, NULL);
    }
}

static void shift_to_proto(const Klaxon__Schedule *s,
                           const struct shift *sh,
                           Klaxon__Shift *out)
{
    klaxon__shift__init(out);
    out->schedule = s->id;
    out->user = (char *)(sh->user != NULL ? sh->user : "");
    out->start_ms = (uint64_t)sh->start_ms;
    out->end_ms = (uint64_t)sh->end_ms;
    if (sh->user == NULL) {
        out->layer = "";
    } else if (sh->layer < 0 || (size_t)sh->layer >= s->n_layers) {
        out->layer = "override";
    } else {
        out->layer = s->layers[sh->layer]->name;
    }
}

/* Check an oncall query; NULL schedule means every schedule. */
static int oncall_query(struct api_req *r,
                        const Klaxon__OncallConfig *cfg,
                        const Klaxon__Schedule **one,
                        char *msg,
                        size_t len)
{
    const Klaxon__OncallRequest *q = r->req->oncall;
    bool range = q->from_ms != 0 || q->to_ms != 0;

    *one = NULL;
    if (q->schedule[0] != '\0') {
        *one = oncall_schedule(cfg, q->schedule);
        if (*one == NULL) {
            snprintf(msg, len, "schedule: \"%.128s\" not found", q->schedule);
            return KLAXON__CODE__NOT_FOUND;
        }
    }
    if (range && (*one == NULL || q->from_ms >= q->to_ms ||
                  q->to_ms - q->from_ms > (uint64_t)SHIFT_RANGE_MAX_MS)) {
        snprintf(msg, len,
                 "from_ms/to_ms: a shift list needs a schedule and "
                 "from < to, at most 366 days apart");
        return KLAXON__CODE__INVALID_ARGUMENT;
    }
    return KLAXON__CODE__OK;
}

static size_t compute_shifts(const Klaxon__OncallRequest *q,
                             uint64_t now_ms,
                             const Klaxon__OncallConfig *cfg,
                             const Klaxon__Schedule *one,
                             struct shift *sh,
                             const Klaxon__Schedule **of)
{
    int64_t at = (int64_t)(q->at_ms != 0 ? q->at_ms : now_ms);
    size_t n;

    if (q->from_ms != 0 || q->to_ms != 0) {
        n = schedule_shifts(one, (int64_t)q->from_ms, (int64_t)q->to_ms, sh,
                            SHIFTS_MAX);
        n = n < SHIFTS_MAX ? n : SHIFTS_MAX;
        for (size_t i = 0; i < n; i++) {
            of[i] = one;
        }
        return n;
    }
    n = 0;
    for (size_t i = 0; i < cfg->n_schedules && n < SHIFTS_MAX; i++) {
        if (one == NULL || one == cfg->schedules[i]) {
            of[n] = cfg->schedules[i];
            sh[n] = schedule_shift_at(of[n], at, SHIFT_HORIZON_MS);
            n++;
        }
    }
    return n;
}

static void serve_oncall(struct api_req *r, MDB_txn *txn)
{
    Klaxon__Response resp = KLAXON__RESPONSE__INIT;
    Klaxon__OncallResult res = KLAXON__ONCALL_RESULT__INIT;
    Klaxon__Cluster__StoredConfig *sc = stored_config(r, txn);
    Klaxon__OncallConfig empty = KLAXON__ONCALL_CONFIG__INIT;
    const Klaxon__OncallConfig *cfg = sc != NULL ? sc->config : &empty;
    const Klaxon__Schedule *one;
    struct shift *sh = calloc(SHIFTS_MAX, sizeof *sh);
    const Klaxon__Schedule **of = calloc(SHIFTS_MAX, sizeof *of);
    Klaxon__Shift *items = calloc(SHIFTS_MAX, sizeof *items);
    Klaxon__Shift **ptrs = calloc(SHIFTS_MAX, sizeof *ptrs);
    char msg[256];
    int rv = oncall_query(r, cfg, &one, msg, sizeof msg);

    if (sh == NULL || of == NULL || items == NULL || ptrs == NULL) {
        api_reply_error(r, KLAXON__CODE__INTERNAL, "out of memory");
    } else if (rv != KLAXON__CODE__OK) {
        api_reply_error(r, rv, msg);
    } else {
        res.n_shifts = compute_shifts(r->req->oncall, node_time_ms(r->node),
                                      cfg, one, sh, of);
        for (size_t i = 0; i < res.n_shifts; i++) {
            shift_to_proto(of[i], &sh[i], &items[i]);
            ptrs[i] = &items[i];
        }
        res.shifts = ptrs;
        res.config_version = sc != NULL ? sc->version : 0;
        resp.result_case = KLAXON__RESPONSE__RESULT_ONCALL;
        resp.oncall = &res;
        api_reply(r, &resp);
    }
    free(ptrs);
    free(items);
    free(of);
    free(sh);
    if (sc != NULL) {
        klaxon__cluster__stored_config__free_unpacked(sc, NULL);
    }
}

static void serve_maintenance(struct api_req *r, MDB_txn *txn)
{
    Klaxon__Response resp = KLAXON__RESPONSE__INIT;
    Klaxon__MaintenanceListResult *res = NULL;
    int rv = maintenance_list(txn, req_store(r),
                              r->req->maintenance_list->include_ended,
                              node_time_ms(r->node), &res);
    if (rv != 0) {
        send_internal(r, "maintenance list", rv);
        return;
    }
    resp.result_case = KLAXON__RESPONSE__RESULT_MAINTENANCE;
    resp.maintenance = res;
    api_reply(r, &resp);
    klaxon__maintenance_list_result__free_unpacked(res, NULL);
}

static void serve_pages(struct api_req *r, MDB_txn *txn)
{
    Klaxon__Response resp = KLAXON__RESPONSE__INIT;
    Klaxon__PagesResult *res = NULL;
    int rv = paging_list(txn, req_store(r), r->req->pages->incident_id,
                         r->req->pages->limit, &res);
    if (rv != 0) {
        send_internal(r, "pages", rv);
        return;
    }
    resp.result_case = KLAXON__RESPONSE__RESULT_PAGES;
    resp.pages = res;
    api_reply(r, &resp);
    klaxon__pages_result__free_unpacked(res, NULL);
}

static void serve_monitors(struct api_req *r, MDB_txn *txn)
{
    Klaxon__Response resp = KLAXON__RESPONSE__INIT;
    Klaxon__Cluster__StoredConfig *sc = stored_config(r, txn);
    Klaxon__OncallConfig empty = KLAXON__ONCALL_CONFIG__INIT;
    Klaxon__MonitorsResult *res = NULL;
    int rv = monitors_list(txn, req_store(r), sc != NULL ? sc->config : &empty,
                           &res);

    if (rv != 0) {
        send_internal(r, "monitors", rv);
    } else {
        resp.result_case = KLAXON__RESPONSE__RESULT_MONITORS;
        resp.monitors = res;
        api_reply(r, &resp);
        klaxon__monitors_result__free_unpacked(res, NULL);
    }
    if (sc != NULL) {
        klaxon__cluster__stored_config__free_unpacked(sc, NULL);
    }
}

static void serve_read(struct api_req *r)
{
    MDB_txn *txn;
    int rv = mdb_txn_begin(req_store(r)->env, NULL, MDB_RDONLY, &txn);

    if (rv != 0) {
        send_internal(r, "read", rv);
        return;
    }
    switch (r->req->op_case) {
        case KLAXON__REQUEST__OP_GET:
            serve_get(r, txn);
            break;
        case KLAXON__REQUEST__OP_LIST:
            serve_list(r, txn);
            break;
        case KLAXON__REQUEST__OP_GET_CONFIG:
            serve_config(r, txn);
            break;
        case KLAXON__REQUEST__OP_ONCALL:
            serve_oncall(r, txn);
            break;
        case KLAXON__REQUEST__OP_MAINTENANCE_LIST:
            serve_maintenance(r, txn);
            break;
        case KLAXON__REQUEST__OP_PAGES:
            serve_pages(r, txn);
            break;
        default:
            serve_monitors(r, txn);
            break;
    }
    mdb_txn_abort(txn);
}

static void read_done(struct node_read *rd, int code)
{
    struct api_req *r = rd->data;
    if (code == KLAXON__CODE__OK) {
        serve_read(r);
    } else {
        api_reply_error(r, code, api_code_message(code));
    }
    api_req_free(r);
}

void api_handle_read(struct api_req *r)
{
    int rv;

    if (r->req->stale) {
        serve_read(r);
        api_req_free(r);
        return;
    }
    r->read.cb = read_done;
    r->read.data = r;
    rv = node_read(r->node, &r->read);
    if (rv != 0) {
        api_reply_error(r, rv, api_code_message(rv));
        api_req_free(r);
    }
}
