/*
 * A klaxon node: libraft (raft_uv log on disk, TLS transport), the state
 * machine over LMDB, and the two services the API needs from them:
 *
 * - Writes (node_submit): commands wait in a queue; once per loop
 *   iteration the queue is cut into batches, each batch becomes one Raft
 *   entry (group commit) stamped with the leader's wall clock. The op's
 *   callback gets the command's result once the entry is applied here.
 * - Linearizable reads (node_read): reads wait for a Raft barrier that was
 *   proposed after they arrived; one barrier serves every read queued
 *   before it. When the callback fires with OK, the caller reads the store.
 *
 * Leadership: a node that becomes leader proposes a barrier and serves
 * nothing until it commits (libraft 0.15 does not commit entries of earlier
 * terms otherwise, and the barrier makes reads linearizable). Writes and
 * reads that arrive meanwhile wait. A node that is not leader refuses with
 * NOT_LEADER so the client goes to the leader; when leadership is lost,
 * queued work fails with NOT_LEADER and in-flight writes with
 * UNKNOWN_OUTCOME (they may still commit; the request id makes the
 * client's retry safe).
 *
 * Disk failure: when libraft reports an I/O error on an append or apply,
 * the node transfers leadership, then exits with status 1 so that its
 * supervisor restarts it (libraft 0.15 can otherwise stay leader).
 *
 * Callback contract: node_submit()/node_read() either return a code and
 * never call the callback, or return 0 and call it exactly once, never
 * synchronously.
 */
#ifndef KLAXON_NODE_H
#define KLAXON_NODE_H

#include <openssl/ssl.h>
#include <raft.h>
#include <raft/uv.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "backup.h"
#include "clock.h"
#include "cluster.pb-c.h"
#include "config.h"
#include "fsm.h"
#include "lease.h"
#include "list.h"
#include "map_trim.h"
#include "member_check.h"
#include "metrics.h"
#include "raft_io_fix.h"
#include "snap_send.h"
#include "store.h"
#include "transport.h"

struct node_op;
struct member_change;
/* code: KLAXON__CODE__OK (res is the command's outcome), NOT_LEADER,
 * UNKNOWN_OUTCOME or UNAVAILABLE (res is NULL). */
typedef void (*node_op_cb)(struct node_op *op,
                           int code,
                           const struct apply_result *res);

struct node_op
{
    struct list link;
    const Klaxon__Cluster__Command *cmd; /* borrowed until the callback */
    node_op_cb cb;
    void *data;
};

struct node_read;
/* code: KLAXON__CODE__OK (read the store now), NOT_LEADER, UNAVAILABLE. */
typedef void (*node_read_cb)(struct node_read *r, int code);

struct node_read
{
    struct list link;
    node_read_cb cb;
    void *data;
};

struct node
{
    uv_loop_t *loop;
    const struct config *cfg;
    SSL_CTX *tls;
    struct store store;
    struct fsm fsm;
    struct transport transport;
    struct raft_io io;
    struct raft raft;
    struct raft_io_fix io_fix;  /* raft_io_fix.h */
    struct snap_send snap_send; /* snap_send.h */
    char snap_dir[4200];        /* DATA_DIR/snapshots: state files */
    char raft_dir[4200];        /* DATA_DIR/raft: libraft's log */
    bool io_ready; /* raft_uv_init done: raft_uv_close at destroy */
    /* raft_uv's own start and random (node.c gives libraft a finer tick
     * and draws its election timers) */
    int (*io_start)(struct raft_io *io,
                    unsigned msecs,
                    raft_io_tick_cb tick,
                    raft_io_recv_cb recv);
    int (*io_random)(struct raft_io *io, int min, int max);
    raft_io_tick_cb raft_tick; /* libraft's tick callback */
    bool drew_as_follower; /* the last election timer drawn was a follower's */
    bool raft_ready;       /* raft_init done */
    uv_check_t check;
    uv_timer_t timer; /* shutdown and fatal-exit deadlines */
    uint64_t nonce;
    uint64_t next_seq;
    struct clock clock; /* the node's time (node_time_ms) */
    uint64_t started_ms;
    /* leadership */
    raft_term leader_term; /* term we lead in, 0 if not leader */
    bool ready;            /* leader whose first barrier committed */
    bool ready_pending;
    struct raft_barrier ready_barrier;
    uint64_t ready_sent_ns; /* uv_hrtime() when it was proposed */
    struct lease lease;     /* reads without a barrier (lease.h) */
    int seen_state;         /* raft_state() at the last check (role logs) */
    raft_id seen_leader;    /* leader id known at the last check */
    /* writes */
    struct list pending_ops;
    size_t n_pending_ops;
    struct list inflight; /* struct batch */
    /* reads */
    struct list pending_reads;
    struct list barrier_reads;
    bool read_pending;
    struct raft_barrier read_barrier;
    uint64_t read_sent_ns;
    /* shutdown */
    bool closing;
    bool raft_closing;
    bool raft_closed;
    bool fatal;
    int exit_code;
    struct raft_transfer transfer;
    void (*stopped_cb)(struct node *n);
    struct metrics metrics;
    struct backup backup;     /* backup files (klaxonctl snapshot save) */
    struct map_trim map_trim; /* LMDB pages mapped (map_trim.h) */
    /* membership (membership.c) */
    struct member_change *member_change; /* the change in progress, if any */
    char leader_api[CONFIG_ADDR_MAX];    /* node_leader()'s answer */
    char member_api[MEMBERS_MAX][CONFIG_ADDR_MAX]; /* membership_view() */
    /* counters */
    uint64_t n_batches;
    uint64_t n_reads;
    uint64_t n_barriers;
    uint64_t n_lease_reads;   /* reads answered under the lease */
    uint64_t n_barrier_reads; /* reads answered after a barrier */
};

/*
 * The range [*lo, *hi] from which the node draws an election timer when
 * libraft asks for one between min (its base) and max (twice the base):
 * the lower half for a follower, the base itself for the first pre-vote
 * retry of a node that just stood for election (`first`: the previous draw
 * was a follower's), the whole range otherwise. See node.c, "timers".
 */
void node_timer_range(int state,
                      bool in_pre_vote,
                      bool first,
                      int min,
                      int max,
                      int *lo,
                      int *hi);

/* Open the state, set up Raft and start it. 0, or -1 with a message. */
int node_start(struct node *n,
               uv_loop_t *loop,
               const struct config *cfg,
               SSL_CTX *tls,
               char *err,
               size_t errlen);

/* Certificate rotation: Raft connections made or accepted from now on use
 * tls (borrowed, like the one given to node_start); open ones keep theirs. */
void node_set_tls(struct node *n, SSL_CTX *tls);

/* Stop: hand leadership over if leader, close Raft; cb when done. */
void node_stop(struct node *n, void (*cb)(struct node *n));

/* Release what outlives the loop (after uv_run returned). */
void node_destroy(struct node *n);

/* Queue a write (see the callback contract above). Returns 0, or
 * KLAXON__CODE__NOT_LEADER / KLAXON__CODE__UNAVAILABLE. */
int node_submit(struct node *n, struct node_op *op);

/* Queue a linearizable read. Returns 0, or NOT_LEADER / UNAVAILABLE. */
int node_read(struct node *n, struct node_read *r);

bool node_is_leader(const struct node *n);

/* A leader whose first barrier committed, not stopping: it may propose. */
bool node_is_ready(struct node *n);

/* The wall clock (CLOCK_REALTIME) in ms since the epoch. */
uint64_t wall_ms(void);

/*
 * The node's time in ms since the epoch: the time a leader stamps on
 * entries and compares deadlines with. The wall clock, unless it just
 * stepped (see clock.h); steps are logged.
 */
uint64_t node_time_ms(struct node *n);

/* Known leader: id (0 if none) and its API address (NULL if none; it
 * points into the node until the next call). */
void node_leader(struct node *n, uint64_t *id, const char **api_address);

/* Fill a status message (strings point into the node or static; valid
 * until the next call). `members` and `member_storage` have MEMBERS_MAX
 * entries: the members of the current Raft configuration. */
void node_status(struct node *n,
                 Klaxon__NodeStatus *st,
                 Klaxon__Member **members,
                 Klaxon__Member *member_storage);

#endif /* KLAXON_NODE_H */
