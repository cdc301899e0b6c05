/*
 * The HTTPS routes, and the node's own endpoints: /healthz, /readyz,
 * /metrics.
 */
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_events.h"
#include "http_ics.h"
#include "http_incidents.h"
#include "log.h"
#include "metrics.h"
#include "status_page.h"

#define READY_MAX_LAG 64 /* entries a ready node may still have to apply */

static void get_healthz(struct http_request *rq)
{
    http_respond_json(rq, 200, json_pack("{s:s}", "status", "ok"), NULL);
}

/* Part of a cluster with a leader, and caught up with what it committed. */
static void get_readyz(struct http_request *rq)
{
    Klaxon__Member *members[CONFIG_MAX_MEMBERS];
    Klaxon__Member storage[CONFIG_MAX_MEMBERS];
    Klaxon__NodeStatus st;
    const char *why = NULL;

    node_status(rq->srv->node, &st, members, storage);
    if (st.leader_id == 0) {
        why =
            "no leader known (election in progress, or cut off from a "
            "majority)";
    } else if (st.leader_id == st.id && !st.ready) {
        why = "leader, but its first barrier has not committed yet";
    } else if (st.commit_index > st.applied_index + READY_MAX_LAG) {
        why = "applying committed entries (catching up)";
    }
    http_respond_json(rq, why == NULL ? 200 : 503,
                      json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:s*}", "status",
                                why == NULL ? "ready" : "not ready", "role",
                                st.role, "leader_id", (json_int_t)st.leader_id,
                                "term", (json_int_t)st.term, "commit_index",
                                (json_int_t)st.commit_index, "applied_index",
                                (json_int_t)st.applied_index, "reason", why),
                      why == NULL ? NULL : "Retry-After: 1\r\n");
}

static void get_metrics(struct http_request *rq)
{
    char *text;
    size_t len;

    if (metrics_render(rq->srv->node, &text, &len) != 0) {
        http_error(rq, 500, NULL, "cannot read the state for metrics");
        return;
    }
    http_respond(rq, 200, "text/plain; version=0.0.4; charset=utf-8", text, len,
                 NULL);
    free(text);
}

static void get_status(struct http_request *rq, bool html)
{
    json_t *model = status_model(rq->srv->node, node_time_ms(rq->srv->node));
    char *text;

    if (model == NULL) {
        http_error(rq, 500, NULL, "cannot read the state for the status page");
        return;
    }
    if (!html) {
        http_respond_json(rq, 200, model, NULL);
        return;
    }
    text = status_html(model);
    json_decref(model);
    if (text == NULL) {
        http_error(rq, 500, NULL, "out of memory");
        return;
    }
    http_respond(rq, 200, "text/html; charset=utf-8", text, strlen(text),
                 "Content-Security-Policy: default-src 'none'; style-src "
                 "'unsafe-inline'\r\n");
    free(text);
}

static void get_status_html(struct http_request *rq)
{
    get_status(rq, true);
}

static void get_status_json(struct http_request *rq)
{
    get_status(rq, false);
}

struct route
{
    int method;
    const char *path;
    bool prefix; /* path is a prefix ending in '/' */
    enum http_group group;
    void (*handler)(struct http_request *rq);
};

static const struct route routes[] = {
    {HTTP_GET, "/healthz", false, HTTP_HEALTH, get_healthz},
    {HTTP_GET, "/readyz", false, HTTP_HEALTH, get_readyz},
    {HTTP_GET, "/metrics", false, HTTP_METRICS, get_metrics},
    {HTTP_GET, "/status", false, HTTP_STATUS, get_status_html},
    {HTTP_GET, "/status.json", false, HTTP_STATUS, get_status_json},
    {HTTP_GET, "/v1/schedules/", true, HTTP_STATUS, http_schedule_ics},
    {HTTP_POST, "/v2/enqueue", false, HTTP_EVENTS, http_pagerduty},
    {HTTP_POST, "/v1/alertmanager", false, HTTP_EVENTS, http_alertmanager},
    {HTTP_POST, "/v1/alertmanager/", true, HTTP_EVENTS, http_alertmanager},
    {HTTP_GET, "/v1/incidents", false, HTTP_RESPONDERS, http_incidents_list},
    {HTTP_GET, "/v1/incidents/", true, HTTP_RESPONDERS, http_incident_get},
    {HTTP_POST, "/v1/incidents/", true, HTTP_RESPONDERS, http_incident_action},
};

static bool path_matches(const struct route *r, const char *path)
{
    if (r->prefix) {
        size_t n = strlen(r->path);
        return strncmp(path, r->path, n) == 0 && path[n] != '\0';
    }
    return strcmp(path, r->path) == 0;
}

void http_route(struct http_request *rq)
{
    char allow[64] = "";

    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const struct route *r = &routes[i];
        if (!path_matches(r, rq->path)) {
            continue;
        }
        if (r->method == rq->method) {
            if (r->group < HTTP_RESPONDERS &&
                rq->srv->cfg->http_client_certs[r->group] == 1 &&
                !rq->has_cert) {
                http_error(rq, 401, NULL,
                           "this endpoint needs a client certificate of the "
                           "cluster (http.client_certs)");
                return;
            }
            r->handler(rq);
            return;
        }
        snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s",
                 allow[0] != '\0' ? ", " : "",
                 http_method_str((enum http_method)r->method));
    }
    if (allow[0] != '\0') {
        char extra[96], path[64];
        snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
        log_info("http: %s %s from %s: 405", http_method_name(rq),
                 http_log_path(rq, path, sizeof path), rq->remote);
        http_respond_json(
            rq, 405,
            json_pack("{s:s}", "error",
                      "method not allowed on this path (see Allow)"),
            extra);
        return;
    }
    http_error(rq, 404, NULL, "no such endpoint: %s", rq->path);
}
