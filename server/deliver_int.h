/*
 * What the parts of the deliverer share: deliver.c keeps the list of
 * attempts and the counters, deliver_webhook.c posts through libcurl
 * (curl_uv.c), deliver_email.c hands messages to the SMTP client (smtp.c),
 * deliver_exec.c runs programs.
 *
 * An attempt is in d->active from a successful start until
 * deliver_finish(), which frees nothing of the caller's and calls it back.
 * Its kind-specific state (req->impl) is freed by its own module before
 * deliver_finish().
 */
#ifndef KLAXON_DELIVER_INT_H
#define KLAXON_DELIVER_INT_H

#include "deliver.h"

/* Unlink req, count it and call it back (ok, or req->err). May run the
 * deliverer's close callback afterwards. */
void deliver_finish(struct delivery *req, bool ok);

/* The start functions follow deliver_start()'s contract; deliver.c links
 * req into d->active when they return 0. */
int deliver_webhook_start(struct deliverer *d,
                          struct delivery *req,
                          char *err,
                          size_t errlen);
int deliver_email_start(struct deliverer *d,
                        struct delivery *req,
                        char *err,
                        size_t errlen);
int deliver_exec_start(struct deliverer *d,
                       struct delivery *req,
                       char *err,
                       size_t errlen);

/* Shutting down (req->err says so). */

/* Stop the transfer at once and free its state; the caller calls req back
 * later (not from inside deliverer_close()). */
void deliver_webhook_abort(struct delivery *req);

/* Close the connection; req is called back once it is closed. */
void deliver_email_abort(struct delivery *req);

/* Kill the program; req is called back once its handles are closed. */
void deliver_exec_abort(struct delivery *req);

#endif /* KLAXON_DELIVER_INT_H */
