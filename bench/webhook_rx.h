/*
 * A minimal HTTP/1.1 webhook receiver for page-bench: one thread, epoll,
 * plain HTTP on 127.0.0.1, keep-alive. Every request is answered
 * "200 OK" with an empty body as soon as its body is complete; the body is
 * then handed to a callback (on the receiver's thread), with the time it
 * was complete (CLOCK_MONOTONIC, ns).
 *
 * Requests need a Content-Length (or have no body); chunked bodies are
 * refused with 411 and the connection closed. A request over
 * WEBHOOK_RX_MAX_REQUEST bytes gets 413 and is closed.
 */
#ifndef KLAXON_BENCH_WEBHOOK_RX_H
#define KLAXON_BENCH_WEBHOOK_RX_H

#include <stddef.h>
#include <stdint.h>

#define WEBHOOK_RX_MAX_REQUEST (1024 * 1024)

typedef void (*webhook_rx_fn)(void *arg,
                              const char *body,
                              size_t len,
                              uint64_t at_ns);

struct webhook_rx;

/* Listen on 127.0.0.1:port (0: a free port) and start the thread. NULL on
 * failure, with a message in err. */
struct webhook_rx *webhook_rx_start(unsigned port,
                                    webhook_rx_fn fn,
                                    void *arg,
                                    char *err,
                                    size_t errlen);

/* The port it listens on. */
unsigned webhook_rx_port(const struct webhook_rx *rx);

/* Requests answered, and requests refused (malformed or too large). */
uint64_t webhook_rx_requests(const struct webhook_rx *rx);
uint64_t webhook_rx_refused(const struct webhook_rx *rx);

/* Stop the thread, close every connection and free it. NULL is allowed. */
void webhook_rx_stop(struct webhook_rx *rx);

#endif /* KLAXON_BENCH_WEBHOOK_RX_H */
