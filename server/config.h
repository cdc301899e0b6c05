/*
 * The klaxond node configuration, one YAML file per node:
 *
 *   node:
 *     id: 1                         # 1..2^53, in cluster.members unless
 *                                   # cluster.join is true
 *     data_dir: data/node1          # relative paths resolve against the
 *                                   # directory of this file
 *     raft_address: 127.0.0.1:7001  # advertised to peers
 *     api_address: 127.0.0.1:7101   # advertised to clients
 *     # raft_bind: 0.0.0.0:7001     # optional listen addresses, default
 *     # api_bind: 0.0.0.0:7101      # the advertised ones
 *   tls:
 *     ca: tls/ca.pem
 *     cert: tls/node1.pem
 *     key: tls/node1-key.pem
 *   cluster:
 *     # join: false                 # true: do not bootstrap; wait to be
 *                                   # added by the leader (member add)
 *     members:                      # 1 to 9 members, the same on every node
 *       - { id: 1, raft_address: 127.0.0.1:7001, api_address: 127.0.0.1:7101 }
 *       - { id: 2, raft_address: 127.0.0.1:7002, api_address: 127.0.0.1:7102 }
 *       - { id: 3, raft_address: 127.0.0.1:7003, api_address: 127.0.0.1:7103 }
 *   raft:                           # optional section, defaults shown
 *     heartbeat_timeout: 500ms      # 10ms..60s
 *     election_timeout: 3s          # 100ms..10m, >= 3 x heartbeat_timeout;
 *                                   # see config_election_base_ms()
 *     snapshot_threshold: 8192      # entries, 16..10000000
 *     snapshot_trailing: 8192       # entries, 0..10000000
 *     log_memory_mb: 32             # 0..65536: the in-memory log's budget;
 *                                   # fewer entries than the two above when
 *                                   # they are large (log_budget.h); 0: off
 *     read_lease: true              # false: a barrier for every read
 *   api:                            # optional section
 *     max_connections: 1024         # 1..100000, default limits.max_connections
 *   http:                           # optional section: the HTTPS port
 *     bind: 0.0.0.0:8443            # none: no HTTPS port
 *     max_body: 524288              # same as limits.max_body
 *     rate_limit: 100               # same as limits.key_rate
 *     max_connections: 1024         # default limits.max_connections
 *     client_certs: { events: optional, ... }
 *   limits:                         # optional section, defaults shown
 *     max_frame: 1048576            # client API request frame, 1KiB..1MiB
 *     max_body: 524288              # HTTPS request body, 1KiB..16MiB
 *     max_connections: 1024         # open connections per listener (API,
 *                                   # HTTPS), 1..100000
 *     max_handshakes: 128           # connections not yet authenticated,
 *                                   # per listener (API, HTTPS, Raft);
 *                                   # over it the oldest is closed
 *     max_connections_per_client: 512  # per certificate CN once
 *                                   # authenticated (per source IP for
 *                                   # HTTPS callers without one), and per
 *                                   # source IP during the handshake
 *     handshake_timeout: 10s        # TCP accept to authenticated (TLS, and
 *                                   # the Raft preamble), 100ms..5m
 *     idle_timeout: 5m              # client API connection with no request
 *     http_idle_timeout: 60s        # HTTPS keep-alive with no request
 *     request_timeout: 30s          # first byte of a frame / HTTP request
 *                                   # to its last
 *     client_rate: 50000            # client API requests/s per client
 *                                   # certificate (burst: one second's
 *                                   # worth); over it: RESOURCE_EXHAUSTED
 *     key_rate: 100                 # HTTPS events/s per routing key (429)
 *     state_mapped_mb: 256          # 0..65536: pages of the state file
 *                                   # kept mapped (counted in RSS) beyond
 *                                   # the code's; 0: no limit (map_trim.h)
 *   log:                            # optional section
 *     level: info                   # debug, info, warn or error
 *
 * limits.max_body and limits.key_rate are the same settings as
 * http.max_body and http.rate_limit: give either, or both with the same
 * value. api.max_connections and http.max_connections override
 * limits.max_connections for their listener. Cluster nodes (certificates
 * with OU=node) are exempt from client_rate and the per-client cap.
 *
 * node, tls and cluster are required, with every field except the binds.
 * Unknown fields are errors. Addresses are host:port where host is an IPv4
 * address, an IPv6 address in brackets ([::1]:7001) or a host name, and
 * port is 1..65535. Durations are an integer with a unit ms, s, m or h; a
 * bare integer is milliseconds. Member ids and all member addresses
 * (raft and api together) are unique, and this node's member entry has the
 * same addresses as node.raft_address and node.api_address.
 *
 * Error messages are one line, "FILE:LINE: FIELD: REASON", e.g.
 *
 *   /etc/klaxon/node1.yaml:17: raft.electon_timeout: unknown field (...)
 *
 * where LINE is the line of the offending value (of the enclosing mapping
 * for a missing field) and members are numbered from 0 (cluster.members[0]).
 * Whether the files and directories named exist is not checked here.
 */
#ifndef KLAXON_CONFIG_H
#define KLAXON_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_ADDR_MAX 256
#define CONFIG_MAX_MEMBERS 9
#define CONFIG_ID_MAX ((uint64_t)1 << 53)

struct config_member
{
    uint64_t id;
    char raft_address[CONFIG_ADDR_MAX];
    char api_address[CONFIG_ADDR_MAX];
};

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

struct config
{
    char path[PATH_MAX];                /* the file it was loaded from */
    uint64_t id;                        /* node.id */
    char data_dir[PATH_MAX];            /* node.data_dir */
    char raft_address[CONFIG_ADDR_MAX]; /* node.raft_address: to peers */
    char api_address[CONFIG_ADDR_MAX];  /* node.api_address: to clients */
    char raft_bind[CONFIG_ADDR_MAX];    /* node.raft_bind */
    char api_bind[CONFIG_ADDR_MAX];     /* node.api_bind */
    char tls_ca[PATH_MAX], tls_cert[PATH_MAX], tls_key[PATH_MAX];
    struct config_member *members; /* cluster.members */
    unsigned n_members;
    unsigned join; /* cluster.join: 1 = do not bootstrap, wait to be added */
    unsigned heartbeat_ms;           /* raft.heartbeat_timeout */
    unsigned election_ms;            /* raft.election_timeout (see below) */
    unsigned snapshot_threshold;     /* raft.snapshot_threshold */
    unsigned snapshot_trailing;      /* raft.snapshot_trailing */
    unsigned log_memory_mb;          /* raft.log_memory_mb */
    unsigned read_lease;             /* raft.read_lease: 1 = on */
    unsigned max_connections;        /* api.max_connections */
    char http_bind[CONFIG_ADDR_MAX]; /* http.bind; empty: no HTTPS port */
    unsigned http_max_body;          /* http.max_body, bytes */
    unsigned http_rate_limit;        /* http.rate_limit, events/s per key */
    unsigned http_max_connections;   /* http.max_connections */
    /* http.client_certs.{events,metrics,status,health}: 0 optional,
     * 1 required (indexed by enum http_group) */
    unsigned http_client_certs[4];
    enum log_level log_level; /* log.level */
    /* limits.* (all filled in after loading: defaults in the comment
     * above) */
    unsigned limit_max_frame;       /* limits.max_frame, bytes */
    unsigned limit_max_body;        /* = http_max_body */
    unsigned limit_max_connections; /* default of the two above */
    unsigned limit_max_handshakes;  /* limits.max_handshakes */
    unsigned limit_per_client;      /* limits.max_connections_per_client */
    unsigned limit_handshake_ms;    /* limits.handshake_timeout */
    unsigned limit_idle_ms;         /* limits.idle_timeout */
    unsigned limit_http_idle_ms;    /* limits.http_idle_timeout */
    unsigned limit_request_ms;      /* limits.request_timeout */
    unsigned limit_client_rate;     /* limits.client_rate, requests/s */
    unsigned limit_key_rate;        /* = http_rate_limit */
    unsigned limit_state_mapped_mb; /* limits.state_mapped_mb, 0: off */
};

/*
 * Load and validate the file at `path`. out->path is its absolute path and
 * relative paths in it resolve against its directory. Returns 0, or -1
 * with a one-line message in err ("FILE:LINE: FIELD: REASON") and *out
 * left empty (config_free() is harmless on it).
 */
int config_load(const char *path, struct config *out, char *err, size_t errlen);

/*
 * The same from a string; `name` is FILE in messages and out->path.
 * Relative paths resolve against base_dir (itself against the working
 * directory if relative, or the working directory if NULL).
 */
int config_load_string(const char *name,
                       const char *text,
                       const char *base_dir,
                       struct config *out,
                       char *err,
                       size_t errlen);

void config_free(struct config *c);

/*
 * The base of libraft's election timers: half of raft.election_timeout, but
 * never under two heartbeat timeouts. A follower that hears nothing from
 * the leader stands for election after between the base and 1.5 times the
 * base (node.c, "timers"), so a dead leader is normally replaced within
 * the election timeout; a leader that hears from no majority for the base
 * steps down.
 */
unsigned config_election_base_ms(const struct config *c);

/* Find a member by id, NULL if none. */
const struct config_member *config_member(const struct config *c, uint64_t id);

/*
 * Split "host:port" (IPv4, [IPv6] or a host name) into host (without
 * brackets) and port 1..65535; 0, or -1 if malformed or host does not fit.
 */
int config_split_address(const char *addr,
                         char *host,
                         size_t hostlen,
                         unsigned *port);

/* The name of a level ("info"), or "?" if out of range. */
const char *config_log_level_name(enum log_level level);

#endif /* KLAXON_CONFIG_H */
