/*
 * One message handed to an SMTP relay, asynchronously on a libuv loop.
 * libcurl's SMTP support waits for the relay's answer to the end of the
 * message (and to QUIT) without returning to the loop, which would stall
 * the node for as long as the relay takes; this client never blocks.
 *
 *   resolve (uv_getaddrinfo), connect (each address in turn)
 *   smtps://  TLS from the start, then the greeting
 *   smtp://   greeting, EHLO, STARTTLS when the relay offers it; TLS is
 *             required when a user name is set (no password in the clear)
 *   EHLO again over TLS, AUTH PLAIN or LOGIN when a user name is set,
 *   MAIL FROM, RCPT TO, DATA, the message (dot-stuffed here), QUIT
 *
 * TLS: the relay's certificate is verified against ctx (its trust store)
 * and must name the host of the URL (DNS name or IP address). A relay that
 * offers STARTTLS and then fails verification is not retried in the clear.
 *
 * Callback contract: smtp_submit() either returns -1 (message in err,
 * never calls back) or returns 0 and calls sub->cb exactly once, never
 * synchronously, after every handle it used is closed. The submission and
 * the strings it points to must stay valid until then.
 *
 * Error messages: "resolve mail.example.com: ...", "connect: Connection
 * refused", "timeout after 2000 ms", "RCPT TO: 550 5.1.1 no such user",
 * "end of data: 451 4.3.0 try again", "STARTTLS: handshake: certificate
 * verification failed: ...", "relay does not offer STARTTLS", or the
 * reason given to smtp_cancel().
 */
#ifndef KLAXON_SMTP_H
#define KLAXON_SMTP_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct smtp_submission;
typedef void (*smtp_cb)(struct smtp_submission *sub, bool ok, const char *err);

struct smtp_submission
{
    /* set by the caller */
    const char *url;      /* smtp://host[:port] (25) or smtps://... (465) */
    const char *username; /* NULL or "": no authentication */
    const char *password;
    const char *from;    /* envelope sender */
    const char *rcpt;    /* envelope recipient */
    const char *message; /* header and body, CRLF line ends */
    size_t message_len;
    uint64_t timeout_ms; /* whole exchange */
    SSL_CTX *tls;        /* client context that verifies peers */
    smtp_cb cb;
    void *data;
    /* private */
    struct smtp_session *session;
};

/* A client context for relays: TLS 1.2 or later, peers verified against
 * the default trust store (SSL_CERT_FILE / SSL_CERT_DIR when set). NULL on
 * failure, with a message. */
SSL_CTX *smtp_tls_context(char *err, size_t errlen);

int smtp_submit(uv_loop_t *loop,
                struct smtp_submission *sub,
                char *err,
                size_t errlen);

/* Stop the exchange; sub->cb follows (asynchronously) with why. */
void smtp_cancel(struct smtp_submission *sub, const char *why);

#endif /* KLAXON_SMTP_H */
