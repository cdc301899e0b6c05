/*
 * Raft transport over mutual TLS: an implementation of libraft's
 * struct raft_uv_transport that carries all node-to-node traffic over TLS
 * 1.3 with certificates from the cluster CA.
 *
 * libraft reads and writes a uv_stream_t. For each connection the
 * transport makes a socketpair: one end (a uv_pipe_t allocated with
 * raft_malloc, owned by libraft from then on) goes to libraft, the other
 * end is bridged to the TLS stream on the TCP connection, with
 * backpressure both ways (high/low marks on the write queues).
 *
 * Handshake inside TLS, after the certificates were verified:
 *   connecting node -> "KLXR" | 0 0 | apply version u8 | version u8 |
 *                      id u64 | len u16 | raft address
 *   (the apply version is 0 from nodes that predate it: read as 1)
 *   accepting node  -> one byte: 0 accepted, else refused (then closes)
 * The accepting node refuses a peer whose certificate is not a node
 * certificate (OU=node, CN=node-<id>) for the id it claims, whose id is not
 * a cluster member, or whose address is not the member's configured raft
 * address; refusals are logged. The connecting node checks that the node
 * it reached holds the certificate of the id it wanted to reach. libraft
 * is only given the configured address of the peer.
 *
 * Connections are one-way (libraft writes on the ones it opened and reads
 * on the ones it accepted). TCP keepalive and TCP_USER_TIMEOUT notice a
 * dead peer; either side's EOF closes both sides.
 */
#ifndef KLAXON_TRANSPORT_H
#define KLAXON_TRANSPORT_H

#include <openssl/ssl.h>
#include <raft.h>
#include <raft/uv.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "connlimit.h"
#include "list.h"

/* Peers whose announced apply version is remembered. */
#define TRANSPORT_MAX_PEERS 64

struct transport
{
    struct raft_uv_transport iface; /* give &iface to raft_uv_init */
    uv_loop_t *loop;
    SSL_CTX *ctx;
    const struct config *cfg;
    const struct raft *raft; /* its configuration vets peers; may be NULL */
    raft_id id;
    uv_tcp_t listener;
    bool listening;
    raft_uv_accept_cb accept_cb;
    struct list conns; /* live connections */
    bool closing;
    int pending_handles; /* listener + connections still closing */
    raft_uv_transport_close_cb close_cb;
    /* counters */
    uint64_t n_accepted;
    uint64_t n_connected;
    uint64_t n_refused;
    /* refusal log rate limit */
    uint64_t last_refusal_log_ms;
    uint64_t suppressed_refusals;
    /* apply versions announced by peers that connected (version.h) */
    struct
    {
        raft_id id;
        unsigned version;
    } peer_versions[TRANSPORT_MAX_PEERS];
    unsigned n_peer_versions;
    /* Incoming connections until the preamble is accepted: at most
     * limits.max_handshakes (and limits.max_connections_per_client per
     * source address), each for limits.handshake_timeout. */
    struct connlimit limits;
    uint64_t *limit_hits; /* metrics counters, or NULL */
};

/* Prepare the transport; the loop, context and config must outlive it.
 * limit_hits: LIMIT_KINDS counters of connections refused or closed by a
 * limit (the metrics), or NULL. */
void transport_init(struct transport *t,
                    uv_loop_t *loop,
                    SSL_CTX *ctx,
                    const struct config *cfg,
                    uint64_t *limit_hits);

/* The apply version peer id announced when it last connected to this
 * node; 0 when it has not connected since this node started. */
unsigned transport_peer_version(const struct transport *t, raft_id id);

/*
 * Use ctx for connections made or accepted from now on (certificate
 * rotation). Borrowed like the one given to transport_init; connections
 * already open keep the context they started with (each SSL holds its
 * own reference).
 */
void transport_set_tls(struct transport *t, SSL_CTX *ctx);

/* Number of peers with an established outgoing connection. */
unsigned transport_connected_peers(const struct transport *t);

#endif /* KLAXON_TRANSPORT_H */
