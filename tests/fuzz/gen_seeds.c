/*
 * Writes the binary seeds of the fuzz targets (`make fuzz-seeds`):
 *   corpus/api/       client frames of every request kind
 *   corpus/fsm/       a raw log entry of every command kind (mode byte 0)
 *   corpus/snapshot/  snapshots of a configured state, with incidents
 * The text seeds (http, config) are written by hand.
 *
 *   fuzz-gen-seeds DIR    (DIR: tests/fuzz/corpus)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "fsm_env.h"
#include "snapshot.h"

/* klaxon.Request and cluster.Command of each kind share their parts. */
static Klaxon__TriggerRequest trig = KLAXON__TRIGGER_REQUEST__INIT;
static Klaxon__Detail det = KLAXON__DETAIL__INIT;
static Klaxon__Detail *dets[1] = {&det};
static Klaxon__AckRequest ack = KLAXON__ACK_REQUEST__INIT;
static Klaxon__ResolveRequest res = KLAXON__RESOLVE_REQUEST__INIT;
static Klaxon__NoteRequest note = KLAXON__NOTE_REQUEST__INIT;
static Klaxon__HeartbeatRequest hb = KLAXON__HEARTBEAT_REQUEST__INIT;
static Klaxon__MaintenanceStartRequest ms =
    KLAXON__MAINTENANCE_START_REQUEST__INIT;
static Klaxon__MaintenanceEndRequest me = KLAXON__MAINTENANCE_END_REQUEST__INIT;
static Klaxon__StatusUpdate su = KLAXON__STATUS_UPDATE__INIT;
static Klaxon__StatusUpdateRequest sur = KLAXON__STATUS_UPDATE_REQUEST__INIT;
static char *components[1] = {"api"};

static void parts_init(void)
{
    trig.service = "api";
    trig.severity = 1;
    trig.summary = "disk full on db-1";
    trig.source = "db-1";
    trig.dedup_key = "disk";
    det.key = "mount";
    det.value = "/var";
    trig.n_details = 1;
    trig.details = dets;
    ack.incident_id = 1;
    ack.by = "alice";
    res.service = "api";
    res.dedup_key = "disk";
    res.by = "bob";
    note.incident_id = 1;
    note.by = "alice";
    note.text = "looking";
    hb.name = "cron";
    ms.service = "db";
    ms.duration_ms = 3600000;
    ms.reason = "upgrade";
    ms.by = "alice";
    me.window_id = 1;
    me.by = "alice";
    su.status = KLAXON__PUBLIC_STATUS__INVESTIGATING;
    su.message = "we are on it";
    su.n_components = 1;
    su.components = components;
    sur.incident_id = 1;
    sur.by = "bob";
    sur.update = &su;
}

static void write_file(const char *dir,
                       const char *name,
                       const void *data,
                       size_t len)
{
    char path[1024];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* Append one frame of q to buf. */
static size_t frame(uint8_t *buf, Klaxon__Request *q)
{
    size_t n = klaxon__request__get_packed_size(q);
    frame_put_len(buf, (uint32_t)n);
    klaxon__request__pack(q, buf + FRAME_HEADER);
    return FRAME_HEADER + n;
}

static void api_seed(const char *dir, const char *name, Klaxon__Request *q)
{
    static uint8_t buf[1 << 16];
    size_t n;

    q->version = PROTOCOL_VERSION;
    q->seq = 1;
    q->request_id.data = (uint8_t *)"0123456789abcdef";
    q->request_id.len = 16;
    n = frame(buf, q);
    write_file(dir, name, buf, n);
}

static void api_seeds(const char *root)
{
    char dir[1024];
    Klaxon__Request q;
    Klaxon__ApplyConfigRequest ap = KLAXON__APPLY_CONFIG_REQUEST__INIT;
    Klaxon__GetRequest get = KLAXON__GET_REQUEST__INIT;
    Klaxon__ListRequest list = KLAXON__LIST_REQUEST__INIT;
    static uint8_t two[1 << 12];
    size_t n;

    snprintf(dir, sizeof dir, "%s/api", root);
#define SEED(NAME, CASE, FIELD, VALUE)      \
    klaxon__request__init(&q);              \
    q.op_case = KLAXON__REQUEST__OP_##CASE; \
    q.FIELD = VALUE;                        \
    api_seed(dir, NAME, &q)
    SEED("trigger", TRIGGER, trigger, &trig);
    SEED("ack", ACK, ack, &ack);
    SEED("resolve", RESOLVE, resolve, &res);
    SEED("note", NOTE, note, &note);
    SEED("heartbeat", HEARTBEAT, heartbeat, &hb);
    SEED("maintenance-start", MAINTENANCE_START, maintenance_start, &ms);
    SEED("maintenance-end", MAINTENANCE_END, maintenance_end, &me);
    SEED("status-update", STATUS_UPDATE, status_update, &sur);
    SEED("get", GET, get, &get);
    SEED("list", LIST, list, &list);
    ap.yaml = (char *)fuzz_oncall_yaml;
    ap.file_name = "oncall.yaml";
    SEED("apply", APPLY_CONFIG, apply_config, &ap);
    ap.dry_run = true;
    SEED("apply-dry-run", APPLY_CONFIG, apply_config, &ap);
#undef SEED
    /* two frames in one read, then half of a third */
    klaxon__request__init(&q);
    q.version = PROTOCOL_VERSION;
    q.op_case = KLAXON__REQUEST__OP_ACK;
    q.ack = &ack;
    n = frame(two, &q);
    q.version = 9; /* a future protocol */
    n += frame(two + n, &q);
    n += frame(two + n, &q) / 2;
    write_file(dir, "frames-two-and-a-half", two, n);
}

static void fsm_seed(const char *dir,
                     const char *name,
                     Klaxon__Cluster__Command *c)
{
    Klaxon__Cluster__Entry e = KLAXON__CLUSTER__ENTRY__INIT;
    Klaxon__Cluster__Command *cmds[1] = {c};
    struct raft_buffer buf;
    uint8_t *out;

    c->request_id.data = (uint8_t *)"fedcba9876543210";
    c->request_id.len = 16;
    e.version = 1;
    e.time_ms = FUZZ_START_MS + 60000;
    e.proposer_id = 2;
    e.n_commands = 1;
    e.commands = cmds;
    if (fsm_encode_entry(&e, &buf) != 0 ||
        (out = malloc(buf.len + 1)) == NULL) {
        exit(1);
    }
    out[0] = 0; /* raw mode */
    memcpy(out + 1, buf.base, buf.len);
    write_file(dir, name, out, buf.len + 1);
    free(out);
    raft_free(buf.base);
}

static void fsm_seeds(const char *root)
{
    static const uint8_t script[] = {
        1,                      /* mode: script */
        2, 10,  0,  0, 0, 0, 1, /* entry: 3 commands, +10 s: trigger api */
        2, 2,   2,  0,          /* sev 2, summary, source, dedup "disk" */
        3, 0,   0,  0,          /* ack by id / note */
        9, 0,                   /* tick of the first timer */
        0, 200, 9,  0, 0,       /* +~2 h: tick */
        0, 10,  10, 1,          /* tick again */
    };
    Klaxon__Cluster__Command c;
    Klaxon__Cluster__Tick tick = KLAXON__CLUSTER__TICK__INIT;
    Klaxon__Cluster__PageOutcome po = KLAXON__CLUSTER__PAGE_OUTCOME__INIT;
    char dir[1024];

    snprintf(dir, sizeof dir, "%s/fsm", root);
#define SEED(NAME, CASE, FIELD, VALUE)               \
    klaxon__cluster__command__init(&c);              \
    c.op_case = KLAXON__CLUSTER__COMMAND__OP_##CASE; \
    c.FIELD = VALUE;                                 \
    fsm_seed(dir, NAME, &c)
    SEED("trigger", TRIGGER, trigger, &trig);
    SEED("ack", ACK, ack, &ack);
    SEED("resolve", RESOLVE, resolve, &res);
    SEED("note", NOTE, note, &note);
    SEED("heartbeat", HEARTBEAT, heartbeat, &hb);
    SEED("maintenance-start", MAINTENANCE_START, maintenance_start, &ms);
    SEED("maintenance-end", MAINTENANCE_END, maintenance_end, &me);
    SEED("status-update", STATUS_UPDATE, status_update, &sur);
    tick.key.data = (uint8_t *)"\0\0\0\0\0\0\0\1";
    tick.key.len = 8;
    SEED("tick", TICK, tick, &tick);
    po.page_id = 1;
    po.delivered = true;
    po.attempts = 1;
    SEED("page-outcome", PAGE_OUTCOME, page_outcome, &po);
#undef SEED
    write_file(dir, "script", script, sizeof script);
}

static void snapshot_seed(struct fuzz_fsm *x, const char *dir, const char *name)
{
    struct raft_buffer buf;
    char err[256];
    MDB_txn *txn;

    if (mdb_txn_begin(x->store.env, NULL, MDB_RDONLY, &txn) != 0 ||
        snapshot_dump(txn, &x->store, &buf, err, sizeof err) != 0) {
        exit(1);
    }
    mdb_txn_abort(txn);
    write_file(dir, name, buf.base, buf.len);
    raft_free(buf.base);
}

static void snapshot_seeds(const char *root)
{
    struct fuzz_fsm *x = fuzz_fsm_get();
    Klaxon__Cluster__Command c[3];
    Klaxon__Cluster__Command *ptrs[3] = {&c[0], &c[1], &c[2]};
    char dir[1024];

    snprintf(dir, sizeof dir, "%s/snapshot", root);
    snapshot_seed(x, dir, "configured");
    for (size_t i = 0; i < 3; i++) {
        klaxon__cluster__command__init(&c[i]);
        c[i].request_id.data = (uint8_t *)(i == 0   ? "snapshot-seed-01"
                                           : i == 1 ? "snapshot-seed-02"
                                                    : "snapshot-seed-03");
        c[i].request_id.len = 16;
    }
    c[0].op_case = KLAXON__CLUSTER__COMMAND__OP_TRIGGER;
    c[0].trigger = &trig;
    c[1].op_case = KLAXON__CLUSTER__COMMAND__OP_MAINTENANCE_START;
    c[1].maintenance_start = &ms;
    c[2].op_case = KLAXON__CLUSTER__COMMAND__OP_NOTE;
    c[2].note = &note;
    if (fuzz_fsm_apply(x, FUZZ_START_MS + 60000, ptrs, 3) != 0) {
        exit(1);
    }
    snapshot_seed(x, dir, "incident-maintenance");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    parts_init();
    api_seeds(argv[1]);
    fsm_seeds(argv[1]);
    snapshot_seeds(argv[1]);
    return 0;
}
