#include "http_events.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "field_limits.h"
#include "http_api.h"
#include "http_service.h"
#include "log.h"
#include "validate.h"

#define DETAILS_MAX (LIMIT_DETAILS - 4) /* room for what klaxon adds */
#define AM_ALERTS_MAX 1000
#define PD_ACTOR "pagerduty-events"
#define AM_ACTOR "alertmanager"

/* --- shared ------------------------------------------------------------ */

static bool is_json(const struct http_request *rq)
{
    size_t n = strcspn(rq->content_type, "; ");
    return n == 16 && strncasecmp(rq->content_type, "application/json", n) == 0;
}

/* Collects the details of a trigger: strings it owns. */
struct details
{
    Klaxon__Detail items[LIMIT_DETAILS];
    Klaxon__Detail *ptrs[LIMIT_DETAILS];
    char *owned[LIMIT_DETAILS * 2];
    size_t n, n_owned, bytes;
    size_t dropped;
};

static void details_free(struct details *d)
{
    for (size_t i = 0; i < d->n_owned; i++) {
        free(d->owned[i]);
    }
    d->n_owned = 0;
    d->n = 0;
}

static char *details_own(struct details *d, char *s)
{
    if (s == NULL || d->n_owned == sizeof d->owned / sizeof d->owned[0]) {
        free(s);
        return NULL;
    }
    d->owned[d->n_owned++] = s;
    return s;
}

/* Would validation take this text? UTF-8 without control characters
 * (a value may hold newlines and tabs); a key is not blank. */
static bool detail_text_ok(const char *s, size_t n, bool is_key)
{
    bool blank = true;

    if (!validate_utf8(s, n)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && (is_key || (c != '\n' && c != '\t'))) || c == 0x7F) {
            return false;
        }
        blank = blank && c == ' ';
    }
    return !is_key || !blank;
}

static bool details_has(const struct details *d, const char *key)
{
    for (size_t i = 0; i < d->n; i++) {
        if (strcmp(d->items[i].key, key) == 0) {
            return true;
        }
    }
    return false;
}

/* Add key = value (copied), if the limits allow and validation would take
 * it: a detail the trigger cannot carry is dropped (and counted), never a
 * reason to refuse the event. The first of two equal keys wins. */
static void details_add(struct details *d, const char *key, const char *value)
{
    size_t kl = strlen(key), vl = strlen(value);
    char *k, *v;

    if (d->n >= DETAILS_MAX || kl == 0 || kl > LIMIT_DETAIL_KEY ||
        vl > LIMIT_DETAIL_VALUE || d->bytes + kl + vl > LIMIT_DETAILS_TOTAL ||
        !detail_text_ok(key, kl, true) || !detail_text_ok(value, vl, false) ||
        details_has(d, key)) {
        d->dropped++;
        return;
    }
    k = details_own(d, strdup(key));
    v = k != NULL ? details_own(d, strdup(value)) : NULL;
    if (v == NULL) {
        d->dropped++;
        return;
    }
    klaxon__detail__init(&d->items[d->n]);
    d->items[d->n].key = k;
    d->items[d->n].value = v;
    d->ptrs[d->n] = &d->items[d->n];
    d->n++;
    d->bytes += kl + vl;
}

/* key = the JSON value (strings as they are, the rest as compact JSON). */
static void details_add_json(struct details *d, const char *key, json_t *v)
{
    char *text;

    if (json_is_string(v)) {
        details_add(d, key, json_string_value(v));
        return;
    }
    text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text != NULL) {
        details_add(d, key, text);
        free(text);
    }
}

static void details_finish(struct details *d, Klaxon__TriggerRequest *t)
{
    if (d->dropped > 0) {
        char n[32];
        snprintf(n, sizeof n, "%zu", d->dropped);
        d->n = d->n < LIMIT_DETAILS ? d->n : LIMIT_DETAILS - 1;
        details_add(d, "details_dropped", n);
    }
    t->n_details = d->n;
    t->details = d->ptrs;
}

/* Copy at most max bytes of s, not cutting a UTF-8 sequence. */
static char *clip(const char *s, size_t max)
{
    size_t n = strlen(s);
    char *out;

    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    out = malloc(n + 1);
    if (out != NULL) {
        memcpy(out, s, n);
        out[n] = '\0';
    }
    return out;
}

/* One klaxon request built from an event, with the strings it owns. */
struct built
{
    Klaxon__Request q;
    Klaxon__TriggerRequest t;
    Klaxon__AckRequest ack;
    Klaxon__ResolveRequest res;
    struct details d;
    char rid[33];
    char *dedup, *summary, *source; /* owned (Alertmanager) */
    bool trigger;
};

static void built_init(struct built *b)
{
    memset(b, 0, sizeof *b);
    klaxon__request__init(&b->q);
    klaxon__trigger_request__init(&b->t);
    klaxon__ack_request__init(&b->ack);
    klaxon__resolve_request__init(&b->res);
    http_api_request_id(b->rid);
    b->q.request_id.data = (uint8_t *)b->rid;
    b->q.request_id.len = strlen(b->rid);
}

static void built_free(struct built *b)
{
    details_free(&b->d);
    free(b->summary);
    free(b->source);
    free(b->dedup);
}

/* --- PagerDuty Events API v2 ------------------------------------------- */

static void pd_invalid(struct http_request *rq,
                       int status,
                       const char *fmt,
                       ...) __attribute__((format(printf, 3, 4)));

/* The PagerDuty error body: {"status", "message", "errors": [...]}. */
static void pd_invalid(struct http_request *rq,
                       int status,
                       const char *fmt,
                       ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_info("http: POST /v2/enqueue from %s: %d %s", rq->remote, status, msg);
    http_respond_json(
        rq, status,
        json_pack("{s:s,s:s,s:[s]}", "status",
                  status == 429 ? "throttle event" : "invalid event", "message",
                  status == 429 ? "Requests for this service are arriving "
                                  "too quickly. Please retry later."
                                : "Event object is invalid",
                  "errors", msg),
        status == 429 ? "Retry-After: 1\r\n" : NULL);
}

/* Refuse keys of obj not in known. 0, or -1 with the first in *bad. */
static int only_keys(json_t *obj, const char *const *known, const char **bad)
{
    const char *k;
    json_t *v;

    json_object_foreach(obj, k, v)
    {
        size_t i = 0;
        while (known[i] != NULL && strcmp(known[i], k) != 0) {
            i++;
        }
        if (known[i] == NULL) {
            *bad = k;
            return -1;
        }
    }
    return 0;
}

/* An optional string member: NULL if absent; -1 if not a string or too
 * long. */
static int opt_string(json_t *obj,
                      const char *key,
                      size_t max,
                      const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

struct pd_event
{
    const char *routing_key;
    const char *action;
    const char *dedup_key;
    char generated_key[33];
    json_t *payload;
    const char *summary, *source, *severity, *timestamp;
};

struct pd_answer
{
    char dedup_key[LIMIT_DEDUP_KEY + 1];
    bool trigger;
};

static void pd_done(struct http_request *rq,
                    const Klaxon__Response *resp,
                    const char *why,
                    void *arg)
{
    struct pd_answer *a = arg;
    int status = resp != NULL ? http_status_of((int)resp->code, 202) : 503;
    json_t *doc;

    /* PagerDuty drops an acknowledge or resolve that names no open alert
     * and still answers 202: senders must not retry those. */
    if (!a->trigger && resp != NULL &&
        (resp->code == KLAXON__CODE__NOT_FOUND ||
         resp->code == KLAXON__CODE__FAILED_PRECONDITION)) {
        status = 202;
    }
    if (status == 202) {
        doc = json_pack("{s:s,s:s,s:s}", "status", "success", "message",
                        "Event processed", "dedup_key", a->dedup_key);
        if (doc != NULL && resp->mutation != NULL &&
            resp->mutation->incident_id != 0) {
            json_object_set_new(
                doc, "incident_id",
                json_integer((json_int_t)resp->mutation->incident_id));
        }
        http_respond_json(rq, 202, doc, NULL);
    } else if (status == 400 || status == 413) {
        pd_invalid(rq, 400, "%s", resp->message);
    } else {
        http_error(rq, status, NULL, "%s", resp != NULL ? resp->message : why);
    }
    free(a);
}

static int pd_check_links(json_t *ev, char *err, size_t len)
{
    static const char *const keys[] = {"links", "images"};
    static const char *const need[] = {"href", "src"};

    for (size_t i = 0; i < 2; i++) {
        json_t *arr = json_object_get(ev, keys[i]);
        size_t j;
        json_t *item;
        if (arr == NULL || json_is_null(arr)) {
            continue;
        }
        if (!json_is_array(arr)) {
            snprintf(err, len, "%s: must be an array of objects", keys[i]);
            return -1;
        }
        json_array_foreach(arr, j, item)
        {
            if (!json_is_object(item) ||
                !json_is_string(json_object_get(item, need[i]))) {
                snprintf(err, len, "%s[%zu].%s: required string", keys[i], j,
                         need[i]);
                return -1;
            }
        }
    }
    return 0;
}

/* Check the event; fill ev. 0, or -1 with err. */
static int pd_parse(json_t *doc, struct pd_event *ev, char *err, size_t len)
{
    static const char *const top[] = {
        "routing_key", "event_action", "dedup_key",  "payload", "links",
        "images",      "client",       "client_url", NULL};
    static const char *const pl[] = {"summary",   "source",         "severity",
                                     "timestamp", "component",      "group",
                                     "class",     "custom_details", NULL};
    static const char *const actions[] = {"trigger", "acknowledge", "resolve",
                                          NULL};
    static const char *const sevs[] = {"critical", "error", "warning", "info",
                                       NULL};
    const char *bad;
    size_t i;

    memset(ev, 0, sizeof *ev);
    if (!json_is_object(doc)) {
        snprintf(err, len, "the event must be a JSON object");
        return -1;
    }
    if (only_keys(doc, top, &bad) != 0) {
        snprintf(err, len, "%s: unknown field", bad);
        return -1;
    }
    if (opt_string(doc, "routing_key", 128, &ev->routing_key) != 0 ||
        ev->routing_key == NULL || ev->routing_key[0] == '\0') {
        snprintf(err, len, "routing_key: required string of 1 to 128 bytes");
        return -1;
    }
    if (opt_string(doc, "event_action", 16, &ev->action) != 0 ||
        ev->action == NULL) {
        snprintf(err, len,
                 "event_action: required: trigger, acknowledge or resolve");
        return -1;
    }
    for (i = 0; actions[i] != NULL && strcmp(actions[i], ev->action) != 0;
         i++) {
    }
    if (actions[i] == NULL) {
        snprintf(err, len,
                 "event_action: \"%.32s\" is not trigger, acknowledge or "
                 "resolve",
                 ev->action);
        return -1;
    }
    if (opt_string(doc, "dedup_key", LIMIT_DEDUP_KEY, &ev->dedup_key) != 0) {
        snprintf(err, len, "dedup_key: a string of at most %d bytes",
                 LIMIT_DEDUP_KEY);
        return -1;
    }
    if (strcmp(ev->action, "trigger") != 0) {
        if (ev->dedup_key == NULL || ev->dedup_key[0] == '\0') {
            snprintf(err, len, "dedup_key: required for %s", ev->action);
            return -1;
        }
        return 0;
    }
    if (pd_check_links(doc, err, len) != 0) {
        return -1;
    }
    ev->payload = json_object_get(doc, "payload");
    if (!json_is_object(ev->payload)) {
        snprintf(err, len, "payload: required object for trigger");
        return -1;
    }
    if (only_keys(ev->payload, pl, &bad) != 0) {
        snprintf(err, len, "payload.%s: unknown field", bad);
        return -1;
    }
    if (opt_string(ev->payload, "summary", LIMIT_SUMMARY, &ev->summary) != 0 ||
        ev->summary == NULL || ev->summary[0] == '\0') {
        snprintf(err, len, "payload.summary: required string of 1 to %d bytes",
                 LIMIT_SUMMARY);
        return -1;
    }
    if (opt_string(ev->payload, "source", LIMIT_SOURCE, &ev->source) != 0 ||
        ev->source == NULL || ev->source[0] == '\0') {
        snprintf(err, len, "payload.source: required string of 1 to %d bytes",
                 LIMIT_SOURCE);
        return -1;
    }
    if (opt_string(ev->payload, "severity", 16, &ev->severity) != 0 ||
        ev->severity == NULL) {
        snprintf(err, len,
                 "payload.severity: required: critical, error, warning or "
                 "info");
        return -1;
    }
    for (i = 0; sevs[i] != NULL && strcmp(sevs[i], ev->severity) != 0; i++) {
    }
    if (sevs[i] == NULL) {
        snprintf(err, len,
                 "payload.severity: \"%.16s\" is not critical, error, warning "
                 "or info",
                 ev->severity);
        return -1;
    }
    if (opt_string(ev->payload, "timestamp", 64, &ev->timestamp) != 0) {
        snprintf(err, len, "payload.timestamp: an ISO 8601 time string");
        return -1;
    }
    return 0;
}

static void pd_details(json_t *doc,
                       const struct pd_event *ev,
                       struct details *d)
{
    static const char *const plain[] = {"component", "group", "class",
                                        "timestamp"};
    json_t *cd = json_object_get(ev->payload, "custom_details");
    const char *k;
    json_t *v;
    size_t i;
    char key[32];

    for (i = 0; i < 4; i++) {
        json_t *s = json_object_get(ev->payload, plain[i]);
        if (json_is_string(s)) {
            details_add(d, plain[i], json_string_value(s));
        }
    }
    if (json_is_string(json_object_get(doc, "client"))) {
        details_add(d, "client",
                    json_string_value(json_object_get(doc, "client")));
    }
    if (json_is_string(json_object_get(doc, "client_url"))) {
        details_add(d, "client_url",
                    json_string_value(json_object_get(doc, "client_url")));
    }
    if (json_is_object(cd)) {
        json_object_foreach(cd, k, v)
        {
            details_add_json(d, k, v);
        }
    } else if (cd != NULL && !json_is_null(cd)) {
        details_add_json(d, "custom_details", cd);
    }
    json_array_foreach(json_object_get(doc, "links"), i, v)
    {
        snprintf(key, sizeof key, "link.%zu", i + 1);
        details_add_json(d, key, v);
    }
    json_array_foreach(json_object_get(doc, "images"), i, v)
    {
        snprintf(key, sizeof key, "image.%zu", i + 1);
        details_add_json(d, key, v);
    }
}

/* jansson's reason without its " near 'TOKEN'": the token may be an
 * integration key (an unquoted routing_key), and refusals are logged. */
static const char *json_reason(json_error_t *e)
{
    char *near = strstr(e->text, " near '");
    if (near != NULL) {
        *near = '\0';
    }
    return e->text;
}

/* The request an event asks for (ev->dedup_key generated if none). */
static void pd_build(json_t *doc,
                     struct pd_event *ev,
                     const struct service_view *svc,
                     struct built *b)
{
    built_init(b);
    b->trigger = strcmp(ev->action, "trigger") == 0;
    if (ev->dedup_key == NULL || ev->dedup_key[0] == '\0') {
        http_api_request_id(ev->generated_key);
        ev->dedup_key = ev->generated_key;
    }
    if (b->trigger) {
        b->t.service = (char *)svc->name;
        b->t.severity = service_severity(svc, ev->severity);
        b->t.summary = (char *)ev->summary;
        b->t.source = (char *)ev->source;
        b->t.dedup_key = (char *)ev->dedup_key;
        pd_details(doc, ev, &b->d);
        details_finish(&b->d, &b->t);
        b->q.op_case = KLAXON__REQUEST__OP_TRIGGER;
        b->q.trigger = &b->t;
    } else if (strcmp(ev->action, "acknowledge") == 0) {
        b->ack.service = (char *)svc->name;
        b->ack.dedup_key = (char *)ev->dedup_key;
        b->ack.by = PD_ACTOR;
        b->q.op_case = KLAXON__REQUEST__OP_ACK;
        b->q.ack = &b->ack;
    } else {
        b->res.service = (char *)svc->name;
        b->res.dedup_key = (char *)ev->dedup_key;
        b->res.by = PD_ACTOR;
        b->q.op_case = KLAXON__REQUEST__OP_RESOLVE;
        b->q.resolve = &b->res;
    }
}

static void pd_submit(struct http_request *rq,
                      json_t *doc,
                      struct pd_event *ev,
                      const struct service_view *svc)
{
    struct pd_answer *a = calloc(1, sizeof *a);
    struct authz_principal who;
    struct built b;

    if (a == NULL) {
        http_error(rq, 500, NULL, "out of memory");
        return;
    }
    pd_build(doc, ev, svc, &b);
    a->trigger = b.trigger;
    snprintf(a->dedup_key, sizeof a->dedup_key, "%s", ev->dedup_key);
    authz_integration(PD_ACTOR, svc->name, &who);
    http_api_submit(rq, &b.q, &who, pd_done, a);
    built_free(&b);
}

int http_pagerduty_convert(const char *body,
                           size_t len,
                           const struct service_view *svc,
                           http_events_emit emit,
                           void *arg,
                           char *err,
                           size_t errlen)
{
    struct pd_event ev;
    struct built b;
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);

    if (doc == NULL) {
        snprintf(err, errlen, "invalid JSON at line %d, column %d: %s",
                 jerr.line, jerr.column, json_reason(&jerr));
        return -1;
    }
    if (pd_parse(doc, &ev, err, errlen) != 0) {
        json_decref(doc);
        return -1;
    }
    pd_build(doc, &ev, svc, &b);
    emit(&b.q, arg);
    built_free(&b);
    json_decref(doc);
    return 0;
}

void http_pagerduty(struct http_request *rq)
{
    struct service_view svc;
    struct pd_event ev;
    json_error_t jerr;
    char err[512];
    json_t *doc;
    int rv;

    if (!is_json(rq)) {
        pd_invalid(rq, 400,
                   "Content-Type: expected application/json, got \"%.64s\"",
                   rq->content_type);
        return;
    }
    doc = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        pd_invalid(rq, 400, "invalid JSON at line %d, column %d: %s", jerr.line,
                   jerr.column, json_reason(&jerr));
        return;
    }
    if (pd_parse(doc, &ev, err, sizeof err) != 0) {
        pd_invalid(rq, 400, "%s", err);
        json_decref(doc);
        return;
    }
    if (!ratelimit_take(&rq->srv->rates, ev.routing_key,
                        uv_now(rq->srv->loop))) {
        connlimit_hit(&rq->srv->limits, LIMIT_RATE, rq->remote,
                      "routing key over limits.key_rate (http.rate_limit)");
        pd_invalid(rq, 429, "routing_key: over %u events per second",
                   rq->srv->cfg->http_rate_limit);
        json_decref(doc);
        return;
    }
    rv = service_find(rq->srv->node, ev.routing_key, NULL, &svc);
    if (rv != 0) {
        if (rv < 0) {
            http_error(rq, 503, NULL,
                       "no on-call configuration applied on this node yet");
        } else {
            pd_invalid(rq, 400,
                       "routing_key: no service has this integration key");
        }
        json_decref(doc);
        return;
    }
    pd_submit(rq, doc, &ev, &svc);
    json_decref(doc);
}

/* --- Alertmanager webhook ------------------------------------------------ */

enum am_dedup { AM_FINGERPRINT, AM_GROUP_KEY };

struct am_batch
{
    struct http_request *rq;
    size_t n, pending;
    json_t *results; /* array, one object per alert */
    int worst;       /* the worst HTTP status among the writes */
    char failure[256];
};

struct am_item
{
    struct am_batch *b;
    size_t index;
    bool firing;
};

static void am_finish(struct am_batch *b)
{
    if (b->worst == 200) {
        http_respond_json(
            b->rq, 200,
            json_pack("{s:s,s:I,s:o}", "status", "success", "alerts",
                      (json_int_t)b->n, "results", b->results),
            NULL);
    } else {
        json_decref(b->results);
        http_error(b->rq, b->worst, NULL, "%s", b->failure);
    }
    free(b);
}

static const char *am_outcome(const Klaxon__Response *resp, bool firing)
{
    if (resp->code == KLAXON__CODE__NOT_FOUND ||
        resp->code == KLAXON__CODE__FAILED_PRECONDITION) {
        return "not open";
    }
    if (!firing) {
        return "resolved";
    }
    return resp->mutation != NULL && resp->mutation->deduplicated
               ? "deduplicated"
               : "triggered";
}

static void am_done(struct http_request *rq,
                    const Klaxon__Response *resp,
                    const char *why,
                    void *arg)
{
    struct am_item *it = arg;
    struct am_batch *b = it->b;
    json_t *r = json_array_get(b->results, it->index);
    int status = resp != NULL ? http_status_of((int)resp->code, 202) : 503;

    (void)rq;
    if (resp != NULL && !it->firing &&
        (resp->code == KLAXON__CODE__NOT_FOUND ||
         resp->code == KLAXON__CODE__FAILED_PRECONDITION)) {
        status = 202; /* resolving what is not open: nothing to do */
    }
    if (status == 202) {
        json_object_set_new(r, "result",
                            json_string(am_outcome(resp, it->firing)));
        if (resp->mutation != NULL && resp->mutation->incident_id != 0) {
            json_object_set_new(
                r, "incident_id",
                json_integer((json_int_t)resp->mutation->incident_id));
        }
    } else if (status > b->worst) {
        b->worst = status;
        snprintf(b->failure, sizeof b->failure, "alert %zu: %s", it->index,
                 resp != NULL ? resp->message : why);
    }
    free(it);
    if (--b->pending == 0) {
        am_finish(b);
    }
}

/* FNV-1a of the sorted labels: the dedup key of an alert without a
 * fingerprint. */
static void labels_hash(json_t *labels, char out[17])
{
    const char *keys[256];
    size_t n = 0;
    const char *k;
    json_t *v;
    uint64_t h = 1469598103934665603ull;

    json_object_foreach(labels, k, v)
    {
        if (n < 256) {
            keys[n++] = k;
        }
    }
    for (size_t i = 1; i < n; i++) {
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const char *val = json_string_value(json_object_get(labels, keys[i]));
        for (const char *p = keys[i]; *p; p++) {
            h = (h ^ (uint8_t)*p) * 1099511628211ull;
        }
        h = (h ^ '=') * 1099511628211ull;
        for (const char *p = val != NULL ? val : ""; *p; p++) {
            h = (h ^ (uint8_t)*p) * 1099511628211ull;
        }
        h = (h ^ 0) * 1099511628211ull;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static const char *label(json_t *alert, const char *obj, const char *key)
{
    return json_string_value(json_object_get(json_object_get(alert, obj), key));
}

/* Check one alert of the payload. 0, or -1 with err. */
static int am_check_alert(json_t *a, size_t i, char *err, size_t len)
{
    static const char *const objs[] = {"labels", "annotations"};
    const char *status = json_string_value(json_object_get(a, "status"));
    const char *k;
    json_t *v;

    if (!json_is_object(a)) {
        snprintf(err, len, "alerts[%zu]: must be an object", i);
        return -1;
    }
    if (status == NULL ||
        (strcmp(status, "firing") != 0 && strcmp(status, "resolved") != 0)) {
        snprintf(err, len, "alerts[%zu].status: required: firing or resolved",
                 i);
        return -1;
    }
    for (size_t o = 0; o < 2; o++) {
        json_t *m = json_object_get(a, objs[o]);
        if (m == NULL && o == 1) {
            continue;
        }
        if (!json_is_object(m)) {
            snprintf(err, len, "alerts[%zu].%s: required object of strings", i,
                     objs[o]);
            return -1;
        }
        json_object_foreach(m, k, v)
        {
            if (!json_is_string(v)) {
                snprintf(err, len, "alerts[%zu].%s.%.64s: must be a string", i,
                         objs[o], k);
                return -1;
            }
        }
    }
    if (json_object_get(a, "fingerprint") != NULL &&
        !json_is_string(json_object_get(a, "fingerprint"))) {
        snprintf(err, len, "alerts[%zu].fingerprint: must be a string", i);
        return -1;
    }
    return 0;
}

static int am_check(json_t *doc, enum am_dedup dedup, char *err, size_t len)
{
    const char *version = json_string_value(json_object_get(doc, "version"));
    json_t *alerts = json_object_get(doc, "alerts");
    json_t *a;
    size_t i;

    if (!json_is_object(doc)) {
        snprintf(err, len, "the payload must be a JSON object");
        return -1;
    }
    if (version != NULL && strcmp(version, "4") != 0) {
        snprintf(err, len, "version: \"%.16s\" is not supported (only 4)",
                 version);
        return -1;
    }
    if (!json_is_array(alerts) || json_array_size(alerts) == 0 ||
        json_array_size(alerts) > AM_ALERTS_MAX) {
        snprintf(err, len, "alerts: required array of 1 to %d alerts",
                 AM_ALERTS_MAX);
        return -1;
    }
    if (dedup == AM_GROUP_KEY &&
        !json_is_string(json_object_get(doc, "groupKey"))) {
        snprintf(err, len, "groupKey: required with dedup=group_key");
        return -1;
    }
    json_array_foreach(alerts, i, a)
    {
        if (am_check_alert(a, i, err, len) != 0) {
            return -1;
        }
    }
    return 0;
}

/* The dedup key of an alert, at most LIMIT_DEDUP_KEY bytes. */
static char *am_dedup_key(json_t *doc, json_t *a, enum am_dedup dedup)
{
    const char *fp = json_string_value(json_object_get(a, "fingerprint"));
    char hash[17];

    if (dedup == AM_GROUP_KEY) {
        return clip(json_string_value(json_object_get(doc, "groupKey")),
                    LIMIT_DEDUP_KEY);
    }
    if (fp != NULL && fp[0] != '\0') {
        return clip(fp, LIMIT_DEDUP_KEY);
    }
    labels_hash(json_object_get(a, "labels"), hash);
    return clip(hash, LIMIT_DEDUP_KEY);
}

static char *am_summary(json_t *a)
{
    const char *s = label(a, "annotations", "summary");
    const char *name = label(a, "labels", "alertname");
    const char *inst = label(a, "labels", "instance");
    char buf[LIMIT_SUMMARY + 1];

    if (s == NULL || s[0] == '\0') {
        s = label(a, "annotations", "description");
    }
    if (s != NULL && s[0] != '\0') {
        return clip(s, LIMIT_SUMMARY);
    }
    snprintf(buf, sizeof buf, "%s%s%s", name != NULL ? name : "alert",
             inst != NULL ? " on " : "", inst != NULL ? inst : "");
    return clip(buf, LIMIT_SUMMARY);
}

static void am_details(json_t *doc, json_t *a, struct details *d)
{
    static const char *const objs[] = {"labels", "annotations"};
    static const char *const prefix[] = {"label.", "annotation."};
    static const char *const plain[] = {"startsAt", "generatorURL"};
    char key[LIMIT_DETAIL_KEY + 1];
    const char *k;
    json_t *v;

    for (size_t o = 0; o < 2; o++) {
        json_object_foreach(json_object_get(a, objs[o]), k, v)
        {
            snprintf(key, sizeof key, "%s%s", prefix[o], k);
            details_add(d, key, json_string_value(v));
        }
    }
    for (size_t i = 0; i < 2; i++) {
        const char *s = json_string_value(json_object_get(a, plain[i]));
        if (s != NULL && s[0] != '\0') {
            details_add(d, plain[i], s);
        }
    }
    if (json_is_string(json_object_get(doc, "externalURL"))) {
        details_add(d, "externalURL",
                    json_string_value(json_object_get(doc, "externalURL")));
    }
}

struct am_params
{
    struct service_view svc;
    enum am_dedup dedup;
    char severity_label[64];
};

/* The request one alert asks for. 0, or -1 out of memory. */
static int am_build(json_t *doc,
                    json_t *a,
                    const struct am_params *p,
                    struct built *b)
{
    built_init(b);
    b->dedup = am_dedup_key(doc, a, p->dedup);
    if (b->dedup == NULL) {
        return -1;
    }
    b->trigger =
        strcmp(json_string_value(json_object_get(a, "status")), "firing") == 0;
    if (b->trigger) {
        const char *src = label(a, "labels", "instance");
        if (src == NULL) {
            src = label(a, "labels", "job");
        }
        if (src == NULL) {
            src = json_string_value(json_object_get(doc, "receiver"));
        }
        b->summary = am_summary(a);
        b->source = clip(src != NULL ? src : "alertmanager", LIMIT_SOURCE);
        b->t.service = (char *)p->svc.name;
        b->t.severity =
            service_severity(&p->svc, label(a, "labels", p->severity_label));
        b->t.summary = b->summary != NULL ? b->summary : "alert";
        b->t.source = b->source != NULL ? b->source : "alertmanager";
        b->t.dedup_key = b->dedup;
        am_details(doc, a, &b->d);
        details_finish(&b->d, &b->t);
        b->q.op_case = KLAXON__REQUEST__OP_TRIGGER;
        b->q.trigger = &b->t;
    } else {
        b->res.service = (char *)p->svc.name;
        b->res.dedup_key = b->dedup;
        b->res.by = AM_ACTOR;
        b->q.op_case = KLAXON__REQUEST__OP_RESOLVE;
        b->q.resolve = &b->res;
    }
    return 0;
}

/* Submit one alert. */
static void am_submit(struct am_batch *b,
                      json_t *doc,
                      json_t *a,
                      size_t i,
                      const struct am_params *p)
{
    struct am_item *it = calloc(1, sizeof *it);
    struct authz_principal who;
    struct built req;

    if (it == NULL || am_build(doc, a, p, &req) != 0) {
        if (it != NULL) {
            built_free(&req);
        }
        free(it);
        b->worst = 500;
        snprintf(b->failure, sizeof b->failure, "out of memory");
        if (--b->pending == 0) {
            am_finish(b);
        }
        return;
    }
    it->b = b;
    it->index = i;
    it->firing = req.trigger;
    json_array_append_new(
        b->results, json_pack("{s:s,s:s}", "dedup_key", req.dedup, "status",
                              it->firing ? "firing" : "resolved"));
    authz_integration(AM_ACTOR, p->svc.name, &who);
    http_api_submit(b->rq, &req.q, &who, am_done, it);
    built_free(&req);
}

/* Dedup mode and severity label from the query. 0, or -1 with err. */
static int am_query(const struct http_request *rq,
                    struct am_params *p,
                    char *err,
                    size_t len)
{
    char mode[32];

    memset(p, 0, sizeof *p);
    snprintf(p->severity_label, sizeof p->severity_label, "severity");
    if (http_query(rq, "severity_label", p->severity_label,
                   sizeof p->severity_label) != 0) {
        snprintf(p->severity_label, sizeof p->severity_label, "severity");
    }
    if (http_query(rq, "dedup", mode, sizeof mode) == 0) {
        if (strcmp(mode, "group_key") == 0) {
            p->dedup = AM_GROUP_KEY;
        } else if (strcmp(mode, "fingerprint") != 0) {
            snprintf(err, len, "\"%s\" is not fingerprint or group_key", mode);
            return -1;
        }
    }
    return 0;
}

/* Service, dedup mode and severity label from the URL. 0, or -1 after
 * answering. */
static int am_params(struct http_request *rq, struct am_params *p)
{
    static const char prefix[] = "/v1/alertmanager/";
    const char *key = strncmp(rq->path, prefix, sizeof prefix - 1) == 0
                          ? rq->path + sizeof prefix - 1
                          : NULL;
    char name[LIMIT_SERVICE + 1], err[128];
    int rv;

    if (am_query(rq, p, err, sizeof err) != 0) {
        http_error(rq, 400, "dedup", "%s", err);
        return -1;
    }
    if (key == NULL && http_query(rq, "service", name, sizeof name) != 0) {
        http_error(rq, 400, "service",
                   "name the service: /v1/alertmanager/INTEGRATION_KEY or "
                   "/v1/alertmanager?service=NAME");
        return -1;
    }
    rv = service_find(rq->srv->node, key, key == NULL ? name : NULL, &p->svc);
    if (rv < 0) {
        http_error(rq, 503, NULL,
                   "no on-call configuration applied on this node yet");
        return -1;
    }
    if (rv > 0) {
        http_error(rq, 404, key != NULL ? "integration_key" : "service",
                   "no such service is configured");
        return -1;
    }
    return 0;
}

void http_alertmanager(struct http_request *rq)
{
    struct am_params p;
    struct am_batch *b;
    json_error_t jerr;
    char err[512];
    json_t *doc, *a;
    size_t i;

    if (!is_json(rq)) {
        http_error(rq, 415, "Content-Type",
                   "expected application/json, got \"%.64s\"",
                   rq->content_type);
        return;
    }
    if (am_params(rq, &p) != 0) {
        return;
    }
    if (!ratelimit_take(&rq->srv->rates, p.svc.name, uv_now(rq->srv->loop))) {
        http_respond_json(
            rq, 429,
            json_pack("{s:s}", "error",
                      "over http.rate_limit events per second for this "
                      "service; retry later"),
            "Retry-After: 1\r\n");
        return;
    }
    doc = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        http_error(rq, 400, NULL, "invalid JSON at line %d, column %d: %s",
                   jerr.line, jerr.column, json_reason(&jerr));
        return;
    }
    if (am_check(doc, p.dedup, err, sizeof err) != 0) {
        http_error(rq, 400, NULL, "%s", err);
        json_decref(doc);
        return;
    }
    b = calloc(1, sizeof *b);
    if (b == NULL || (b->results = json_array()) == NULL) {
        free(b);
        json_decref(doc);
        http_error(rq, 500, NULL, "out of memory");
        return;
    }
    b->rq = rq;
    b->worst = 200;
    b->n = json_array_size(json_object_get(doc, "alerts"));
    b->pending = b->n + 1; /* held until every alert is submitted */
    json_array_foreach(json_object_get(doc, "alerts"), i, a)
    {
        am_submit(b, doc, a, i, &p);
    }
    json_decref(doc);
    if (--b->pending == 0) {
        am_finish(b);
    }
}

int http_alertmanager_convert(const struct http_request *rq,
                              const struct service_view *svc,
                              http_events_emit emit,
                              void *arg,
                              char *err,
                              size_t errlen)
{
    struct am_params p;
    json_error_t jerr;
    json_t *doc, *a;
    size_t i;

    if (am_query(rq, &p, err, errlen) != 0) {
        return -1;
    }
    p.svc = *svc;
    doc = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        snprintf(err, errlen, "invalid JSON at line %d, column %d: %s",
                 jerr.line, jerr.column, json_reason(&jerr));
        return -1;
    }
    if (am_check(doc, p.dedup, err, errlen) != 0) {
        json_decref(doc);
        return -1;
    }
    json_array_foreach(json_object_get(doc, "alerts"), i, a)
    {
        struct built b;
        if (am_build(doc, a, &p, &b) == 0) {
            emit(&b.q, arg);
        }
        built_free(&b);
    }
    json_decref(doc);
    return 0;
}
