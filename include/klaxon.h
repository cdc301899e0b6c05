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
 * jitter), until the deadline. A node over one of its limits (klaxond.yaml
 * limits: the client's request rate, or its connections) answers
 * RESOURCE_EXHAUSTED with how long to wait: the call waits that long and
 * retries on the same node if the deadline allows, else it fails at once
 * with KLAXON_ELIMIT and klaxon_retry_after_ms() says how long to wait.
 * Every other refusal is returned at once.
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
    KLAXON_EPERM = 15,        /* forged, expired or misused token, or
                                 our certificate's role may not do it */
    KLAXON_EIO = 16,          /* a local file could not be read or written */
    KLAXON_ELIMIT = 17,       /* over a node's limit (request rate or
                                 connections); nothing was done: retry
                                 after klaxon_retry_after_ms() */
    KLAXON_EBUSY = 18,        /* a pipeline is full: take completions
                                 with klaxon_pipeline_poll() first */
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

/* After a call failed with KLAXON_ELIMIT: the milliseconds the node asked
 * the client to wait before trying again (at least 1). 0 after any other
 * result; every call resets it. */
KLAXON_API uint64_t klaxon_retry_after_ms(const klaxon_client *c);

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

/*
 * Acknowledge with the token (1..1024 bytes) that a page carried: the
 * token names the incident and the responder, and out->incident_id tells
 * which incident it was. A forged or expired token gives KLAXON_EPERM with
 * the node's message, e.g. "token: expired". Retried with one request id
 * like klaxon_ack.
 */
KLAXON_API int klaxon_ack_token(klaxon_client *c,
                                const char *token,
                                struct klaxon_result *out);

/* Resolve an open incident. Its dedup key becomes free again. */
KLAXON_API int klaxon_resolve(klaxon_client *c,
                              uint64_t incident_id,
                              const char *by,
                              struct klaxon_result *out);

/* Resolve, saying the alert was a false positive (counted as such in
 * reports). */
KLAXON_API int klaxon_resolve_false_positive(klaxon_client *c,
                                             uint64_t incident_id,
                                             const char *by,
                                             struct klaxon_result *out);

/* A status-page update (the seed's Investigating, Identified, Monitoring,
 * Resolved). */
enum klaxon_public_status {
    KLAXON_PUBLIC_NONE = 0, /* nothing posted: not on the status page */
    KLAXON_PUBLIC_INVESTIGATING = 1,
    KLAXON_PUBLIC_IDENTIFIED = 2,
    KLAXON_PUBLIC_MONITORING = 3,
    KLAXON_PUBLIC_RESOLVED = 4,
};

/* "none", "investigating", "identified", "monitoring", "resolved". */
KLAXON_API const char *klaxon_public_status_name(enum klaxon_public_status s);

struct klaxon_status_update
{
    enum klaxon_public_status status; /* required */
    const char *message;              /* required, 1..4096 bytes */
    const char *const *components;    /* affected; NULL/0: unchanged */
    size_t n_components;              /* at most 16, each 1..128 bytes */
    const char *impact;               /* customer impact; NULL: unchanged */
};

/* Post a status-page update on an incident. KLAXON_PUBLIC_RESOLVED also
 * resolves the incident if it is still open. */
KLAXON_API int klaxon_status_update(klaxon_client *c,
                                    uint64_t incident_id,
                                    const char *by,
                                    const struct klaxon_status_update *u,
                                    struct klaxon_result *out);

/* Append a note (1..4096 bytes) to an incident's timeline. */
KLAXON_API int klaxon_note(klaxon_client *c,
                           uint64_t incident_id,
                           const char *by,
                           const char *text,
                           struct klaxon_result *out);

/* Read consistency. */
enum klaxon_read {
    /* Served by the leader once it has confirmed that it still leads (a
     * read lease renewed by its commits, or a Raft barrier): sees every
     * write that completed before the call. */
    KLAXON_READ_LINEARIZABLE = 0,
    /* Served by the first reachable endpoint from its local state, which
     * may lag behind. */
    KLAXON_READ_STALE = 1,
};

struct klaxon_event
{
    uint64_t at_ms;
    /* "triggered", "alert", "acknowledged", "resolved", "note", "paged"
     * (actor: the user paged), "page_delivered", "page_failed",
     * "escalated", "unanswered", "target_missed", "not_paged" (message:
     * why), "retriggered", "reminder", "status_update", or "unknown" (a
     * newer node). */
    char *kind;
    char *actor;
    char *message;
    /* status_update events: the status posted; KLAXON_PUBLIC_NONE else */
    enum klaxon_public_status update_status;
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
    /* Paging, fixed when the incident opened: the service's escalation
     * policy ("" when the service is not configured) and the severity's
     * paging mode: "escalate", "first_level", "none" or "" (default). */
    char *escalation_policy;
    const char *paging;        /* static string: not to be freed */
    unsigned escalation_level; /* level last paged, 1-based; 0: none yet */
    unsigned escalation_loop;  /* repeats done, 0 on the first pass */
    bool unanswered;      /* every level and repeat paged, no acknowledgement */
    bool maintenance;     /* opened during a maintenance window */
    char *commander;      /* incident commander (Sev1/Sev2), "" if none */
    bool response_missed; /* not acknowledged within the target */
    bool resolution_missed;      /* not resolved within the target */
    unsigned pages;              /* pages created for this incident */
    uint64_t next_escalation_ms; /* next level or repeat; 0: none armed */
    uint64_t last_update_ms;     /* last note (status update); 0: none */
    bool false_positive;         /* resolved as a false positive */
    /* The status page: the last update's status, the affected components
     * and customer impact, and when the first update was posted. */
    enum klaxon_public_status public_status;
    char **components;
    size_t n_components;
    char *impact;
    uint64_t public_since_ms;
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

/* Counters of the replicated state: every node has the same values at
 * the same applied index (all 0 from a node that does not keep them). */
struct klaxon_counters
{
    uint64_t config_version; /* on-call configuration in force, 0: none */
    uint64_t open_incidents;
    uint64_t pages_created;
    uint64_t pages_delivered;
    uint64_t pages_failed;
    uint64_t pages_cancelled;
    uint64_t escalations;
    uint64_t unanswered;
    uint64_t response_missed;
    uint64_t resolution_missed;
    uint64_t heartbeats_missed;
};

/* A member of the cluster's Raft configuration, as one node sees it. */
struct klaxon_member
{
    uint64_t id;
    char *raft_address;
    char *api_address; /* "" if not known (added without --api-address) */
    char *role;        /* "voter", "standby" or "spare" */
    /* Replication progress, known on the leader only: the highest log
     * index the member confirmed, and whether it holds every committed
     * entry. */
    bool progress_known;
    uint64_t match_index;
    bool caught_up;
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
    struct klaxon_counters counters;
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

/*
 * On-call configuration (see docs/ONCALL.md): users, schedules,
 * escalation policies, services and heartbeat monitors, written as YAML
 * and applied as a whole.
 */

struct klaxon_apply_result
{
    uint64_t version; /* the configuration version in force afterwards */
    bool unchanged;   /* identical to the one in force: nothing changed */
};

/*
 * Validate `len` bytes of YAML and make them the configuration in force.
 * `file_name` (1..1024 bytes, e.g. "oncall.yaml") is only used in
 * messages; `by` (optional, up to 128 bytes) names who applies it, default
 * the client certificate's name. A refusal is KLAXON_EINVAL with the
 * node's message naming the file, line and field, e.g.
 * "oncall.yaml:12: users[1].time_zone: unknown time zone \"Mars/Base\"".
 * The YAML may not contain NUL bytes; a request over the frame limit
 * (1 MiB) is refused locally with KLAXON_ETOOLARGE.
 *
 * With dry_run the node only validates: nothing is written, no request id
 * is sent, and out->version is the version in force (or 0 if the node
 * does not tell). Otherwise the call is a write, retried with one request
 * id. `out` may be NULL.
 */
KLAXON_API int klaxon_apply_config(klaxon_client *c,
                                   const char *file_name,
                                   const char *yaml,
                                   size_t len,
                                   bool dry_run,
                                   const char *by,
                                   struct klaxon_apply_result *out);

struct klaxon_config
{
    uint64_t version; /* 0: no configuration applied yet (strings "") */
    char *file_name;
    char *yaml; /* the text as applied, NUL-terminated */
    uint64_t applied_ms;
    char *applied_by;
};

/* The configuration in force. Free with klaxon_config_free. */
KLAXON_API int klaxon_get_config(klaxon_client *c,
                                 enum klaxon_read read,
                                 struct klaxon_config **out);

KLAXON_API void klaxon_config_free(struct klaxon_config *cfg);

/*
 * Who is on call. Without from_ms/to_ms: the shift of `schedule` (NULL or
 * "": of every schedule) at at_ms (0: now). With from_ms < to_ms: every
 * shift of `schedule` (then required) overlapping [from_ms, to_ms); at_ms
 * must then be 0. Times in milliseconds since the Unix epoch.
 */
struct klaxon_oncall_query
{
    const char *schedule; /* schedule id, up to 128 bytes */
    uint64_t at_ms;
    uint64_t from_ms;
    uint64_t to_ms;
};

struct klaxon_shift
{
    char *schedule;
    char *user; /* user id; "" when nobody is on call */
    uint64_t start_ms;
    uint64_t end_ms; /* 0: beyond the horizon the node computed */
    char *layer;     /* layer name, or "override" */
};

struct klaxon_shift_list
{
    struct klaxon_shift *items;
    size_t n;
    uint64_t config_version; /* configuration the answer was computed from */
};

/* `q` may be NULL: every schedule, now. Free with klaxon_shift_list_free.
 * An unknown schedule is KLAXON_ENOTFOUND. */
KLAXON_API int klaxon_oncall(klaxon_client *c,
                             const struct klaxon_oncall_query *q,
                             enum klaxon_read read,
                             struct klaxon_shift_list **out);

KLAXON_API void klaxon_shift_list_free(struct klaxon_shift_list *l);

/* Check in the heartbeat monitor `name` (1..128 bytes), a dead man's
 * switch of the configuration: if it does not check in within its
 * interval, an incident opens. A write, retried with one request id.
 * An unknown monitor is KLAXON_ENOTFOUND. */
KLAXON_API int klaxon_heartbeat(klaxon_client *c, const char *name);

struct klaxon_monitor
{
    char *name;
    char *service;
    uint64_t interval_ms;
    uint64_t last_checkin_ms; /* 0: never */
    uint64_t due_ms;          /* next check-in expected before */
    bool down;                /* missed its check-in: an incident is open */
    uint64_t incident_id;     /* the incident of the last miss, 0: none */
};

struct klaxon_monitor_list
{
    struct klaxon_monitor *items;
    size_t n;
};

/* Every heartbeat monitor of the configuration with its state. Free with
 * klaxon_monitor_list_free. */
KLAXON_API int klaxon_monitors(klaxon_client *c,
                               enum klaxon_read read,
                               struct klaxon_monitor_list **out);

KLAXON_API void klaxon_monitor_list_free(struct klaxon_monitor_list *l);

/*
 * Maintenance windows: triggers of the service during a window open
 * incidents that page nobody.
 */
struct klaxon_maintenance
{
    const char *service; /* required, 1..128 bytes */
    uint64_t start_ms;   /* 0: now */
    /* Exactly one of end_ms (after start_ms) and duration_ms. */
    uint64_t end_ms;
    uint64_t duration_ms;
    const char *reason; /* optional, up to 1024 bytes */
    const char *by;     /* required, 1..128 bytes */
};

/* Start a window; *window_id (may be NULL) is its id. A write, retried
 * with one request id. */
KLAXON_API int klaxon_maintenance_start(klaxon_client *c,
                                        const struct klaxon_maintenance *m,
                                        uint64_t *window_id);

/* End window `window_id` now. A write, retried with one request id.
 * An unknown window is KLAXON_ENOTFOUND. */
KLAXON_API int klaxon_maintenance_end(klaxon_client *c,
                                      uint64_t window_id,
                                      const char *by);

struct klaxon_window
{
    uint64_t id;
    char *service;
    uint64_t start_ms;
    uint64_t end_ms;
    char *reason;
    char *created_by;
    uint64_t created_ms;
    uint64_t ended_ms; /* ended early at, 0 if not */
    char *ended_by;
};

struct klaxon_window_list
{
    struct klaxon_window *items;
    size_t n;
};

/* Windows not over yet, or with include_ended every window the node
 * keeps. Free with klaxon_window_list_free. */
KLAXON_API int klaxon_maintenance_list(klaxon_client *c,
                                       bool include_ended,
                                       enum klaxon_read read,
                                       struct klaxon_window_list **out);

KLAXON_API void klaxon_window_list_free(struct klaxon_window_list *l);

/* One notification sent (or being sent) to a person. The const char *
 * fields are static strings, not to be freed. */
struct klaxon_page
{
    uint64_t id;
    uint64_t incident_id; /* 0 for handoff notices */
    const char *kind;     /* "incident", "reminder", "handoff" */
    unsigned level;       /* escalation level, 1-based */
    unsigned loop;        /* repeat of the policy, 0 on the first pass */
    char *user;
    char *schedule; /* the schedule the user was found in, "" if none */
    const char *contact_kind; /* "webhook", "exec", "email", "" if none */
    char *contact_address;
    const char *state; /* "pending", "delivered", "failed", "cancelled" */
    unsigned attempts;
    uint64_t created_ms;
    uint64_t finished_ms;    /* 0 while pending */
    char *error;             /* last delivery error, "" if none */
    uint64_t shift_start_ms; /* handoff notices: the shift */
    uint64_t shift_end_ms;
};

struct klaxon_page_list
{
    struct klaxon_page *items;
    size_t n;
};

/* The pages of incident `incident_id`, or with 0 the latest pages of all;
 * at most `limit` (0: 100; at most 1000). Free with
 * klaxon_page_list_free. */
KLAXON_API int klaxon_pages(klaxon_client *c,
                            uint64_t incident_id,
                            unsigned limit,
                            enum klaxon_read read,
                            struct klaxon_page_list **out);

KLAXON_API void klaxon_page_list_free(struct klaxon_page_list *l);

/* --- backups ---------------------------------------------------------- */

/* The header of a backup file (format: docs/PROTOCOL.md, "Backup files"). */
struct klaxon_snapshot_info
{
    uint32_t format_version;
    uint64_t cluster_id;
    uint64_t applied_index; /* the state's last applied Raft index */
    uint64_t created_ms;    /* when the node took it */
    uint64_t records;
    uint64_t size;   /* bytes of the whole file */
    char sha256[65]; /* hex of the checksum the file ends with */
};

/* Progress of klaxon_snapshot_save: phase KLAXON_SNAPSHOT_WRITING counts
 * records the node wrote (total 0 while not yet known), phase
 * KLAXON_SNAPSHOT_FETCHING counts bytes received. */
enum klaxon_snapshot_phase {
    KLAXON_SNAPSHOT_WRITING = 1,
    KLAXON_SNAPSHOT_FETCHING = 2,
};
typedef void (*klaxon_progress_fn)(void *arg,
                                   enum klaxon_snapshot_phase phase,
                                   uint64_t done,
                                   uint64_t total);

/*
 * Save a backup of the replicated state to `path`. The leader takes it
 * as a linearizable read, so it holds every write acknowledged before this
 * call; it writes the file in its data_dir, and the client fetches it in blocks
 * of 512 KiB from that node, writes `path`.tmp, checks the checksum,
 * fsyncs and renames it to `path` (an existing file is replaced only by a
 * complete, verified one). `progress` (may be NULL) is called as it goes.
 * Each request has the client's timeout; the whole save has none. On
 * KLAXON_OK *info (may be NULL) describes the file. Admin operation.
 */
KLAXON_API int klaxon_snapshot_save(klaxon_client *c,
                                    const char *path,
                                    klaxon_progress_fn progress,
                                    void *arg,
                                    struct klaxon_snapshot_info *info);

/*
 * Check a backup file offline: its header, size and checksum. KLAXON_OK
 * and *info; KLAXON_EIO (unreadable) or KLAXON_EINVAL (not a valid backup:
 * truncated, bad magic, unknown version, checksum mismatch) with a
 * message in errmsg (len bytes; may be NULL).
 */
KLAXON_API int klaxon_snapshot_inspect(const char *path,
                                       struct klaxon_snapshot_info *info,
                                       char *errmsg,
                                       size_t len);

/* --- Membership -------------------------------------------------------
 *
 * Changes to the cluster's Raft configuration, made by the leader (the
 * calls follow it) and answered once the change committed. One change at
 * a time: another one in progress is KLAXON_ESTATE. Roles are "voter"
 * (replicates and votes), "standby" (replicates, does not vote) and
 * "spare" (neither). These operations are for administrators.
 */

/* A member to add. */
struct klaxon_member_add
{
    uint64_t id;              /* required, 1..2^53; its certificate's CN is
                                 node-<id> */
    const char *raft_address; /* required, host:port */
    const char *api_address;  /* optional, host:port: replicated so that
                                 clients are sent there when it leads */
    const char *role;         /* NULL or "": standby */
};

/*
 * Add a node, started with cluster.join: true and an empty data
 * directory; the leader sends it a snapshot and the log. Adding an id
 * that is a member with the same address and role is KLAXON_OK (a retry);
 * with another address or role, or an address another member has, it is
 * KLAXON_ESTATE. A bad id, address or role is KLAXON_EINVAL.
 */
KLAXON_API int klaxon_member_add(klaxon_client *c,
                                 const struct klaxon_member_add *m);

/*
 * Remove member `id` (KLAXON_ENOTFOUND if it is not one; KLAXON_ESTATE if
 * it is the last voter). Removing the leader first hands leadership to
 * another voter, which then removes it. Stop the removed node afterwards.
 */
KLAXON_API int klaxon_member_remove(klaxon_client *c, uint64_t id);

/*
 * Give member `id` the role `role` (NULL or "": voter). Promotion to voter
 * returns once the member caught up with the leader's log and the change
 * committed. Already having the role is KLAXON_OK.
 */
KLAXON_API int klaxon_member_promote(klaxon_client *c,
                                     uint64_t id,
                                     const char *role);

struct klaxon_member_list
{
    struct klaxon_member *members;
    size_t n;
    uint64_t leader_id;   /* as the answering node knows it, 0 if none */
    uint64_t last_index;  /* the answering node's last log index */
    uint64_t answered_by; /* id of the answering node */
};

/*
 * The members of the current configuration. KLAXON_READ_LINEARIZABLE asks
 * the leader (with replication progress); KLAXON_READ_STALE the first
 * node that answers (its own view, without progress).
 */
KLAXON_API int klaxon_member_list(klaxon_client *c,
                                  enum klaxon_read read,
                                  struct klaxon_member_list **out);

KLAXON_API void klaxon_member_list_free(struct klaxon_member_list *l);

/*
 * Hand leadership to voter `id` (0: the leader picks the most up-to-date
 * voter). Returns once a new leader is known; *new_leader (may be NULL)
 * is its id. Not a voter: KLAXON_ESTATE; not a member: KLAXON_ENOTFOUND;
 * the transfer did not complete within the election timeout:
 * KLAXON_ESTATE.
 */
KLAXON_API int klaxon_leader_transfer(klaxon_client *c,
                                      uint64_t id,
                                      uint64_t *new_leader);

/*
 * Pipelining: many requests in flight on one connection.
 *
 * A pipeline sends triggers, acks, resolves and linearizable gets to the
 * leader without waiting for each answer, over one connection of its own,
 * so that one thread keeps hundreds of requests in flight and many
 * requests share each TLS record and system call. Submitting only queues
 * a request (it is checked at once: bad fields give KLAXON_EINVAL and
 * queue nothing); klaxon_pipeline_poll() sends what is queued, reads the
 * answers and hands out one completion per request, in the order the
 * answers arrive (not the order of submission).
 *
 * Each request keeps the client's guarantees: a write carries one request
 * id for all its attempts, NOT_LEADER answers are followed, and a request
 * whose connection is lost (node killed, election) is sent again to the
 * next leader with the same request id, until timeout_ms after it was
 * submitted. Its completion then says KLAXON_ETIMEOUT or
 * KLAXON_EUNAVAILABLE, and the write may or may not have been applied.
 *
 * The pipeline uses the client's endpoints and TLS settings: the client
 * must outlive it. Like the client it is not thread-safe; one thread may
 * use a client for synchronous calls and a pipeline in turn. Connecting
 * happens inside klaxon_pipeline_poll(), which then may block up to
 * connect_timeout_ms.
 */
typedef struct klaxon_pipeline klaxon_pipeline;

/* The outcome of one pipelined request. */
struct klaxon_completion
{
    void *tag; /* as given when the request was submitted */
    int code;  /* KLAXON_OK or a KLAXON_E* code */
    /* Writes: the result, as klaxon_trigger() etc. fill it. */
    struct klaxon_result result;
    /* Gets: the incident (free with klaxon_incident_free), else NULL. */
    struct klaxon_incident *incident;
    /* On failure: what happened, e.g. the node's "severity: must be
     * 1..4, got 7". */
    char message[200];
};

/* At most this many requests in flight per pipeline (a node's limit per
 * connection). */
#define KLAXON_PIPELINE_MAX 1024

/* A pipeline with room for `depth` requests (1..KLAXON_PIPELINE_MAX)
 * submitted and not yet completed. Does not connect yet. */
KLAXON_API int klaxon_pipeline_new(klaxon_client *c,
                                   unsigned depth,
                                   klaxon_pipeline **out);

/* Close its connection and free it. Requests still in flight are
 * abandoned: writes among them may or may not be applied. NULL is
 * allowed. */
KLAXON_API void klaxon_pipeline_free(klaxon_pipeline *p);

/* Queue a request. KLAXON_EBUSY when `depth` requests are already
 * submitted and not yet handed out by klaxon_pipeline_poll();
 * KLAXON_EINVAL for a bad field (message: klaxon_pipeline_errmsg()). */
KLAXON_API int klaxon_pipeline_trigger(klaxon_pipeline *p,
                                       const struct klaxon_trigger *t,
                                       void *tag);
KLAXON_API int klaxon_pipeline_ack(klaxon_pipeline *p,
                                   uint64_t incident_id,
                                   const char *by,
                                   void *tag);
KLAXON_API int klaxon_pipeline_resolve(klaxon_pipeline *p,
                                       uint64_t incident_id,
                                       const char *by,
                                       void *tag);
/* A linearizable read of one incident with its timeline. */
KLAXON_API int klaxon_pipeline_get(klaxon_pipeline *p,
                                   uint64_t incident_id,
                                   void *tag);

/*
 * Send what is queued, read answers, and store up to `max` completions in
 * out[0..*n). Waits up to timeout_ms (0: do not wait) for the first
 * completion when none is ready; returns at once with *n = 0 when nothing
 * is in flight. Returns KLAXON_OK, or KLAXON_ENOMEM. A request's failure
 * is reported in its completion, never here.
 */
KLAXON_API int klaxon_pipeline_poll(klaxon_pipeline *p,
                                    struct klaxon_completion *out,
                                    size_t max,
                                    unsigned timeout_ms,
                                    size_t *n);

/* Requests submitted and not yet handed out as completions. */
KLAXON_API size_t klaxon_pipeline_pending(const klaxon_pipeline *p);

/* Message of the last refused submission ("" if none). */
KLAXON_API const char *klaxon_pipeline_errmsg(const klaxon_pipeline *p);

#ifdef __cplusplus
}
#endif

#endif /* KLAXON_H */
