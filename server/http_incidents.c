#include "http_incidents.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "apply.h"
#include "field_limits.h"
#include "http_api.h"
#include "pbjson.h"

/* The user whose api_token_sha256 is the hash of token: 0 with the id
 * in who, 1 if none, -1 if the configuration cannot be read. */
static int token_user(struct http_request *rq,
                      const char *token,
                      char *who,
                      size_t len)
{
    struct node *n = rq->srv->node;
    const Klaxon__OncallConfig *cfg = NULL;
    unsigned char md[SHA256_DIGEST_LENGTH];
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    MDB_txn *txn;
    int rv = 1;

    SHA256((const unsigned char *)token, strlen(token), md);
    for (size_t i = 0; i < sizeof md; i++) {
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    if (mdb_txn_begin(n->store.env, NULL, MDB_RDONLY, &txn) != 0) {
        return -1;
    }
    if (apply_env_config(&n->fsm.env, txn, &n->store, &cfg) != 0) {
        rv = -1;
    }
    for (size_t i = 0; rv == 1 && cfg != NULL && i < cfg->n_users; i++) {
        const char *h = cfg->users[i]->api_token_sha256;
        if (h[0] != '\0' && CRYPTO_memcmp(h, hex, sizeof hex) == 0) {
            snprintf(who, len, "%s", cfg->users[i]->id);
            rv = 0;
        }
    }
    mdb_txn_abort(txn);
    return rv;
}

/* Refuse a caller without the responder role: 403, logged. */
static const char *require_responder(struct http_request *rq)
{
    struct authz_principal *p = &rq->principal;
    char msg[512];

    if (p->role == AUTHZ_RESPONDER || p->role == AUTHZ_ADMIN) {
        return p->name;
    }
    snprintf(msg, sizeof msg,
             "%.200s needs the responder or admin role; \"%.128s\" has the %s "
             "role",
             rq->path, p->name, authz_role_name(p->role));
    authz_log_refusal(p, rq->remote, msg, uv_hrtime() / 1000000u);
    rq->srv->n_refused++;
    http_error(rq, 403, NULL, "%s", msg);
    return NULL;
}

/*
 * The caller (rq->principal): the user of a bearer token (a responder),
 * or the holder of a client certificate (its OU is its role). Its name,
 * or NULL after answering 401 (no usable credentials) or 403 (a role
 * below responder).
 */
static const char *caller(struct http_request *rq)
{
    const char *auth = rq->authorization;

    if (strncasecmp(auth, "Bearer ", 7) == 0) {
        int rv = token_user(rq, auth + 7, rq->user, sizeof rq->user);
        if (rv == 0) {
            authz_from_role(AUTHZ_RESPONDER, rq->user, &rq->principal);
            return rq->user;
        }
        http_error(rq, rv < 0 ? 503 : 401, NULL,
                   rv < 0 ? "cannot read the configuration"
                          : "the bearer token is not any user's "
                            "api_token_sha256");
        return NULL;
    }
    if (rq->has_cert) {
        authz_from_identity(&rq->peer, &rq->principal);
    }
    if (!rq->has_cert || rq->principal.role == AUTHZ_NONE) {
        http_error(rq, 401, NULL,
                   "this endpoint needs a client certificate of the cluster "
                   "(curl --cert client.pem --key client-key.pem) or a "
                   "user's token (Authorization: Bearer TOKEN)");
        return NULL;
    }
    if (rq->principal.legacy) {
        authz_warn_legacy(&rq->principal, rq->remote);
    }
    return require_responder(rq);
}

/* Answer with the request's result (a read result or a mutation). */
static void answered(struct http_request *rq,
                     const Klaxon__Response *resp,
                     const char *why,
                     void *arg)
{
    const ProtobufCMessage *result = NULL;
    int status = resp != NULL ? http_status_of((int)resp->code, 200) : 503;

    (void)arg;
    if (status != 200) {
        http_error(rq, status, NULL, "%s", resp != NULL ? resp->message : why);
        return;
    }
    switch (resp->result_case) {
        case KLAXON__RESPONSE__RESULT_GET:
            result = &resp->get->base;
            break;
        case KLAXON__RESPONSE__RESULT_LIST:
            result = &resp->list->base;
            break;
        case KLAXON__RESPONSE__RESULT_MUTATION:
            result = &resp->mutation->base;
            break;
        default:
            break;
    }
    if (result == NULL) {
        http_error(rq, 500, NULL, "unexpected answer");
        return;
    }
    http_respond_json(rq, 200, pbjson_message(result), NULL);
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (s[0] < '0' || s[0] > '9') {
        return -1;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return -1;
    }
    *out = v;
    return 0;
}

static bool want_stale(struct http_request *rq)
{
    char v[8];
    return http_query(rq, "stale", v, sizeof v) == 0 &&
           (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

void http_incidents_list(struct http_request *rq)
{
    static const char *const filters[] = {
        "all", "open", "triggered", "acknowledged", "resolved", NULL};
    Klaxon__Request q = KLAXON__REQUEST__INIT;
    Klaxon__ListRequest l = KLAXON__LIST_REQUEST__INIT;
    char status[32], service[LIMIT_SERVICE + 1], num[32];
    const char *who = caller(rq);
    uint64_t n;

    if (who == NULL) {
        return;
    }
    if (http_query(rq, "status", status, sizeof status) == 0) {
        size_t i = 0;
        while (filters[i] != NULL && strcmp(filters[i], status) != 0) {
            i++;
        }
        if (filters[i] == NULL) {
            http_error(rq, 400, "status",
                       "\"%s\" is not all, open, triggered, acknowledged or "
                       "resolved",
                       status);
            return;
        }
        l.filter = (Klaxon__StatusFilter)i;
    }
    if (http_query(rq, "service", service, sizeof service) == 0) {
        l.service = service;
    }
    if (http_query(rq, "limit", num, sizeof num) == 0) {
        if (parse_u64(num, &n) != 0 || n == 0 || n > LIMIT_LIST) {
            http_error(rq, 400, "limit", "a number from 1 to %d", LIMIT_LIST);
            return;
        }
        l.limit = (uint32_t)n;
    }
    if (http_query(rq, "before", num, sizeof num) == 0) {
        if (parse_u64(num, &n) != 0) {
            http_error(rq, 400, "before", "an incident id");
            return;
        }
        l.before_id = n;
    }
    q.stale = want_stale(rq);
    q.op_case = KLAXON__REQUEST__OP_LIST;
    q.list = &l;
    http_api_submit(rq, &q, &rq->principal, answered, NULL);
}

/* "/v1/incidents/{id}[/{action}]": the id and the action ("" if none). 0,
 * or -1 after answering 404. */
static int split_path(struct http_request *rq,
                      uint64_t *id,
                      const char **action)
{
    static const char prefix[] = "/v1/incidents/";
    const char *p = rq->path + sizeof prefix - 1;
    const char *slash = strchr(p, '/');
    char num[32];
    size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);

    if (n == 0 || n >= sizeof num) {
        http_error(rq, 404, NULL, "no such endpoint: %s", rq->path);
        return -1;
    }
    memcpy(num, p, n);
    num[n] = '\0';
    if (parse_u64(num, id) != 0 || *id == 0) {
        http_error(rq, 404, "id", "\"%s\" is not an incident id", num);
        return -1;
    }
    *action = slash != NULL ? slash + 1 : "";
    return 0;
}

void http_incident_get(struct http_request *rq)
{
    Klaxon__Request q = KLAXON__REQUEST__INIT;
    Klaxon__GetRequest g = KLAXON__GET_REQUEST__INIT;
    const char *who = caller(rq);
    const char *action;

    if (who == NULL || split_path(rq, &g.incident_id, &action) != 0) {
        return;
    }
    if (action[0] != '\0') {
        http_error(rq, 404, NULL, "no such endpoint: %s", rq->path);
        return;
    }
    q.stale = want_stale(rq);
    q.op_case = KLAXON__REQUEST__OP_GET;
    q.get = &g;
    http_api_submit(rq, &q, &rq->principal, answered, NULL);
}

/* The optional JSON body of an action: {"by", "text", "request_id"}. */
struct action_body
{
    json_t *doc;
    const char *by, *text, *request_id;
};

static int read_body(struct http_request *rq, struct action_body *b)
{
    static const char *const keys[] = {"by", "text", "request_id"};
    json_error_t jerr;
    const char *k;
    json_t *v;

    memset(b, 0, sizeof *b);
    if (rq->body_len == 0) {
        return 0;
    }
    if (strncasecmp(rq->content_type, "application/json", 16) != 0) {
        http_error(rq, 415, "Content-Type",
                   "expected application/json, got \"%.64s\"",
                   rq->content_type);
        return -1;
    }
    b->doc = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(b->doc)) {
        http_error(rq, 400, NULL, "expected a JSON object: %s",
                   b->doc == NULL ? jerr.text : "not an object");
        json_decref(b->doc);
        return -1;
    }
    json_object_foreach(b->doc, k, v)
    {
        size_t i = 0;
        while (i < 3 && strcmp(keys[i], k) != 0) {
            i++;
        }
        if (i == 3 || !json_is_string(v)) {
            http_error(rq, 400, k,
                       i == 3 ? "unknown field (known: by, text, request_id)"
                              : "must be a string");
            json_decref(b->doc);
            return -1;
        }
    }
    b->by = json_string_value(json_object_get(b->doc, "by"));
    b->text = json_string_value(json_object_get(b->doc, "text"));
    b->request_id = json_string_value(json_object_get(b->doc, "request_id"));
    return 0;
}

static int public_status_of(const char *s)
{
    static const char *const names[] = {"investigating", "identified",
                                        "monitoring", "resolved"};
    for (int i = 0; s != NULL && i < 4; i++) {
        if (strcmp(names[i], s) == 0) {
            return i + 1;
        }
    }
    return -1;
}

/* POST /v1/incidents/{id}/updates {"status", "message", "components",
 * "impact", "by", "request_id"}. */
static void post_update(struct http_request *rq, uint64_t id, const char *who)
{
    static const char *const keys[] = {
        "status", "message", "components", "impact", "by", "request_id", NULL};
    Klaxon__Request q = KLAXON__REQUEST__INIT;
    Klaxon__StatusUpdateRequest sr = KLAXON__STATUS_UPDATE_REQUEST__INIT;
    Klaxon__StatusUpdate up = KLAXON__STATUS_UPDATE__INIT;
    char *comps[LIMIT_COMPONENTS];
    json_error_t jerr;
    json_t *doc, *c, *v;
    const char *k, *rid_s;
    char rid[33];
    size_t i;
    int st;

    if (strncasecmp(rq->content_type, "application/json", 16) != 0) {
        http_error(rq, 415, "Content-Type",
                   "expected application/json, got \"%.64s\"",
                   rq->content_type);
        return;
    }
    doc = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        http_error(rq, 400, NULL, "expected a JSON object: %s",
                   doc == NULL ? jerr.text : "not an object");
        json_decref(doc);
        return;
    }
    json_object_foreach(doc, k, v)
    {
        size_t n = 0;
        while (keys[n] != NULL && strcmp(keys[n], k) != 0) {
            n++;
        }
        if (keys[n] == NULL ||
            (strcmp(k, "components") == 0 ? !json_is_array(v)
                                          : !json_is_string(v))) {
            http_error(rq, 400, k,
                       keys[n] == NULL ? "unknown field (known: status, "
                                         "message, components, impact, by)"
                                       : "wrong type");
            json_decref(doc);
            return;
        }
    }
    st = public_status_of(json_string_value(json_object_get(doc, "status")));
    if (st < 0) {
        http_error(rq, 400, "status",
                   "required: investigating, identified, monitoring or "
                   "resolved");
        json_decref(doc);
        return;
    }
    json_array_foreach(json_object_get(doc, "components"), i, c)
    {
        if (i >= LIMIT_COMPONENTS || !json_is_string(c)) {
            http_error(rq, 400, "components", "an array of at most %d strings",
                       LIMIT_COMPONENTS);
            json_decref(doc);
            return;
        }
        comps[i] = (char *)json_string_value(c);
        up.n_components = i + 1;
    }
    up.status = (Klaxon__PublicStatus)st;
    up.message = (char *)json_string_value(json_object_get(doc, "message"));
    up.message = up.message != NULL ? up.message : "";
    up.impact = (char *)json_string_value(json_object_get(doc, "impact"));
    up.impact = up.impact != NULL ? up.impact : "";
    up.components = comps;
    sr.incident_id = id;
    sr.by = (char *)json_string_value(json_object_get(doc, "by"));
    sr.by = sr.by != NULL ? sr.by : (char *)who;
    sr.update = &up;
    http_api_request_id(rid);
    rid_s = json_string_value(json_object_get(doc, "request_id"));
    q.request_id.data = (uint8_t *)(rid_s != NULL ? rid_s : rid);
    q.request_id.len = strlen((const char *)q.request_id.data);
    q.op_case = KLAXON__REQUEST__OP_STATUS_UPDATE;
    q.status_update = &sr;
    http_api_submit(rq, &q, &rq->principal, answered, NULL);
    json_decref(doc);
}

void http_incident_action(struct http_request *rq)
{
    Klaxon__Request q = KLAXON__REQUEST__INIT;
    Klaxon__AckRequest ack = KLAXON__ACK_REQUEST__INIT;
    Klaxon__ResolveRequest res = KLAXON__RESOLVE_REQUEST__INIT;
    Klaxon__NoteRequest note = KLAXON__NOTE_REQUEST__INIT;
    const char *who = caller(rq);
    struct action_body b;
    const char *action;
    uint64_t id;
    char rid[33];

    if (who == NULL || split_path(rq, &id, &action) != 0) {
        return;
    }
    if (strcmp(action, "updates") == 0) {
        post_update(rq, id, who);
        return;
    }
    if (strcmp(action, "acknowledge") != 0 && strcmp(action, "resolve") != 0 &&
        strcmp(action, "notes") != 0) {
        http_error(rq, 404, NULL,
                   "no such action \"%s\" (acknowledge, resolve, notes, "
                   "updates)",
                   action);
        return;
    }
    if (read_body(rq, &b) != 0) {
        return;
    }
    http_api_request_id(rid);
    q.request_id.data = (uint8_t *)(b.request_id != NULL ? b.request_id : rid);
    q.request_id.len = strlen((const char *)q.request_id.data);
    if (strcmp(action, "acknowledge") == 0) {
        ack.incident_id = id;
        ack.by = (char *)(b.by != NULL ? b.by : who);
        q.op_case = KLAXON__REQUEST__OP_ACK;
        q.ack = &ack;
    } else if (strcmp(action, "resolve") == 0) {
        res.incident_id = id;
        res.by = (char *)(b.by != NULL ? b.by : who);
        q.op_case = KLAXON__REQUEST__OP_RESOLVE;
        q.resolve = &res;
    } else {
        note.incident_id = id;
        note.by = (char *)(b.by != NULL ? b.by : who);
        note.text = (char *)(b.text != NULL ? b.text : "");
        q.op_case = KLAXON__REQUEST__OP_NOTE;
        q.note = &note;
    }
    http_api_submit(rq, &q, &rq->principal, answered, NULL);
    json_decref(b.doc);
}
