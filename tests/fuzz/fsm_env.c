#include "fsm_env.h"

#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "oncall_config.h"
#include "snapshot.h"

const char fuzz_oncall_yaml[] =
    "users:\n"
    "  - { id: alice, contacts: [{ type: webhook, url: 'http://127.0.0.1:1/a' "
    "}] }\n"
    "  - { id: bob, contacts: [{ type: email, address: bob@example.com }] }\n"
    "schedules:\n"
    "  - id: primary\n"
    "    layers:\n"
    "      - { name: day, users: [alice, bob], start: '2026-01-05T09:00', "
    "turn: daily }\n"
    "escalation_policies:\n"
    "  - id: crit\n"
    "    repeat: 2\n"
    "    commander: { type: user, id: bob }\n"
    "    levels:\n"
    "      - { timeout: 1m, targets: [{ type: schedule, id: primary }] }\n"
    "      - { timeout: 2m, targets: [{ type: user, id: bob }] }\n"
    "services:\n"
    "  - { name: api, integration_key: 0c1f6e4ad2b84a7f9d3e5b1c7a2f8e60, "
    "escalation_policy: crit, "
    "ack_timeout: 5m, auto_resolve: 10m }\n"
    "  - name: db\n"
    "    escalation_policy: crit\n"
    "    severities: { sev1: { response: 1m, update_interval: 2m }, "
    "4: { paging: none } }\n"
    "heartbeats:\n"
    "  - { name: cron, service: db, interval: 3m, severity: 2 }\n"
    "notifications:\n"
    "  smtp_url: smtp://127.0.0.1:1\n"
    "  smtp_from: klaxon@example.com\n";

static struct fuzz_fsm the_fsm;
static bool opened;

static void die(const char *what, const char *err)
{
    fprintf(stderr, "fuzz fsm: %s: %s\n", what, err);
    abort();
}

static void open_fsm(struct fuzz_fsm *x)
{
    char err[256];
    if (fsm_init(&x->fsm, &x->store, FUZZ_NODE_ID, FUZZ_NONCE, false, err,
                 sizeof err) != 0) {
        die("fsm_init", err);
    }
    x->index = x->fsm.applied;
}

static void cleanup(void)
{
    if (!opened) {
        return;
    }
    fsm_close(&the_fsm.fsm);
    store_close(&the_fsm.store); /* its clean marker has nowhere to go */
    raft_free(the_fsm.base.base);
    opened = false;
}

/* LMDB keeps its files open: the directory goes at once, so that no run
 * leaves one behind, not even one that crashed. */
static void remove_dir(void)
{
    char cmd[sizeof the_fsm.dir + 16];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", the_fsm.dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "fuzz fsm: cannot remove %s\n", the_fsm.dir);
    }
}

int fuzz_fsm_apply(struct fuzz_fsm *x,
                   uint64_t time_ms,
                   Klaxon__Cluster__Command **cmds,
                   size_t n)
{
    Klaxon__Cluster__Entry e = KLAXON__CLUSTER__ENTRY__INIT;
    struct raft_buffer buf;
    int rv;

    e.version = 1;
    e.time_ms = time_ms;
    e.proposer_id = FUZZ_NODE_ID;
    e.proposer_nonce = FUZZ_NONCE;
    e.batch_seq = x->seq++;
    e.n_commands = n;
    e.commands = cmds;
    rv = fsm_encode_entry(&e, &buf);
    if (rv != 0) {
        return rv;
    }
    rv = fsm_apply_entry(&x->fsm, ++x->index, buf.base, buf.len);
    raft_free(buf.base);
    return rv;
}

/* Secret and on-call configuration, as a new cluster's first entries. */
static void configure(struct fuzz_fsm *x)
{
    Klaxon__Cluster__Command secret = KLAXON__CLUSTER__COMMAND__INIT;
    Klaxon__Cluster__SetSecret ss = KLAXON__CLUSTER__SET_SECRET__INIT;
    Klaxon__Cluster__Command set = KLAXON__CLUSTER__COMMAND__INIT;
    Klaxon__Cluster__SetConfig sc = KLAXON__CLUSTER__SET_CONFIG__INIT;
    Klaxon__Cluster__Command *cmds[2] = {&secret, &set};
    uint8_t key[32], cluster_id[8];
    char err[512];
    MDB_txn *txn;

    memset(key, 0x5a, sizeof key);
    memset(cluster_id, 0x11, sizeof cluster_id);
    ss.secret.data = key;
    ss.secret.len = sizeof key;
    ss.cluster_id.data = cluster_id;
    ss.cluster_id.len = sizeof cluster_id;
    secret.op_case = KLAXON__CLUSTER__COMMAND__OP_SET_SECRET;
    secret.set_secret = &ss;
    if (oncall_config_parse("oncall.yaml", fuzz_oncall_yaml,
                            strlen(fuzz_oncall_yaml), &sc.config, err,
                            sizeof err) != 0) {
        die("on-call configuration", err);
    }
    sc.file_name = "oncall.yaml";
    sc.yaml = (char *)fuzz_oncall_yaml;
    sc.by = "fuzz";
    set.request_id.data = (uint8_t *)"fuzz-config-0001";
    set.request_id.len = 16;
    set.op_case = KLAXON__CLUSTER__COMMAND__OP_SET_CONFIG;
    set.set_config = &sc;
    if (fuzz_fsm_apply(x, FUZZ_START_MS, cmds, 2) != 0) {
        die("configure", "apply failed");
    }
    oncall_config_free(sc.config);
    if (mdb_txn_begin(x->store.env, NULL, MDB_RDONLY, &txn) != 0 ||
        snapshot_dump(txn, &x->store, &x->base, err, sizeof err) != 0) {
        die("snapshot", err);
    }
    mdb_txn_abort(txn);
}

struct fuzz_fsm *fuzz_fsm_get(void)
{
    struct fuzz_fsm *x = &the_fsm;
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    char err[256];

    if (opened) {
        return x;
    }
    fuzz_quiet_log();
    snprintf(x->dir, sizeof x->dir, "%s/klaxon-fuzz-XXXXXX", tmp);
    if (mkdtemp(x->dir) == NULL) {
        die("mkdtemp", x->dir);
    }
    if (store_open(&x->store, x->dir, 256u << 20, err, sizeof err) != 0) {
        die("store_open", err);
    }
    remove_dir();
    open_fsm(x);
    opened = true;
    atexit(cleanup);
    configure(x);
    return x;
}

void fuzz_fsm_reset(struct fuzz_fsm *x)
{
    char err[256];

    fsm_close(&x->fsm);
    if (snapshot_load(&x->store, x->base.base, x->base.len, err, sizeof err) !=
        0) {
        die("reset", err);
    }
    open_fsm(x);
}
