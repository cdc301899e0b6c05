/*
 * Page delivery: one attempt to reach a person through one contact method,
 * asynchronous on the node's libuv loop. Retries, backoff and recording the
 * outcome through Raft belong to the caller (server/dispatch.c).
 *
 * - webhook: HTTP or HTTPS POST of `body` (JSON) with the headers
 *   Content-Type: application/json and Idempotency-Key: <key>, through
 *   libcurl's multi-socket interface driven by libuv (no thread, no
 *   blocking call). Any 2xx answer is success; redirects are not followed.
 * - email: SMTP (smtp:// or smtps://, STARTTLS when the relay offers it,
 *   required with a user name) to the configured relay, by an asynchronous
 *   client on the loop (server/smtp.h; libcurl's SMTP waits for the
 *   relay's answers without returning to the loop): a message with
 *   `subject` and `body` as text, the Idempotency-Key as a header and in
 *   the Message-ID. The relay's certificate is verified against the system
 *   trust store (SSL_CERT_FILE / SSL_CERT_DIR when set).
 * - exec: the program (absolute path) with its arguments, `body` on its
 *   stdin, through uv_spawn; exit status 0 is success. The environment
 *   holds KLAXON_IDEMPOTENCY_KEY. Killed (SIGKILL) at the timeout; its
 *   output is read and discarded (at most the first line of stderr is
 *   kept for the error message).
 *
 * Callback contract: deliver_start() either returns -1 (with a message in
 * err, and never calls back) or returns 0 and calls req->cb exactly once,
 * never synchronously. The request and every string it points to must stay
 * valid until the callback; the caller owns them and may free the request
 * inside the callback. Problems found before anything is started (a header
 * with CR or LF, a relative program path, a zero timeout) are refused with
 * -1; everything later, including a program that cannot be spawned, is
 * reported through the callback.
 *
 * Error messages name the reason without repeating the address: "HTTP 500",
 * "connect: Connection refused", "timeout after 2000 ms", "exit status 3:
 * <first line of stderr>", "killed by signal 9", "exec /path: no such file
 * or directory", "shutting down".
 *
 * The process must ignore SIGPIPE (klaxond does): a program that exits
 * without reading its stdin, or a peer that resets, must not kill the node.
 */
#ifndef KLAXON_DELIVER_H
#define KLAXON_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "list.h"
#include "oncall.pb-c.h"

struct delivery;
/* ok: delivered. err: why not (NUL-terminated, "" when ok). */
typedef void (*delivery_cb)(struct delivery *req, bool ok, const char *err);

struct smtp_settings
{
    const char *url; /* smtp://host:port or smtps://host:port */
    const char *from;
    const char *username; /* NULL or "": no authentication */
    const char *password;
};

struct delivery
{
    /* set by the caller */
    Klaxon__ContactKind kind;
    const char *address; /* URL, e-mail address or program path */
    char *const *args;   /* exec: arguments after the program */
    size_t n_args;
    const char *body; /* JSON (webhook, exec) or text (email) */
    size_t body_len;
    const char *subject; /* email */
    const char *idempotency_key;
    const struct smtp_settings *smtp; /* email */
    uint64_t timeout_ms;              /* whole attempt, > 0 */
    delivery_cb cb;
    void *data;
    /* private */
    struct list link;
    struct deliverer *owner;
    void *impl;
    char err[256];
};

struct deliverer
{
    uv_loop_t *loop;
    void *smtp_tls;   /* SSL_CTX * for e-mail relays */
    void *curl_multi; /* CURLM * */
    uv_timer_t curl_timer;
    uv_idle_t curl_kick;    /* runs libcurl's zero timeout from the loop */
    struct list curl_polls; /* struct curl_poll, one per watched socket */
    struct list active;     /* struct delivery */
    struct list finished;   /* failed by deliverer_close, not called back */
    unsigned n_active;      /* started and not yet called back */
    unsigned n_handles;     /* the deliverer's own open uv handles */
    bool closing;
    void (*close_cb)(struct deliverer *d);
    /* counters */
    uint64_t n_started;
    uint64_t n_ok;
    uint64_t n_failed;
};

/* Set up on a loop. 0, or -1 with a message. */
int deliverer_init(struct deliverer *d,
                   uv_loop_t *loop,
                   char *err,
                   size_t errlen);

/* Start one attempt (see the callback contract above). */
int deliver_start(struct deliverer *d,
                  struct delivery *req,
                  char *err,
                  size_t errlen);

/* Stop: every attempt in progress is called back with ok = false
 * ("shutting down"), children are killed, then every handle is closed and
 * cb runs (once, never synchronously). */
void deliverer_close(struct deliverer *d, void (*cb)(struct deliverer *d));

#endif /* KLAXON_DELIVER_H */
