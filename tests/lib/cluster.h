/*
 * Integration test fixture: real klaxon clusters on loopback.
 *
 * A cluster is run by deploy/local-cluster.sh in a fresh temporary
 * directory (under $TMPDIR or /tmp) on a randomly chosen free port range,
 * with the short (--fast) Raft timeouts. Node i (1-based) listens for Raft
 * on 127.0.0.1:(base_port+i-1) and for clients on
 * 127.0.0.1:(base_port+100+i-1); its files are in <dir>/node<i>/
 * (klaxond.yaml, data/, klaxond.log, pid, exit-status).
 *
 * Environment:
 *   KLAXON_SRC            repository root (default: the current directory)
 *   BUILD                 build directory, relative to the repository root
 *                         unless absolute (default: build)
 *   KLAXOND, KLAXONCTL    binaries to use instead of $BUILD/klaxond and
 *                         $BUILD/klaxonctl
 *   KLAXON_KEEP_TEST_DIR  1: cluster_stop() keeps the directory
 *
 * Functions returning int return 0 (or the documented value) on success and
 * -1 on failure, after printing why on stderr.
 */
#ifndef KLAXON_TESTS_CLUSTER_H
#define KLAXON_TESTS_CLUSTER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "klaxon.h"

/* Largest cluster the fixture runs. */
#define CLUSTER_MAX_NODES 9

/* Client port of node i = base_port + CLUSTER_API_OFFSET + i - 1. */
#define CLUSTER_API_OFFSET 100
/* HTTPS port of node i = base_port + CLUSTER_HTTP_OFFSET + i - 1. */
#define CLUSTER_HTTP_OFFSET 200

struct cluster
{
    char dir[PATH_MAX];
    unsigned n;
    unsigned base_port;
    char endpoints[1024]; /* every node's API address, comma-separated */
    char ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX]; /* client "admin" */
    char api[CLUSTER_MAX_NODES][32]; /* API address of node i at [i-1] */
    char script[PATH_MAX];           /* deploy/local-cluster.sh */
    char build[PATH_MAX];            /* absolute build directory */
    bool keep;                       /* cluster_stop() keeps dir */
};

/*
 * Start an n-node cluster in a fresh temp dir (under $TMPDIR or /tmp) on a
 * free port range, with --fast timeouts; extra_args (may be NULL) are split
 * on blanks and appended to the start command (e.g. "--snapshot-threshold
 * 64 --snapshot-trailing 16"). Waits until it answers a linearizable read.
 * 0 or -1 (prints why, including node log tails; the directory is kept).
 */
int cluster_start(struct cluster *c, unsigned n, const char *extra_args);

/* Stop all nodes and remove the dir unless KLAXON_KEEP_TEST_DIR=1 or
 * cluster_keep() was called. Returns -1 (and keeps the dir) if a node that
 * was running did not exit with status 0, or if a node's log shows a
 * sanitizer report, a failed assertion or a crash; else 0. Harmless on a
 * cluster that failed to start or was already stopped. */
int cluster_stop(struct cluster *c);

/* Keep the dir for post-mortem (after a failed test); prints its path. */
void cluster_keep(struct cluster *c);

/* SIGKILL node (1-based) and wait until it is gone. */
int cluster_kill(struct cluster *c, unsigned node);

/* Start a stopped node again with its config and data; waits until its
 * process runs and its API port listens. */
int cluster_restart(struct cluster *c, unsigned node);

/*
 * Start a new node, number c->n + 1, that joins the running cluster: a
 * node certificate for it (the cluster's CA), a fresh data directory and
 * a klaxond.yaml like node 1's with its own addresses and cluster.join:
 * true (cluster.members stays the original list). It waits to be added
 * (klaxon_member_add with cluster_raft_address()). Waits until its API
 * port listens; *node is its number. c->n, c->api and c->endpoints then
 * include it.
 */
int cluster_add_node(struct cluster *c, unsigned *node);

/* "127.0.0.1:port" of node's Raft address into buf; buf or NULL. */
const char *cluster_raft_address(const struct cluster *c,
                                 unsigned node,
                                 char *buf,
                                 size_t len);

/* SIGTERM node and wait (up to 30 s) for it to exit; returns the exit status
 * of klaxond (0 = clean, 128+N = killed by signal N) or -1. */
int cluster_term(struct cluster *c, unsigned node);

/* Send sig (e.g. SIGSTOP, SIGCONT) to node's klaxond. */
int cluster_signal(const struct cluster *c, unsigned node, int sig);

/* Exit status of node's klaxond at its last exit (0 clean, 1 runtime
 * failure, 137 SIGKILL...), or -1 if it never exited. */
int cluster_exit_status(const struct cluster *c, unsigned node);

/* Pid of node's running klaxond, or -1 if it does not run. */
int cluster_node_pid(const struct cluster *c, unsigned node);

/* "127.0.0.1:port" of node's client API, NULL if there is no such node. */
const char *cluster_api_address(const struct cluster *c, unsigned node);

/* <dir>/node<i> into buf; returns buf, or NULL if it does not fit or there
 * is no such node. */
const char *cluster_node_dir(const struct cluster *c,
                             unsigned node,
                             char *buf,
                             size_t len);

/* A client for all nodes (endpoints NULL) or a given comma list; timeout_ms
 * 0 = the library default. NULL on failure. Free with klaxon_client_free. */
klaxon_client *cluster_client(const struct cluster *c,
                              const char *endpoints,
                              unsigned timeout_ms);

/* Poll klaxon_node_status on every node until one says role "leader" and
 * ready; returns its 1-based node index or -1 after timeout_ms. When two
 * nodes claim leadership the one with the higher term wins. */
int cluster_wait_leader(const struct cluster *c, unsigned timeout_ms);

/* Poll klaxon_node_status on node until it answers and knows a leader
 * (a restarted node that rejoined). 0 or -1 after timeout_ms. */
int cluster_wait_node(const struct cluster *c,
                      unsigned node,
                      unsigned timeout_ms);

/*
 * Run klaxonctl with the cluster's environment (KLAXON_ENDPOINTS, _CA,
 * _CERT, _KEY) and argv (NULL-terminated, without the program name), e.g.
 * {"trigger", "--service", "db", "--summary", "disk full", NULL}. Captures
 * stdout into out (NUL-terminated, truncated to len-1; out may be NULL when
 * len is 0); stderr goes to the test's stderr. Returns klaxonctl's exit
 * status, or -1 if it could not run, was killed, or ran over 60 s.
 */
int cluster_ctl(const struct cluster *c,
                char *out,
                size_t len,
                const char *const argv[]);

/*
 * Run klaxond of node's configuration with argv (NULL-terminated, after
 * "--config <node dir>/klaxond.yaml"), e.g. {"--restore", FILE, NULL}, and
 * wait for it. Captures its stdout and stderr into out (as cluster_ctl).
 * Returns klaxond's exit status, or -1 if it could not run or ran over
 * 60 s.
 */
int cluster_klaxond(const struct cluster *c,
                    unsigned node,
                    const char *const argv[],
                    char *out,
                    size_t len);

/* Rewrite node's klaxond.yaml so that cluster.members holds only the
 * members whose ids are in ids[0..n_ids). 0 or -1. */
int cluster_set_members(const struct cluster *c,
                        unsigned node,
                        const unsigned *ids,
                        size_t n_ids);

/* --- cmocka fixtures ------------------------------------------------------ */

/* State of a test that runs on one cluster. A test sets `passed` as its
 * last step; the teardown keeps the directory of a test that did not. */
struct cluster_fixture
{
    struct cluster cluster;
    bool passed;
};

/* cmocka setup: start an n-node cluster (extra_args as cluster_start) and
 * put a struct cluster_fixture in *state. 0 or -1. */
int cluster_fixture_setup(void **state, unsigned n, const char *extra_args);

/* cmocka teardown: stop the cluster (its result fails the test, see
 * cluster_stop) and free the fixture. */
int cluster_fixture_teardown(void **state);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t cluster_now_ms(void);

/* Does node's klaxond.log contain text? */
bool cluster_log_contains(const struct cluster *c,
                          unsigned node,
                          const char *text);

/* The value of one series (name with labels, e.g.
 * "klaxon_raft_term") in node's GET /metrics, or -1 if absent or the
 * request failed. */
long cluster_metric(const struct cluster *c, unsigned node, const char *series);

#endif /* KLAXON_TESTS_CLUSTER_H */
