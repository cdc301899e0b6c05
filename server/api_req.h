/*
 * Internal to the client API (api.c, api_write.c, api_read.c): a client
 * connection, one request in flight on it, and the helpers that answer.
 *
 * A request lives from the frame that carried it until its answer was
 * queued; api_req_free() releases it (and the connection, if that closed
 * meanwhile and this was its last request).
 */
#ifndef KLAXON_API_REQ_H
#define KLAXON_API_REQ_H

#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "cluster.pb-c.h"
#include "klaxon.pb-c.h"
#include "list.h"
#include "node.h"
#include "tls.h"
#include "tls_stream.h"

struct api_conn
{
    struct list link;
    struct api *api;
    struct tls_stream ts;
    struct tls_identity peer;
    uint8_t *buf; /* frame reassembly */
    size_t len;
    size_t cap;
    unsigned inflight;
    bool processing; /* inside process_frames */
    bool closed;     /* the stream's close callback ran */
    char remote[80];
};

struct api_req
{
    struct api_conn *conn;
    Klaxon__Request *req;
    Klaxon__Cluster__Command cmd;
    /* the command's own parts when they are not the request's */
    Klaxon__Cluster__SetConfig set_config;
    Klaxon__OncallConfig *config; /* parsed, owned */
    struct node_op op;
    struct node_read read;
};

void api_response_init(Klaxon__Response *resp, uint64_t seq);

/* Encode and queue an answer on an open connection. */
void api_send_response(struct api_conn *c, Klaxon__Response *resp);

/* Answer with a code and message only (NOT_LEADER gets the leader). */
void api_send_error(struct api_conn *c,
                    uint64_t seq,
                    int code,
                    const char *msg);

/* The generic message of NOT_LEADER, UNKNOWN_OUTCOME, UNAVAILABLE... */
const char *api_code_message(int code);

/* Log a refused request and count it. */
void api_log_refused(struct api_req *r, const char *what, const char *msg);

void api_req_free(struct api_req *r);

/* api_write.c: a mutating request (trigger ... maintenance_end). */
void api_handle_write(struct api_req *r);

/* api_read.c: a read (get, list, get_config, oncall, pages, ...). */
void api_handle_read(struct api_req *r);

#endif /* KLAXON_API_REQ_H */
