/*
 * libklaxon: the client library of the klaxon paging cluster.
 *
 * A client talks to the nodes of one cluster over TLS 1.3 with a client
 * certificate from the cluster CA. Give it every node's address: it finds the
 * leader itself, follows it across elections, and retries a request that did
 * not get an answer (node killed, connection cut, election in progress) with
 * the same request id until the call's deadline, so a retried write is
 * applied at most once.
 *
 * Conventions
 * - Every function returning int returns KLAXON_OK (0) or a positive
 *   KLAXON_E* code. klaxon_strerror() names the code; klaxon_errmsg() gives
 *   the detailed message of the client's last failed call (for example the
 *   node's "severity: must be 1..4, got 7").
 * - Strings passed in are borrowed for the duration of the call only.
 * - Structures returned through a pointer-to-pointer are allocated by the
 *   library and released with the matching *_free function.
 * - A klaxon_client is not thread-safe: use one per thread.
 * - Calls block until they succeed, fail definitively, or the deadline
 *   (klaxon_options.timeout_ms) passes. A write that ends in KLAXON_ETIMEOUT
 *   or KLAXON_EUNAVAILABLE may or may not have been applied; repeating it
 *   with the same request id (see klaxon_trigger.request_id) is safe.
 *
 * Transport and trust
 * - TLS 1.3 only, presenting the client's certificate. A node is trusted
 *   when its certificate chain verifies against the cluster CA (ca_file)
 *   and the certificate's subject OU is "node": trust = signed by the
 *   cluster CA + node role. Host names are not checked, so endpoints may be
 *   IP addresses, and a leader address learnt from a node needs no entry
 *   in the endpoint list.
 * - The client keeps one connection open, to the last node that answered
 *   (normally the leader), and reuses it for the next calls.
 * - Sockets are non-blocking and every wait (connect, TLS handshake, send,
 *   receive, backoff) is bounded by the call's deadline. The exception is
 *   host name resolution, done by the system resolver (getaddrinfo): give
 *   IP addresses where a hung resolver must never delay a call.
 * - The library never raises SIGPIPE and never changes signal dispositions
 *   or masks: it writes through its own OpenSSL BIO that sends with
 *   MSG_NOSIGNAL.
 * - The library never prints.
 *
 * Retries: NOT_LEADER answers are followed at once to the leader address
 * they carry. "No leader yet", "leader lost mid-write", node-side internal
 * errors, refused, reset or closed connections and answers that take
 * longer than min(time left, 5 s) are retried with the same request id on
 * the next endpoint after a backoff (25 ms doubling to 500 ms, with
 * jitter), until the deadline. Every other refusal is returned at once.
 */
#ifndef KLAXON_H
#define KLAXON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KLAXON_API __attribute__((visibility("default")))

#define KLAXON_VERSION "0.1.0"

/* Size of the buffer klaxon_client_new() writes its error message into. */
#define KLAXON_ERRMSG_SIZE 256

/* Result codes. */
enum klaxon_error {
    KLAXON_OK = 0,
    KLAXON_EINVAL = 1,        /* a field is missing, too long or malformed */
    KLAXON_ENOTFOUND = 2,     /* no such incident */
    KLAXON_ESTATE = 3,        /* not allowed in the incident's state */
    KLAXON_EUNAVAILABLE = 4,  /* no ready leader reachable before deadline */
    KLAXON_ETIMEOUT = 5,      /* deadline passed waiting for an answer */
    KLAXON_ECONNECT = 6,      /* no endpoint accepted a connection */
    KLAXON_ETLS = 7,          /* TLS failed: files, handshake or peer cert */
    KLAXON_EPROTO = 8,        /* malformed or unexpected answer */
    KLAXON_ENOMEM = 9,        /* out of memory */
    KLAXON_EINTERNAL = 10,    /* a node reported an internal failure */
    KLAXON_ETOOLARGE = 11,    /* request over the frame or field limit */
    KLAXON_EUNSUPPORTED = 12, /* node does not know this operation/version */
    KLAXON_ECONFIG = 13,      /* bad client options */
    KLAXON_EAUTH = 14,        /* node refused our certificate */
};

/* Name of a result code, e.g. "invalid argument". Never NULL. */
KLAXON_API const char *klaxon_strerror(int code);

/* Incident status. */
enum klaxon_status {
    KLAXON_STATUS_UNKNOWN = 0,
    KLAXON_TRIGGERED = 1,
    KLAXON_ACKNOWLEDGED = 2,
    KLAXON_RESOLVED = 3,
};

/* "triggered", "acknowledged", "resolved" or "unknown". */
KLAXON_API const char *klaxon_status_name(enum klaxon_status status);

/* Client configuration. */
struct klaxon_options
{
    /* Comma-separated "host:port" list of node API addresses. Required. */
    const char *endpoints;
    /* PEM files: cluster CA, this client's certificate and key. Required. */
    const char *ca_file;
    const char *cert_file;
    const char *key_file;
    /* Deadline of one call including retries and leader changes.
     * 0 means 20000 ms. */
    unsigned timeout_ms;
    /* Deadline of one connection attempt (TCP + TLS). 0 means 2000 ms. */
    unsigned connect_timeout_ms;
};

typedef struct klaxon_client klaxon_client;

/*
 * Create a client. Loads the TLS files and parses the endpoints; does not
 * connect yet. On failure returns a code, writes a message to errmsg (if not
 * NULL, KLAXON_ERRMSG_SIZE bytes) and sets *out to NULL.
 */
KLAXON_API int klaxon_client_new(const struct klaxon_options *opts,
                                 klaxon_client **out,
                                 char *errmsg);

/* Close connections and free the client. NULL is allowed. */
KLAXON_API void klaxon_client_free(klaxon_client *c);

/* Detailed message of the last failed call on this client ("" if none);
 * a later successful call leaves it as it is. Valid until the next call. */
KLAXON_API const char *klaxon_errmsg(const klaxon_client *c);

/* A custom detail attached to a trigger (key/value text). */
struct klaxon_detail
{
    const char *key;
    const char *value;
};

/* A trigger: an alert from a service. */
struct klaxon_trigger
{
    const char *service;   /* required, 1..128 bytes */
    unsigned severity;     /* required, 1 (critical) .. 4 (low) */
    const char *summary;   /* required, 1..1024 bytes */
    const char *source;    /* optional, up to 255 bytes */
    const char *dedup_key; /* optional, up to 255 bytes: a trigger with the
                              dedup key of an open incident of the same
                              service attaches to it */
    const struct klaxon_detail *details; /* optional, up to 64 */
    size_t n_details;
    /* Optional idempotency key, 1..64 bytes. When NULL the library makes a
     * random one per call. Give your own to make a retry across process
     * restarts safe. */
    const char *request_id;
};

/* Outcome of a write. */
struct klaxon_result
{
    uint64_t incident_id;
    bool deduplicated; /* trigger attached to an already open incident */
    unsigned alert_count;
    enum klaxon_status status; /* incident status after the write */
};

/* Open an incident, or attach to the open one with the same dedup key.
 * `out` may be NULL for every write (trigger, ack, resolve, note). */
KLAXON_API int klaxon_trigger(klaxon_client *c,
                              const struct klaxon_trigger *t,
                              struct klaxon_result *out);

/* Acknowledge an open incident. `by` names the responder (1..128 bytes).
 * Acknowledging an acknowledged incident again is allowed. */
KLAXON_API int klaxon_ack(klaxon_client *c,
                          uint64_t incident_id,
                          const char *by,
                          struct klaxon_result *out);

/* Resolve an open incident. Its dedup key becomes free again. */
KLAXON_API int klaxon_resolve(klaxon_client *c,
                              uint64_t incident_id,
                              const char *by,
                              struct klaxon_result *out);

/* Append a note (1..4096 bytes) to an incident's timeline. */
KLAXON_API int klaxon_note(klaxon_client *c,
                           uint64_t incident_id,
                           const char *by,
                           const char *text,
                           struct klaxon_result *out);

/* Read consistency. */
enum klaxon_read {
    /* Served by the leader after a Raft barrier: sees every write that
     * completed before the call. */
    KLAXON_READ_LINEARIZABLE = 0,
    /* Served by the first reachable endpoint from its local state, which
     * may lag behind. */
    KLAXON_READ_STALE = 1,
};

struct klaxon_event
{
    uint64_t at_ms;
    char *kind; /* "triggered", "alert", "acknowledged", "resolved", "note" */
    char *actor;
    char *message;
};

struct klaxon_incident
{
    uint64_t id;
    char *service;
    unsigned severity;
    char *summary;
    char *source;
    char *dedup_key;
    struct klaxon_detail *details; /* key/value point into this incident */
    size_t n_details;
    enum klaxon_status status;
    uint64_t created_ms; /* times: milliseconds since the Unix epoch */
    uint64_t updated_ms;
    uint64_t acknowledged_ms; /* 0 if never */
    char *acknowledged_by;
    uint64_t resolved_ms; /* 0 if never */
    char *resolved_by;
    unsigned alert_count;
    uint64_t last_alert_ms;
    struct klaxon_event *timeline; /* filled by klaxon_get only */
    size_t n_timeline;
};

/* Fetch one incident with its timeline. Free with klaxon_incident_free. */
KLAXON_API int klaxon_get(klaxon_client *c,
                          uint64_t incident_id,
                          enum klaxon_read read,
                          struct klaxon_incident **out);

KLAXON_API void klaxon_incident_free(struct klaxon_incident *i);

/* List filters. */
enum klaxon_filter {
    KLAXON_FILTER_ANY = 0,
    KLAXON_FILTER_OPEN = 1, /* triggered or acknowledged */
    KLAXON_FILTER_TRIGGERED = 2,
    KLAXON_FILTER_ACKNOWLEDGED = 3,
    KLAXON_FILTER_RESOLVED = 4,
};

struct klaxon_list_query
{
    enum klaxon_filter filter;
    const char *service; /* NULL or "": every service */
    unsigned limit;      /* 0: 100; at most 1000 */
    uint64_t before_id;  /* 0: newest first; else only ids below it */
};

struct klaxon_incident_list
{
    struct klaxon_incident *items; /* newest first, without timelines */
    size_t n;
    bool more; /* more incidents match: query again with before_id */
};

KLAXON_API int klaxon_list(klaxon_client *c,
                           const struct klaxon_list_query *q,
                           enum klaxon_read read,
                           struct klaxon_incident_list **out);

KLAXON_API void klaxon_incident_list_free(struct klaxon_incident_list *l);

struct klaxon_member
{
    uint64_t id;
    char *raft_address;
    char *api_address;
};

/* One node's own view of the cluster. */
struct klaxon_node_status
{
    uint64_t id;
    char *role; /* "leader", "follower", "candidate", "unavailable" */
    uint64_t term;
    uint64_t commit_index;
    uint64_t applied_index;
    uint64_t last_log_index;
    uint64_t leader_id; /* 0 if no leader known */
    char *leader_api_address;
    bool ready; /* leader whose first barrier committed */
    char *version;
    uint64_t uptime_ms;
    struct klaxon_member *members;
    size_t n_members;
};

/*
 * Ask one node for its status. `endpoint` is "host:port" (in the client's
 * list or not); NULL means the first endpoint of the client's list that
 * answers. Does not follow the leader and does not back off and retry: each
 * endpoint is tried once (a dead reused connection is reopened once), so a
 * down node costs at most the connect timeout.
 */
KLAXON_API int klaxon_node_status(klaxon_client *c,
                                  const char *endpoint,
                                  struct klaxon_node_status **out);

KLAXON_API void klaxon_node_status_free(struct klaxon_node_status *s);

#ifdef __cplusplus
}
#endif

#endif /* KLAXON_H */
