#include "node.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "faults.h"
#include "log.h"
#include "members.h"
#include "membership.h"
#include "raft_io_fix.h"
#include "snapfile.h"

#define MAX_PENDING_OPS 65536
#define MAX_BATCH_OPS 1024
#define MAX_BATCH_BYTES (1u << 20)
#define FATAL_EXIT_MS 3000
#define TRANSFER_WAIT_MS 1000
#define TICK_MS 10

#ifndef KLAXON_VERSION_STRING
#define KLAXON_VERSION_STRING "0.1.0"
#endif

struct batch
{
    struct raft_apply req;
    struct list link;
    struct node *node;
    uint64_t seq;
    uint64_t sent_ns; /* proposed at (uv_hrtime), for the read lease */
    size_t n;
    bool applied;
    struct node_op **ops;
    struct apply_result *results;
};

uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t node_time_ms(struct node *n)
{
    enum clock_event ev;
    int64_t jump;
    uint64_t t = clock_read(&n->clock, wall_ms(), mono_ms(), &ev, &jump);

    if (ev == CLOCK_STEPPED) {
        log_warn(
            "node: the wall clock jumped by %+lld ms; keeping the "
            "node's own time until it comes back",
            (long long)jump);
    } else if (ev == CLOCK_BACK) {
        log_info("node: the wall clock is back; following it again");
    } else if (ev == CLOCK_ACCEPTED) {
        log_warn(
            "node: the wall clock stayed %+lld ms from the node's time "
            "for %d minutes; following it from now on",
            (long long)jump, CLOCK_STEP_HOLD_MS / 60000);
    }
    return t;
}

/* --- failing queued work ---------------------------------------------------
 */

static void fail_ops(struct list *q, int code)
{
    while (!list_empty(q)) {
        struct node_op *op = list_entry(q->next, struct node_op, link);
        list_remove(&op->link);
        op->cb(op, code, NULL);
    }
}

static void fail_reads(struct list *q, int code)
{
    while (!list_empty(q)) {
        struct node_read *r = list_entry(q->next, struct node_read, link);
        list_remove(&r->link);
        r->cb(r, code);
    }
}

/* --- fatal disk errors -----------------------------------------------------
 */

static void fatal_exit_cb(uv_timer_t *t)
{
    (void)t;
    log_error("node: exiting after a disk failure");
    exit(1);
}

static void fatal_transfer_cb(struct raft_transfer *req)
{
    struct node *n = req->data;
    raft_id id;
    const char *addr;
    raft_leader(&n->raft, &id, &addr);
    log_error("node: leadership handed to node %llu; exiting",
              (unsigned long long)id);
    exit(1);
}

/* The Raft log or the state could not be written: hand over leadership
 * and exit non-zero so the supervisor restarts this node. */
static void node_fatal(struct node *n, const char *why)
{
    if (n->fatal) {
        return;
    }
    n->fatal = true;
    log_error("node: fatal: %s", why);
    uv_timer_start(&n->timer, fatal_exit_cb, FATAL_EXIT_MS, 0);
    if (raft_state(&n->raft) == RAFT_LEADER) {
        n->transfer.data = n;
        if (raft_transfer(&n->raft, &n->transfer, 0, fatal_transfer_cb) == 0) {
            return;
        }
    }
}

static void fsm_fatal(void *arg, const char *msg)
{
    node_fatal(arg, msg);
}

static bool is_disk_error(int status)
{
    return status != 0 && status != RAFT_NOTLEADER &&
           status != RAFT_LEADERSHIPLOST && status != RAFT_SHUTDOWN &&
           status != RAFT_CANCELED;
}

/* --- writes ----------------------------------------------------------------
 */

static struct apply_result *results_for(void *arg, uint64_t seq, size_t n_cmds)
{
    struct node *n = arg;
    for (struct list *i = n->inflight.next; i != &n->inflight; i = i->next) {
        struct batch *b = list_entry(i, struct batch, link);
        if (b->seq == seq) {
            if (b->n != n_cmds) {
                return NULL;
            }
            b->applied = true;
            return b->results;
        }
    }
    return NULL;
}

static void batch_free(struct batch *b)
{
    free(b->ops);
    free(b->results);
    free(b);
}

static void apply_cb(struct raft_apply *req, int status, void *result)
{
    struct batch *b = req->data;
    struct node *n = b->node;
    int code;

    (void)result;
    list_remove(&b->link);
    if (status == 0) {
        lease_extend(&n->lease, n->raft.current_term, b->sent_ns);
    }
    if (status == 0 || b->applied) {
        for (size_t i = 0; i < b->n; i++) {
            b->ops[i]->cb(b->ops[i], KLAXON__CODE__OK, &b->results[i]);
        }
        batch_free(b);
        return;
    }
    if (is_disk_error(status)) {
        char why[128];
        snprintf(why, sizeof why, "append failed: %s", raft_strerror(status));
        node_fatal(n, why);
    }
    code = KLAXON__CODE__UNKNOWN_OUTCOME;
    for (size_t i = 0; i < b->n; i++) {
        b->ops[i]->cb(b->ops[i], code, NULL);
    }
    batch_free(b);
}

static struct batch *batch_new(struct node *n, size_t count)
{
    struct batch *b = calloc(1, sizeof *b);
    if (b == NULL) {
        return NULL;
    }
    b->ops = calloc(count, sizeof *b->ops);
    b->results = calloc(count, sizeof *b->results);
    if (b->ops == NULL || b->results == NULL) {
        batch_free(b);
        return NULL;
    }
    b->node = n;
    b->req.data = b;
    return b;
}

/* Take up to MAX_BATCH_OPS / MAX_BATCH_BYTES ops off the queue into b and
 * the entry's command array. */
static void batch_take(struct node *n,
                       struct batch *b,
                       Klaxon__Cluster__Command **cmds)
{
    size_t bytes = 0;
    while (!list_empty(&n->pending_ops) && b->n < MAX_BATCH_OPS) {
        struct node_op *op =
            list_entry(n->pending_ops.next, struct node_op, link);
        size_t sz = klaxon__cluster__command__get_packed_size(op->cmd);
        if (b->n > 0 && bytes + sz > MAX_BATCH_BYTES) {
            break;
        }
        bytes += sz;
        list_remove(&op->link);
        n->n_pending_ops--;
        cmds[b->n] = (Klaxon__Cluster__Command *)op->cmd;
        b->ops[b->n++] = op;
    }
}

static void batch_fail(struct batch *b, int code)
{
    for (size_t i = 0; i < b->n; i++) {
        b->ops[i]->cb(b->ops[i], code, NULL);
    }
    batch_free(b);
}

/* Propose one batch. Returns false when nothing more should be tried. */
static bool propose_batch(struct node *n)
{
    size_t count =
        n->n_pending_ops < MAX_BATCH_OPS ? n->n_pending_ops : MAX_BATCH_OPS;
    Klaxon__Cluster__Command *cmds[MAX_BATCH_OPS];
    Klaxon__Cluster__Entry e = KLAXON__CLUSTER__ENTRY__INIT;
    struct raft_buffer buf;
    struct batch *b = batch_new(n, count);
    int rv;

    if (b == NULL) {
        return false;
    }
    batch_take(n, b, cmds);
    b->seq = n->next_seq++;
    e.version = 1;
    e.time_ms = node_time_ms(n);
    e.proposer_id = n->cfg->id;
    e.proposer_nonce = n->nonce;
    e.batch_seq = b->seq;
    e.n_commands = b->n;
    e.commands = cmds;
    if (fsm_encode_entry(&e, &buf) != 0) {
        batch_fail(b, KLAXON__CODE__UNAVAILABLE);
        return false;
    }
    list_push(&n->inflight, &b->link);
    b->sent_ns = uv_hrtime();
    rv = raft_apply(&n->raft, &b->req, &buf, 1, apply_cb);
    if (rv != 0) {
        list_remove(&b->link);
        raft_free(buf.base);
        batch_fail(b, rv == RAFT_NOTLEADER ? KLAXON__CODE__NOT_LEADER
                                           : KLAXON__CODE__UNAVAILABLE);
        return false;
    }
    n->n_batches++;
    return true;
}

static void flush_ops(struct node *n)
{
    while (!list_empty(&n->pending_ops) && propose_batch(n)) {
    }
}

int node_submit(struct node *n, struct node_op *op)
{
    if (n->closing) {
        return KLAXON__CODE__UNAVAILABLE;
    }
    if (n->leader_term == 0 || raft_state(&n->raft) != RAFT_LEADER) {
        return KLAXON__CODE__NOT_LEADER;
    }
    if (n->n_pending_ops >= MAX_PENDING_OPS) {
        return KLAXON__CODE__UNAVAILABLE;
    }
    list_push(&n->pending_ops, &op->link);
    n->n_pending_ops++;
    return 0;
}

/* --- reads -----------------------------------------------------------------
 */

static void read_barrier_cb(struct raft_barrier *req, int status)
{
    struct node *n = req->data;
    struct list done;

    n->read_pending = false;
    list_init(&done);
    list_splice(&done, &n->barrier_reads);
    if (status == 0) {
        n->n_barriers++;
        n->n_barrier_reads += list_length(&done);
        lease_extend(&n->lease, n->raft.current_term, n->read_sent_ns);
        fail_reads(&done, KLAXON__CODE__OK);
        return;
    }
    if (is_disk_error(status)) {
        node_fatal(n, "barrier append failed");
    }
    fail_reads(&done, n->closing ? KLAXON__CODE__UNAVAILABLE
                                 : KLAXON__CODE__NOT_LEADER);
}

/* May reads be answered now from the applied state (lease.h)? */
static bool lease_reads_ok(struct node *n)
{
    /* half of libraft's own election timeout: its followers' shortest */
    uint64_t duration_ns = (uint64_t)n->raft.election_timeout * 1000000 / 2;

    return n->cfg->read_lease && n->ready && n->raft.transfer == NULL &&
           raft_state(&n->raft) == RAFT_LEADER &&
           lease_holds(&n->lease, n->raft.current_term, uv_hrtime(),
                       duration_ns);
}

static void flush_reads(struct node *n)
{
    int rv;

    if (list_empty(&n->pending_reads)) {
        return;
    }
    if (lease_reads_ok(n)) {
        struct list done;
        list_init(&done);
        list_splice(&done, &n->pending_reads);
        n->n_lease_reads += list_length(&done);
        fail_reads(&done, KLAXON__CODE__OK);
        return;
    }
    if (n->read_pending) {
        return;
    }
    n->read_barrier.data = n;
    n->read_sent_ns = uv_hrtime();
    rv = raft_barrier(&n->raft, &n->read_barrier, read_barrier_cb);
    if (rv != 0) {
        fail_reads(&n->pending_reads, rv == RAFT_NOTLEADER
                                          ? KLAXON__CODE__NOT_LEADER
                                          : KLAXON__CODE__UNAVAILABLE);
        return;
    }
    n->read_pending = true;
    list_splice(&n->barrier_reads, &n->pending_reads);
}

int node_read(struct node *n, struct node_read *r)
{
    if (n->closing) {
        return KLAXON__CODE__UNAVAILABLE;
    }
    if (n->leader_term == 0 || raft_state(&n->raft) != RAFT_LEADER) {
        return KLAXON__CODE__NOT_LEADER;
    }
    list_push(&n->pending_reads, &r->link);
    n->n_reads++;
    return 0;
}

/* --- leadership ------------------------------------------------------------
 */

/*
 * A new leader probes each follower with one message per heartbeat timeout
 * until the follower's log matches (libraft 0.15). A follower that missed
 * the last entries of the old leader answers the first probe with a
 * refusal, and the barrier that makes the leader ready would then wait a
 * heartbeat timeout (500 ms by default). Until the leader is ready, let
 * libraft send whenever it has something to send.
 */
static void catch_up(struct node *n, bool on)
{
    raft_set_heartbeat_timeout(&n->raft, on ? 0 : n->cfg->heartbeat_ms);
}

static void ready_barrier_cb(struct raft_barrier *req, int status)
{
    struct node *n = req->data;
    n->ready_pending = false;
    catch_up(n, false);
    if (n->closing) {
        return;
    }
    if (status != 0) {
        if (is_disk_error(status)) {
            node_fatal(n, "barrier append failed");
        }
        log_info("raft: leadership of term %llu ended before it was ready",
                 (unsigned long long)n->leader_term);
        return;
    }
    if (raft_state(&n->raft) == RAFT_LEADER &&
        n->raft.current_term == n->leader_term) {
        lease_extend(&n->lease, n->raft.current_term, n->ready_sent_ns);
        n->ready = true;
        log_info("raft: leader of term %llu is ready (applied index %llu)",
                 (unsigned long long)n->leader_term,
                 (unsigned long long)n->fsm.applied);
    }
}

static void become_leader(struct node *n)
{
    int rv;

    n->leader_term = n->raft.current_term;
    n->ready = false;
    log_info("raft: became leader (term %llu)",
             (unsigned long long)n->leader_term);
    if (n->ready_pending) {
        return; /* a barrier of an earlier term is still out */
    }
    n->ready_barrier.data = n;
    n->ready_sent_ns = uv_hrtime();
    rv = raft_barrier(&n->raft, &n->ready_barrier, ready_barrier_cb);
    if (rv != 0) {
        log_warn("raft: barrier after election: %s", raft_strerror(rv));
        n->leader_term = 0; /* retried at the next iteration */
        return;
    }
    n->ready_pending = true;
    catch_up(n, true);
}

static void lose_leadership(struct node *n)
{
    log_info("raft: no longer leader (term %llu, now %s)",
             (unsigned long long)n->leader_term,
             raft_state(&n->raft) == RAFT_FOLLOWER ? "follower" : "candidate");
    n->leader_term = 0;
    n->ready = false;
    lease_drop(&n->lease);
    catch_up(n, false);
    fail_ops(&n->pending_ops, KLAXON__CODE__NOT_LEADER);
    n->n_pending_ops = 0;
    fail_reads(&n->pending_reads, KLAXON__CODE__NOT_LEADER);
}

static void track_leadership(struct node *n)
{
    bool leader = raft_state(&n->raft) == RAFT_LEADER;

    if (leader && n->leader_term != n->raft.current_term) {
        if (n->leader_term != 0) {
            lose_leadership(n);
        }
        become_leader(n);
    } else if (!leader && n->leader_term != 0) {
        lose_leadership(n);
    } else if (leader && !n->ready && !n->ready_pending) {
        become_leader(n); /* the previous barrier failed: try again */
    }
}

/* Log a follower's view changes: an election starting here, a leader
 * found. Leaders log in become_leader(). */
static void note_role(struct node *n)
{
    int state = raft_state(&n->raft);
    raft_id leader = 0;
    const char *addr;

    raft_leader(&n->raft, &leader, &addr);
    if (state == RAFT_CANDIDATE && n->seen_state != RAFT_CANDIDATE) {
        log_info("raft: standing for election (last log index %llu)",
                 (unsigned long long)raft_last_index(&n->raft));
    } else if (state == RAFT_FOLLOWER && leader != 0 &&
               leader != n->seen_leader) {
        log_info("raft: following node %llu", (unsigned long long)leader);
    }
    n->seen_state = state;
    n->seen_leader = leader;
}

/* Runs once per loop iteration, after I/O: the group commit point. */
static void check_cb(uv_check_t *h)
{
    struct node *n = h->data;
    if (n->closing || n->fatal) {
        return;
    }
    (void)node_time_ms(n); /* notice clock steps as they happen */
    note_role(n);
    track_leadership(n);
    if (n->ready) {
        flush_ops(n);
        flush_reads(n);
    }
}

bool node_is_leader(const struct node *n)
{
    return n->leader_term != 0;
}

bool node_is_ready(struct node *n)
{
    return n->ready && n->leader_term != 0 && !n->closing && !n->fatal &&
           raft_state(&n->raft) == RAFT_LEADER;
}

void node_leader(struct node *n, uint64_t *id, const char **api_address)
{
    raft_id lid = 0;
    const char *raft_addr = NULL;

    *id = 0;
    *api_address = NULL;
    if (!n->raft_ready) {
        return;
    }
    raft_leader(&n->raft, &lid, &raft_addr);
    if (lid == 0) {
        return;
    }
    *id = lid;
    members_api_address(&n->store, n->cfg, lid, n->leader_api,
                        sizeof n->leader_api);
    if (n->leader_api[0] != '\0') {
        *api_address = n->leader_api;
    }
}

/* --- start and stop --------------------------------------------------------
 */

static int make_dir(const char *path, char *err, size_t errlen)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "node.data_dir: create %s: %s", path,
                 strerror(errno));
        return -1;
    }
    return 0;
}

static int bootstrap(struct node *n, char *err, size_t errlen)
{
    struct raft_configuration conf;
    int rv = 0;

    if (n->cfg->join) {
        log_info(
            "raft: cluster.join is set: not bootstrapping; waiting "
            "for the leader to add node %llu (klaxonctl member add)",
            (unsigned long long)n->cfg->id);
        return 0;
    }
    raft_configuration_init(&conf);
    for (unsigned i = 0; i < n->cfg->n_members && rv == 0; i++) {
        rv =
            raft_configuration_add(&conf, n->cfg->members[i].id,
                                   n->cfg->members[i].raft_address, RAFT_VOTER);
    }
    if (rv == 0) {
        rv = raft_bootstrap(&n->raft, &conf);
        if (rv == 0) {
            log_info("raft: bootstrapped a new cluster of %u nodes",
                     n->cfg->n_members);
        } else if (rv == RAFT_CANTBOOTSTRAP) {
            rv = 0; /* existing state: start from it */
        }
    }
    raft_configuration_close(&conf);
    if (rv != 0) {
        snprintf(err, errlen, "raft: bootstrap: %s", raft_strerror(rv));
        return -1;
    }
    return 0;
}

/* --- timers ----------------------------------------------------------------
 *
 * libraft 0.15 asks its I/O for one tick per heartbeat timeout and checks
 * every timer (election, heartbeat, leader's quorum) only on a tick, so a
 * follower would notice a silent leader up to a heartbeat timeout late
 * (500 ms by default), and nodes whose ticks happen to fall together
 * stand for election together and split the vote. Its timers are kept in
 * absolute time, so ticking more often only makes them more precise.
 */
/* After a failed append, libraft 0.15 may try to send a follower a
 * snapshot that does not exist and crash; the node only waits for its
 * leadership transfer then, and ticks (heartbeats) would take it there. */
static void tick(struct raft_io *io)
{
    struct raft *r = io->data;
    struct node *n = r->data;

    if (!n->fatal) {
        n->raft_tick(io);
    }
}

static int start_ticking(struct raft_io *io,
                         unsigned msecs,
                         raft_io_tick_cb raft_tick,
                         raft_io_recv_cb recv)
{
    struct raft *r = io->data;
    struct node *n = r->data;

    n->raft_tick = raft_tick;
    return n->io_start(io, msecs < TICK_MS ? msecs : TICK_MS, tick, recv);
}

/*
 * libraft 0.15 asks its I/O for a random number only to draw an election
 * timer, between its base (min, half the configured election timeout) and
 * twice that. Two things it does make a failover slow:
 *
 * - A follower refuses every vote, pre-votes included, until its own timer
 *   fires. With one of three nodes dead, the new leader needs both other
 *   nodes' timers to have fired, so the later of two draws counts: draw
 *   followers' timers from the lower half of the range (half to three
 *   quarters of the election timeout).
 * - When the first node to stand has log entries the other lacks, the
 *   other cannot win, and only the first node's retry elects a leader. A
 *   pre-vote changes no term and no vote, so retry it at the base: by
 *   then every other follower's timer has fired.
 *
 * Real votes keep libraft's full range, as do later pre-vote retries.
 */
void node_timer_range(int state,
                      bool in_pre_vote,
                      bool first,
                      int min,
                      int max,
                      int *lo,
                      int *hi)
{
    *lo = min;
    *hi = max;
    if (state == RAFT_FOLLOWER) {
        *hi = min + (max - min) / 2;
    } else if (state == RAFT_CANDIDATE && in_pre_vote && first) {
        *hi = min;
    }
}

static int draw_timeout(struct raft_io *io, int min, int max)
{
    struct raft *r = io->data;
    struct node *n = r->data;
    int state = raft_state(r);
    bool pre_vote = state == RAFT_CANDIDATE && r->candidate_state.in_pre_vote;
    int lo;
    int hi;

    node_timer_range(state, pre_vote, n->drew_as_follower, min, max, &lo, &hi);
    n->drew_as_follower = state == RAFT_FOLLOWER;
    return lo == hi ? lo : n->io_random(io, lo, hi);
}

static void tune_raft(struct node *n)
{
    const struct config *c = n->cfg;
    unsigned retry = c->heartbeat_ms * 2;

    /* libraft's base: half the election timeout (see "timers"). */
    raft_set_election_timeout(&n->raft, config_election_base_ms(c));
    raft_set_heartbeat_timeout(&n->raft, c->heartbeat_ms);
    raft_set_snapshot_threshold(&n->raft, c->snapshot_threshold);
    raft_set_snapshot_trailing(&n->raft, c->snapshot_trailing);
    raft_set_install_snapshot_timeout(&n->raft, 30000 + 10 * c->election_ms);
    raft_set_pre_vote(&n->raft, true);
    raft_uv_set_connect_retry_delay(&n->io, retry < 100    ? 100
                                            : retry > 1000 ? 1000
                                                           : retry);
}

static int start_raft(struct node *n,
                      const char *raft_dir,
                      char *err,
                      size_t errlen)
{
    int rv;

    transport_init(&n->transport, n->loop, n->tls, n->cfg,
                   n->metrics.limits[LISTENER_RAFT]);
    rv = raft_uv_init(&n->io, n->loop, raft_dir, &n->transport.iface);
    if (rv != 0) {
        snprintf(err, errlen, "raft: init log in %s: %s", raft_dir,
                 n->io.errmsg[0] ? n->io.errmsg : raft_strerror(rv));
        return -1;
    }
    n->io_ready = true;
    faults_wrap_io(&n->io);
    /* libraft 0.15's raft_uv implements async_work (and waits for it when
     * closing) but still says version 1, which rules out snapshots taken
     * off the loop. */
    if (n->io.async_work != NULL && n->io.version < 2) {
        n->io.version = 2;
    }
    if (fsm_init(&n->fsm, &n->store, n->cfg->id, n->nonce,
                 n->io.version >= 2 && n->io.async_work != NULL, err,
                 errlen) != 0) {
        return -1;
    }
    log_budget_init(&n->fsm.budget, (uint64_t)n->cfg->log_memory_mb << 20,
                    n->cfg->snapshot_threshold, n->cfg->snapshot_trailing);
    n->fsm.snap_dir = n->snap_dir;
    n->fsm.raft_dir = n->raft_dir;
    n->fsm.results = results_for;
    n->fsm.results_arg = n;
    n->fsm.fatal = fsm_fatal;
    n->fsm.fatal_arg = n;
    rv = raft_init(&n->raft, &n->io, &n->fsm.iface, n->cfg->id,
                   n->cfg->raft_address);
    if (rv != 0) {
        snprintf(err, errlen, "raft: init: %s", raft_errmsg(&n->raft));
        return -1;
    }
    n->raft_ready = true;
    n->raft.data = n;
    raft_io_fix_install(&n->io_fix, &n->io);
    snap_send_install(&n->snap_send, &n->io, n->loop, n->snap_dir);
    n->io_start = n->io.start; /* the fix's, around raft_uv's */
    n->io.start = start_ticking;
    n->io_random = n->io.random;
    n->io.random = draw_timeout;
    n->transport.raft = &n->raft;
    n->fsm.raft = &n->raft;
    tune_raft(n);
    if (bootstrap(n, err, errlen) != 0) {
        return -1;
    }
    rv = raft_start(&n->raft);
    if (rv != 0) {
        snprintf(err, errlen, "raft: start: %s", raft_errmsg(&n->raft));
        return -1;
    }
    return 0;
}

int node_start(struct node *n,
               uv_loop_t *loop,
               const struct config *cfg,
               SSL_CTX *tls,
               char *err,
               size_t errlen)
{
    char path[4200];

    memset(n, 0, sizeof *n);
    n->loop = loop;
    n->cfg = cfg;
    n->tls = tls;
    n->started_ms = uv_now(loop);
    list_init(&n->pending_ops);
    list_init(&n->inflight);
    list_init(&n->pending_reads);
    list_init(&n->barrier_reads);
    clock_init(&n->clock, wall_ms(), mono_ms());
    if (getrandom(&n->nonce, sizeof n->nonce, 0) != sizeof n->nonce) {
        n->nonce = wall_ms() ^ ((uint64_t)getpid() << 32);
    }
    uv_check_init(loop, &n->check);
    uv_timer_init(loop, &n->timer);
    n->check.data = n;
    n->timer.data = n;
    if (make_dir(cfg->data_dir, err, errlen) != 0) {
        return -1;
    }
    snprintf(path, sizeof path, "%s/state", cfg->data_dir);
    if (store_open(&n->store, path, STORE_DEFAULT_MAP_SIZE, err, errlen) != 0) {
        return -1;
    }
    if (backup_init(&n->backup, loop, &n->store, cfg->data_dir, err, errlen) !=
        0) {
        return -1;
    }
    if (map_trim_start(&n->map_trim, loop, n->store.env,
                       cfg->limit_state_mapped_mb) != 0) {
        snprintf(err, errlen, "state: cannot start the map trimmer");
        return -1;
    }
    if (cfg->limit_state_mapped_mb > 0) {
        n->store.trim = &n->map_trim; /* no looks at all when off */
    }
    snprintf(n->raft_dir, sizeof n->raft_dir, "%s/raft", cfg->data_dir);
    snprintf(n->snap_dir, sizeof n->snap_dir, "%s/" SNAPFILE_DIR,
             cfg->data_dir);
    if (make_dir(n->raft_dir, err, errlen) != 0 ||
        make_dir(n->snap_dir, err, errlen) != 0) {
        return -1;
    }
    snapfile_prune(n->snap_dir, n->raft_dir, 0);
    if (start_raft(n, n->raft_dir, err, errlen) != 0) {
        return -1;
    }
    uv_check_start(&n->check, check_cb);
    log_info("node: started (state at index %llu%s)",
             (unsigned long long)n->fsm.applied,
             n->store.rebuilt ? ", rebuilt after an unclean stop" : "");
    return 0;
}

static void handles_closed(uv_handle_t *h)
{
    struct node *n = h->data;
    if (h == (uv_handle_t *)&n->timer && n->stopped_cb != NULL) {
        n->stopped_cb(n);
    }
}

static void raft_closed(struct raft *r)
{
    struct node *n = r->data;
    /* libraft 0.15 can run the close callback twice: act on the first. */
    if (n->raft_closed) {
        return;
    }
    n->raft_closed = true;
    log_info("raft: closed");
    uv_close((uv_handle_t *)&n->check, handles_closed);
    uv_close((uv_handle_t *)&n->timer, handles_closed);
}

static void close_raft(struct node *n)
{
    if (n->raft_closing) {
        return;
    }
    n->raft_closing = true;
    n->snap_send.closing = true;
    uv_timer_stop(&n->timer);
    fail_ops(&n->pending_ops, KLAXON__CODE__UNAVAILABLE);
    n->n_pending_ops = 0;
    fail_reads(&n->pending_reads, KLAXON__CODE__UNAVAILABLE);
    raft_close(&n->raft, raft_closed);
}

static void stop_transfer_cb(struct raft_transfer *req)
{
    struct node *n = req->data;
    raft_id id;
    const char *addr;
    if (n->raft_closing) {
        return;
    }
    raft_leader(&n->raft, &id, &addr);
    log_info("raft: leadership handed to node %llu", (unsigned long long)id);
    close_raft(n);
}

static void stop_timeout_cb(uv_timer_t *t)
{
    struct node *n = t->data;
    log_warn("raft: leadership transfer did not finish; closing anyway");
    close_raft(n);
}

void node_set_tls(struct node *n, SSL_CTX *tls)
{
    n->tls = tls;
    transport_set_tls(&n->transport, tls);
}

void node_stop(struct node *n, void (*cb)(struct node *n))
{
    if (n->closing) {
        return;
    }
    n->closing = true;
    n->stopped_cb = cb;
    uv_check_stop(&n->check);
    backup_stop(&n->backup);
    map_trim_stop(&n->map_trim);
    if (!n->raft_ready) {
        uv_close((uv_handle_t *)&n->check, handles_closed);
        uv_close((uv_handle_t *)&n->timer, handles_closed);
        return;
    }
    /* A leader hands over first, so the cluster does not wait for an
     * election timeout. */
    if (raft_state(&n->raft) == RAFT_LEADER &&
        member_voters(&n->raft.configuration) > 1) {
        n->transfer.data = n;
        if (raft_transfer(&n->raft, &n->transfer, 0, stop_transfer_cb) == 0) {
            /* A transfer takes a few round trips; when the whole cluster
             * stops at once it cannot succeed, so do not wait long. */
            uv_timer_start(&n->timer, stop_timeout_cb,
                           n->cfg->election_ms < TRANSFER_WAIT_MS
                               ? n->cfg->election_ms
                               : TRANSFER_WAIT_MS,
                           0);
            return;
        }
    }
    close_raft(n);
}

void node_destroy(struct node *n)
{
    if (n->io_ready) {
        raft_uv_close(&n->io);
        n->io_ready = false;
    }
    backup_destroy(&n->backup);
    fsm_close(&n->fsm);
    n->store.trim = NULL;
    map_trim_destroy(&n->map_trim);
    store_close(&n->store);
}

void node_status(struct node *n,
                 Klaxon__NodeStatus *st,
                 Klaxon__Member **members,
                 Klaxon__Member *member_storage)
{
    static const char *const roles[] = {"unavailable", "follower", "candidate",
                                        "leader"};
    const char *leader_api;
    int state = n->raft_ready ? raft_state(&n->raft) : RAFT_UNAVAILABLE;

    klaxon__node_status__init(st);
    st->id = n->cfg->id;
    st->role = (char *)roles[state >= 0 && state <= 3 ? state : 0];
    st->term = n->raft_ready ? n->raft.current_term : 0;
    st->commit_index = n->raft_ready ? n->raft.commit_index : 0;
    /* Barrier entries are applied by libraft alone; after a restart the
     * store can be ahead of libraft's view. Report the later of the two. */
    st->applied_index = n->fsm.applied;
    if (n->raft_ready && raft_last_applied(&n->raft) > st->applied_index) {
        st->applied_index = raft_last_applied(&n->raft);
    }
    st->last_log_index = n->raft_ready ? raft_last_index(&n->raft) : 0;
    node_leader(n, &st->leader_id, &leader_api);
    st->leader_api_address = (char *)(leader_api != NULL ? leader_api : "");
    st->ready = n->ready;
    st->version = (char *)KLAXON_VERSION_STRING;
    st->uptime_ms = uv_now(n->loop) - n->started_ms;
    st->n_members = membership_view(n, members, member_storage);
    st->members = members;
}
