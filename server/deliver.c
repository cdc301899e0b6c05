#include "deliver.h"

#include <stdio.h>
#include <string.h>

#include "curl_uv.h"
#include "deliver_int.h"
#include "smtp.h"

#define SHUTTING_DOWN "shutting down"

int deliverer_init(struct deliverer *d,
                   uv_loop_t *loop,
                   char *err,
                   size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->loop = loop;
    list_init(&d->curl_polls);
    list_init(&d->active);
    list_init(&d->finished);
    d->smtp_tls = smtp_tls_context(err, errlen);
    if (d->smtp_tls == NULL) {
        return -1;
    }
    if (curl_uv_init(d, err, errlen) != 0) {
        goto err_after_tls;
    }
    return 0;

err_after_tls:
    SSL_CTX_free(d->smtp_tls);
    d->smtp_tls = NULL;
    return -1;
}

static int check_request(const struct delivery *req, char *err, size_t errlen)
{
    if (req->cb == NULL) {
        snprintf(err, errlen, "no callback");
        return -1;
    }
    if (req->address == NULL || req->address[0] == '\0') {
        snprintf(err, errlen, "no address");
        return -1;
    }
    if (req->body == NULL && req->body_len > 0) {
        snprintf(err, errlen, "no body");
        return -1;
    }
    if (req->idempotency_key == NULL) {
        snprintf(err, errlen, "no idempotency key");
        return -1;
    }
    if (req->timeout_ms == 0) {
        snprintf(err, errlen, "no timeout");
        return -1;
    }
    return 0;
}

static int start_kind(struct deliverer *d,
                      struct delivery *req,
                      char *err,
                      size_t errlen)
{
    switch (req->kind) {
        case KLAXON__CONTACT_KIND__CONTACT_WEBHOOK:
            return deliver_webhook_start(d, req, err, errlen);
        case KLAXON__CONTACT_KIND__CONTACT_EMAIL:
            return deliver_email_start(d, req, err, errlen);
        case KLAXON__CONTACT_KIND__CONTACT_EXEC:
            return deliver_exec_start(d, req, err, errlen);
        default:
            snprintf(err, errlen, "unsupported contact kind %d",
                     (int)req->kind);
            return -1;
    }
}

int deliver_start(struct deliverer *d,
                  struct delivery *req,
                  char *err,
                  size_t errlen)
{
    if (d->closing) {
        snprintf(err, errlen, SHUTTING_DOWN);
        return -1;
    }
    if (check_request(req, err, errlen) != 0) {
        return -1;
    }
    /* The loop's clock may be a whole callback behind: timeouts count
     * from now. */
    uv_update_time(d->loop);
    req->owner = d;
    req->impl = NULL;
    req->err[0] = '\0';
    list_init(&req->link);
    if (start_kind(d, req, err, errlen) != 0) {
        return -1;
    }
    list_push(&d->active, &req->link);
    d->n_active++;
    d->n_started++;
    return 0;
}

static void maybe_closed(struct deliverer *d)
{
    void (*cb)(struct deliverer * d) = d->close_cb;

    if (!d->closing || d->n_active > 0 || d->n_handles > 0 ||
        d->smtp_tls == NULL) {
        return;
    }
    SSL_CTX_free(d->smtp_tls); /* connections hold their own references */
    d->smtp_tls = NULL;
    d->close_cb = NULL;
    if (cb != NULL) {
        cb(d);
    }
}

/* Count req and call it back; d may be closed but not freed after. */
static void call_back(struct delivery *req, bool ok)
{
    struct deliverer *d = req->owner;

    list_remove(&req->link);
    d->n_active--;
    if (ok) {
        d->n_ok++;
        req->err[0] = '\0';
    } else {
        d->n_failed++;
    }
    req->cb(req, ok, req->err);
}

void deliver_finish(struct delivery *req, bool ok)
{
    struct deliverer *d = req->owner;

    call_back(req, ok);
    maybe_closed(d); /* last use of d: its close callback may free it */
}

/* The attempts deliverer_close() stopped are called back once the
 * deliverer's own handles are closed: from a close callback, never from
 * inside deliverer_close(). */
void deliver_handle_closed(struct deliverer *d)
{
    d->n_handles--;
    if (d->n_handles > 0) {
        return;
    }
    while (!list_empty(&d->finished)) {
        call_back(list_entry(d->finished.next, struct delivery, link), false);
    }
    maybe_closed(d);
}

void deliverer_close(struct deliverer *d, void (*cb)(struct deliverer *d))
{
    struct list *i;
    struct list *next;

    if (d->closing) {
        return;
    }
    d->closing = true;
    d->close_cb = cb;
    for (i = d->active.next; i != &d->active; i = next) {
        struct delivery *req = list_entry(i, struct delivery, link);
        next = i->next;
        snprintf(req->err, sizeof req->err, SHUTTING_DOWN);
        if (req->kind == KLAXON__CONTACT_KIND__CONTACT_EXEC) {
            deliver_exec_abort(req);
        } else if (req->kind == KLAXON__CONTACT_KIND__CONTACT_EMAIL) {
            deliver_email_abort(req);
        } else {
            deliver_webhook_abort(req);
            list_remove(&req->link);
            list_push(&d->finished, &req->link);
        }
    }
    curl_uv_close(d);
}
