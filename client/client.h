/*
 * The client object behind the public klaxon_client handle, shared by the
 * modules that implement the public calls.
 */
#ifndef KLAXON_CLIENT_CLIENT_H
#define KLAXON_CLIENT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "endpoint.h"
#include "klaxon.h"
#include "tlsconf.h"

#define CLIENT_ERRMSG_SIZE 512

struct klaxon_client
{
    struct endpoint_list endpoints;
    struct tlsconf tls;
    struct conn *conn; /* the open connection, normally to the leader */
    unsigned timeout_ms;
    unsigned connect_timeout_ms;
    size_t next_endpoint;    /* where leader search goes on from */
    uint64_t rng;            /* xorshift state for backoff jitter */
    uint64_t retry_after_ms; /* of the last call, if it ended KLAXON_ELIMIT */
    char errmsg[CLIENT_ERRMSG_SIZE];
};

/* Record the message of a failed call and return `code`. */
int client_fail(klaxon_client *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A pseudo-random number for jitter (not for request ids). */
uint64_t client_random(klaxon_client *c);

/* Close the open connection, if any. */
void client_drop_conn(klaxon_client *c);

#endif /* KLAXON_CLIENT_CLIENT_H */
