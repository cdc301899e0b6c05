/*
 * Fuzz target "fsm": Raft log entries through fsm_apply_entry, on a store
 * holding an applied on-call configuration (tests/fuzz/fsm_env.c), reset
 * before every input.
 *
 * The first byte picks the mode:
 *   even: the rest is one raw entry (4-byte length, klaxon.cluster.Entry);
 *   odd:  the rest is read as a script of entries, each a time step and
 *         1 to 4 commands of every kind, built with names and ids that the
 *         configuration knows, so that apply logic (dedup, escalation
 *         timers, ticks, pages, maintenance) is reached, not only decoding.
 */
#include <stdlib.h>
#include <string.h>

#include "fsm_env.h"
#include "fuzz.h"
#include "oncall_config.h"

#define MAX_ENTRIES 16
#define MAX_CMDS 4
#define MAX_OWNED 512

/* Everything one input allocates, freed at its end. */
struct script
{
    struct fuzz_in in;
    void *owned[MAX_OWNED];
    size_t n_owned;
    uint64_t next_rid;
    struct fuzz_fsm *x;
};

static void *own(struct script *s, void *p)
{
    if (p == NULL || s->n_owned == MAX_OWNED) {
        free(p);
        return NULL;
    }
    s->owned[s->n_owned++] = p;
    return p;
}

static void *alloc(struct script *s, size_t n)
{
    return own(s, calloc(1, n));
}

/* A string: mostly one the configuration knows, else input bytes. */
static char *str(struct script *s, const char *const *dict, size_t n_dict)
{
    uint8_t b = fuzz_u8(&s->in);
    size_t len;
    char *out;

    if (b < 200 && n_dict > 0) {
        return (char *)dict[b % n_dict];
    }
    len = b - 200u;
    out = alloc(s, len + 1);
    if (out == NULL) {
        return "";
    }
    for (size_t i = 0; i < len; i++) {
        out[i] = (char)fuzz_u8(&s->in);
    }
    return out;
}

static const char *const services[] = {"api", "db", "nope", ""};
static const char *const people[] = {"alice", "bob", "", "mallory"};
static const char *const keys[] = {"disk", "cpu", ""};
static const char *const words[] = {"it broke", "host-1", "", "x"};
static const char *const beats[] = {"cron", "nope"};

static void request_id(struct script *s, Klaxon__Cluster__Command *c)
{
    uint8_t b = fuzz_u8(&s->in);
    uint8_t *id = alloc(s, 16);

    if (id == NULL) {
        return;
    }
    /* a few repeated ids (replays), mostly fresh ones, some malformed */
    memset(id, 'r', 16);
    id[0] = b < 32 ? (uint8_t)(b % 4) : (uint8_t)(s->next_rid >> 8);
    id[1] = (uint8_t)s->next_rid++;
    c->request_id.data = id;
    c->request_id.len = b >= 250 ? b - 245u : 16;
}

static uint64_t small_id(struct script *s)
{
    uint8_t b = fuzz_u8(&s->in);
    return b < 250 ? b % 8 : fuzz_u64(&s->in, 8);
}

static void trigger(struct script *s, Klaxon__Cluster__Command *c)
{
    Klaxon__TriggerRequest *t = alloc(s, sizeof *t);
    size_t n;

    if (t == NULL) {
        return;
    }
    klaxon__trigger_request__init(t);
    t->service = str(s, services, 4);
    t->severity = fuzz_u8(&s->in) % 6;
    t->summary = str(s, words, 4);
    t->source = str(s, words, 4);
    t->dedup_key = str(s, keys, 3);
    n = fuzz_u8(&s->in) % 4;
    t->details = alloc(s, (n + 1) * sizeof *t->details);
    for (size_t i = 0; t->details != NULL && i < n; i++) {
        Klaxon__Detail *d = alloc(s, sizeof *d);
        if (d == NULL) {
            break;
        }
        klaxon__detail__init(d);
        d->key = str(s, keys, 3);
        d->value = str(s, words, 4);
        t->details[t->n_details++] = d;
    }
    c->op_case = KLAXON__CLUSTER__COMMAND__OP_TRIGGER;
    c->trigger = t;
}

static void ack(struct script *s, Klaxon__Cluster__Command *c)
{
    Klaxon__AckRequest *a = alloc(s, sizeof *a);
    if (a == NULL) {
        return;
    }
    klaxon__ack_request__init(a);
    if (fuzz_u8(&s->in) & 1) {
        a->incident_id = small_id(s);
    } else {
        a->service = str(s, services, 4);
        a->dedup_key = str(s, keys, 3);
    }
    a->by = str(s, people, 4);
    a->token = str(s, words + 2, 1); /* mostly empty */
    c->op_case = KLAXON__CLUSTER__COMMAND__OP_ACK;
    c->ack = a;
}

static void resolve(struct script *s, Klaxon__Cluster__Command *c)
{
    Klaxon__ResolveRequest *r = alloc(s, sizeof *r);
    uint8_t b = fuzz_u8(&s->in);
    if (r == NULL) {
        return;
    }
    klaxon__resolve_request__init(r);
    if (b & 1) {
        r->incident_id = small_id(s);
    } else {
        r->service = str(s, services, 4);
        r->dedup_key = str(s, keys, 3);
    }
    r->by = str(s, people, 4);
    r->false_positive = (b & 2) != 0;
    c->op_case = KLAXON__CLUSTER__COMMAND__OP_RESOLVE;
    c->resolve = r;
}

static void note(struct script *s, Klaxon__Cluster__Command *c)
{
    Klaxon__NoteRequest *n = alloc(s, sizeof *n);
    if (n == NULL) {
        return;
    }
    klaxon__note_request__init(n);
    n->incident_id = small_id(s);
    n->by = str(s, people, 4);
    n->text = str(s, words, 4);
    c->op_case = KLAXON__CLUSTER__COMMAND__OP_NOTE;
    c->note = n;
}

static void status_update(struct script *s, Klaxon__Cluster__Command *c)
{
    Klaxon__StatusUpdateRequest *u = alloc(s, sizeof *u);
    Klaxon__StatusUpdate *st = alloc(s, sizeof *st);
    if (u == NULL || st == NULL) {
        return;
    }
    klaxon__status_update_request__init(u);
    klaxon__status_update__init(st);
    u->incident_id = small_id(s);
    u->by = str(s, people, 4);
    st->status = (Klaxon__PublicStatus)(fuzz_u8(&s->in) % 6);
    st->message = str(s, words, 4);
    st->impact = str(s, words, 4);
    if (fuzz_u8(&s->in) & 1) {
        st->components = alloc(s, sizeof *st->components);
        if (st->components != NULL) {
            st->components[0] = str(s, services, 4);
            st->n_components = 1;
        }
    }
    u->update = fuzz_u8(&s->in) == 255 ? NULL : st;
    c->op_case = KLAXON__CLUSTER__COMMAND__OP_STATUS_UPDATE;
    c->status_update = u;
}

static void heartbeat(struct script *s, Klaxon__Cluster__Command *c)
{
    Klaxon__HeartbeatRequest *h = alloc(s, sizeof *h);
    if (h == NULL) {
        return;
    }
    klaxon__heartbeat_request__init(h);
    h->name = str(s, beats, 2);
    c->op_case = KLAXON__CLUSTER__COMMAND__OP_HEARTBEAT;
    c->heartbeat = h;
}

static void maintenance(struct script *s, Klaxon__Cluster__Command *c)
{
    Klaxon__MaintenanceStartRequest *m = alloc(s, sizeof *m);
    Klaxon__MaintenanceEndRequest *e = alloc(s, sizeof *e);
    uint8_t b = fuzz_u8(&s->in);

    if (m == NULL || e == NULL) {
        return;
    }
    if (b & 1) {
        klaxon__maintenance_end_request__init(e);
        e->window_id = small_id(s);
        e->by = str(s, people, 4);
        c->op_case = KLAXON__CLUSTER__COMMAND__OP_MAINTENANCE_END;
        c->maintenance_end = e;
        return;
    }
    klaxon__maintenance_start_request__init(m);
    m->service = str(s, services, 4);
    m->start_ms = b & 2 ? FUZZ_START_MS + fuzz_u64(&s->in, 3) * 1000 : 0;
    m->end_ms = b & 4 ? FUZZ_START_MS + fuzz_u64(&s->in, 3) * 1000 : 0;
    m->duration_ms = b & 8 ? fuzz_u64(&s->in, 3) * 1000 : 0;
    m->reason = str(s, words, 4);
    m->by = str(s, people, 4);
    c->op_case = KLAXON__CLUSTER__COMMAND__OP_MAINTENANCE_START;
    c->maintenance_start = m;
}

/* The key of the n-th armed timer (the leader ticks those), if any. */
static void tick(struct script *s, Klaxon__Cluster__Command *c)
{
    Klaxon__Cluster__Tick *t = alloc(s, sizeof *t);
    unsigned n = fuzz_u8(&s->in);
    MDB_cursor *cur;
    MDB_txn *txn;
    MDB_val k, v;
    int rv;

    if (t == NULL) {
        return;
    }
    klaxon__cluster__tick__init(t);
    c->op_case = KLAXON__CLUSTER__COMMAND__OP_TICK;
    c->tick = t;
    if (mdb_txn_begin(s->x->store.env, NULL, MDB_RDONLY, &txn) != 0) {
        return;
    }
    if (mdb_cursor_open(txn, s->x->store.dbi[TABLE_TIMERS], &cur) == 0) {
        rv = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        while (rv == 0 && n-- > 0) {
            rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        if (rv == 0 && (t->key.data = alloc(s, k.mv_size + 1)) != NULL) {
            memcpy(t->key.data, k.mv_data, k.mv_size);
            t->key.len = k.mv_size;
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
}

static void page_outcome(struct script *s, Klaxon__Cluster__Command *c)
{
    Klaxon__Cluster__PageOutcome *p = alloc(s, sizeof *p);
    uint8_t b = fuzz_u8(&s->in);
    if (p == NULL) {
        return;
    }
    klaxon__cluster__page_outcome__init(p);
    p->page_id = small_id(s);
    p->delivered = b & 1;
    p->attempts = b >> 1;
    p->error = str(s, words, 4);
    c->op_case = KLAXON__CLUSTER__COMMAND__OP_PAGE_OUTCOME;
    c->page_outcome = p;
}

/* The configuration again (freed by free_command). */
static void set_config(struct script *s, Klaxon__Cluster__Command *c)
{
    Klaxon__Cluster__SetConfig *sc = alloc(s, sizeof *sc);
    Klaxon__OncallConfig *cfg = NULL;
    char err[256];

    if (sc == NULL) {
        return;
    }
    klaxon__cluster__set_config__init(sc);
    if (oncall_config_parse("oncall.yaml", fuzz_oncall_yaml,
                            strlen(fuzz_oncall_yaml), &cfg, err,
                            sizeof err) != 0) {
        return;
    }
    sc->config = cfg;
    sc->file_name = "oncall.yaml";
    sc->yaml = (char *)fuzz_oncall_yaml;
    sc->by = str(s, people, 4);
    c->op_case = KLAXON__CLUSTER__COMMAND__OP_SET_CONFIG;
    c->set_config = sc;
}

typedef void (*build_fn)(struct script *s, Klaxon__Cluster__Command *c);

static const build_fn builders[] = {
    trigger, trigger,       trigger,    ack,         resolve,
    note,    status_update, heartbeat,  maintenance, tick,
    tick,    page_outcome,  set_config,
};

static void free_command(Klaxon__Cluster__Command *c)
{
    if (c->op_case == KLAXON__CLUSTER__COMMAND__OP_SET_CONFIG &&
        c->set_config != NULL) {
        oncall_config_free(c->set_config->config);
    }
}

static void run_script(struct fuzz_fsm *x, const uint8_t *data, size_t size)
{
    struct script s = {{data, size}, {0}, 0, 1, x};
    uint64_t now = FUZZ_START_MS;

    for (size_t e = 0; e < MAX_ENTRIES && s.in.left > 0; e++) {
        Klaxon__Cluster__Command cmds[MAX_CMDS];
        Klaxon__Cluster__Command *ptrs[MAX_CMDS];
        size_t n = 1 + fuzz_u8(&s.in) % MAX_CMDS;
        uint8_t step = fuzz_u8(&s.in);

        /* seconds to days: escalation levels, ack timeouts, heartbeats */
        now += step < 128   ? step * 1000ull
               : step < 250 ? (step - 127ull) * 60000ull
                            : (step - 249ull) * 86400000ull;
        for (size_t i = 0; i < n; i++) {
            size_t k = fuzz_u8(&s.in) % (sizeof builders / sizeof *builders);
            klaxon__cluster__command__init(&cmds[i]);
            if (builders[k] != tick && builders[k] != page_outcome) {
                request_id(&s, &cmds[i]);
            }
            builders[k](&s, &cmds[i]);
            ptrs[i] = &cmds[i];
        }
        if (fuzz_fsm_apply(x, now, ptrs, n) != 0) {
            abort(); /* a well-formed entry must always apply */
        }
        for (size_t i = 0; i < n; i++) {
            free_command(&cmds[i]);
        }
    }
    for (size_t i = 0; i < s.n_owned; i++) {
        free(s.owned[i]);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    (void)fuzz_fsm_get();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_fsm *x = fuzz_fsm_get();

    if (size == 0) {
        return 0;
    }
    fuzz_fsm_reset(x);
    if ((data[0] & 1) == 0) {
        /* An entry that does not decode is skipped; one this build cannot
         * apply (another entry format, an unknown operation, a later
         * command version: version.h) fails, with the reason in too_new
         * and nothing applied. Any other failure is a bug. */
        x->fsm.too_new[0] = '\0';
        if (fsm_apply_entry(&x->fsm, x->index + 1, data + 1, size - 1) != 0) {
            if (x->fsm.too_new[0] == '\0') {
                abort();
            }
            return 0;
        }
        x->index++;
    } else {
        run_script(x, data + 1, size - 1);
    }
    return 0;
}
