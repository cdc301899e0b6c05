#include "http_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "api_req.h"
#include "frame.h"
#include "log.h"

struct http_call
{
    struct api_req r;
    struct http_request *rq;
    http_api_cb cb;
    void *arg;
    struct forward_call fwd;
    bool forwarding; /* fwd in flight: freed when it ends */
    bool released;   /* r released by the request path */
    char who[128];
};

static void call_free(struct http_call *call)
{
    free(call);
}

static void forwarded(struct forward_call *fc,
                      int code,
                      const Klaxon__Response *resp,
                      const char *why)
{
    struct http_call *call = fc->data;

    call->forwarding = false;
    if (code == KLAXON__CODE__OK) {
        call->cb(call->rq, resp, NULL, call->arg);
    } else {
        call->cb(call->rq, NULL, why, call->arg);
    }
    if (call->released) {
        call_free(call);
    }
}

static void http_reply(struct api_req *r, Klaxon__Response *resp)
{
    struct http_call *call = r->owner;
    struct http_server *srv = call->rq->srv;

    if (resp->code == KLAXON__CODE__NOT_LEADER &&
        resp->leader_api_address[0] != '\0' && !srv->fwd.closing) {
        call->forwarding = true;
        call->fwd.cb = forwarded;
        call->fwd.data = call;
        srv->node->metrics.forwarded++;
        forward_send(&srv->fwd, resp->leader_api_address, r->req,
                     HTTP_FORWARD_TIMEOUT_MS, &call->fwd);
        return;
    }
    call->cb(call->rq, resp, NULL, call->arg);
}

static void http_release(struct api_req *r)
{
    struct http_call *call = r->owner;

    api_req_clear(r);
    call->released = true;
    if (!call->forwarding) {
        call_free(call);
    }
}

static const struct api_origin http_origin = {http_reply, http_release};

/* A heap copy of q that klaxon__request__free_unpacked can free. */
static Klaxon__Request *copy_request(const Klaxon__Request *q)
{
    size_t n = klaxon__request__get_packed_size(q);
    uint8_t *buf;
    Klaxon__Request *out;

    if (n > FRAME_MAX) {
        return NULL;
    }
    buf = malloc(n > 0 ? n : 1);
    if (buf == NULL) {
        return NULL;
    }
    klaxon__request__pack(q, buf);
    out = klaxon__request__unpack(NULL, n, buf);
    free(buf);
    return out;
}

void http_api_submit(struct http_request *rq,
                     const Klaxon__Request *q,
                     const struct authz_principal *who,
                     http_api_cb cb,
                     void *arg)
{
    struct http_call *call = calloc(1, sizeof *call);
    Klaxon__Request *copy = copy_request(q);

    if (call == NULL || copy == NULL) {
        free(call);
        if (copy != NULL) {
            klaxon__request__free_unpacked(copy, NULL);
        }
        cb(rq, NULL, "out of memory", arg);
        return;
    }
    copy->version = PROTOCOL_VERSION;
    call->rq = rq;
    call->cb = cb;
    call->arg = arg;
    snprintf(call->who, sizeof call->who, "%s", who->name);
    call->r.origin = &http_origin;
    call->r.owner = call;
    call->r.node = rq->srv->node;
    call->r.who = call->who;
    call->r.principal = who;
    call->r.remote = rq->remote;
    call->r.n_refused = &rq->srv->n_refused;
    call->r.started_ns = rq->started_ns;
    call->r.req = copy;
    api_req_dispatch(&call->r);
}

void http_api_request_id(char buf[33])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t raw[16];

    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
        /* Fall back to time and address: unique enough for an id whose
         * only job is to make a retry of the same request recognisable. */
        uint64_t t = uv_hrtime();
        memcpy(raw, &t, 8);
        memcpy(raw + 8, &buf, sizeof(void *) < 8 ? sizeof(void *) : 8);
    }
    for (size_t i = 0; i < 16; i++) {
        buf[2 * i] = hex[raw[i] >> 4];
        buf[2 * i + 1] = hex[raw[i] & 15];
    }
    buf[32] = '\0';
}

int http_status_of(int code, int ok)
{
    switch (code) {
        case KLAXON__CODE__OK:
            return ok;
        case KLAXON__CODE__INVALID_ARGUMENT:
        case KLAXON__CODE__UNSUPPORTED:
            return 400;
        case KLAXON__CODE__NOT_FOUND:
            return 404;
        case KLAXON__CODE__FAILED_PRECONDITION:
            return 409;
        case KLAXON__CODE__TOO_LARGE:
            return 413;
        case KLAXON__CODE__UNAUTHENTICATED:
            return 401;
        case KLAXON__CODE__PERMISSION_DENIED:
            return 403;
        case KLAXON__CODE__INTERNAL:
            return 500;
        default:
            return 503;
    }
}
