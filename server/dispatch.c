#include "dispatch.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "incident.h"
#include "log.h"
#include "oncall_config.h"
#include "page_message.h"
#include "paging.h"

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_MAX_ATTEMPTS 5
#define DEFAULT_RETRY_BASE_MS 1000
#define MAX_RETRY_DELAY_MS 60000

enum dpage_state {
    DP_WAITING,   /* for the next barrier */
    DP_BARRIER,   /* for the barrier in flight */
    DP_SENDING,   /* delivery attempt in flight */
    DP_BACKOFF,   /* until retry_at */
    DP_REPORTING, /* outcome proposed */
};

struct dpage
{
    struct list link;  /* in d->pages */
    struct list qlink; /* in d->waiting or d->at_barrier */
    struct dispatch *d;
    uint64_t id;
    enum dpage_state state;
    unsigned attempts;
    int channel;          /* klaxon.ContactKind of the attempt */
    uint64_t trigger_ms;  /* first-level pages: the incident's trigger */
    uint64_t incident_id; /* of the last attempt, for log lines */
    char user[64];
    uint64_t retry_at; /* uv_now() ms */
    char error[256];
    /* the attempt in flight */
    Klaxon__Page *page;
    struct page_message msg;
    struct smtp_settings smtp;
    char *smtp_strings[4];
    struct delivery del;
    /* the outcome proposal */
    struct node_op op;
    Klaxon__Cluster__Command cmd;
    Klaxon__Cluster__PageOutcome outcome;
};

struct attempt_settings
{
    uint64_t timeout_ms;
    unsigned max_attempts;
    uint64_t retry_base_ms;
};

static void flush_barrier(struct dispatch *d);
static void retry_cb(uv_timer_t *t);

/* --- page life ------------------------------------------------------------
 */

static void release_attempt(struct dpage *p)
{
    page_message_free(&p->msg);
    for (size_t i = 0; i < 4; i++) {
        free(p->smtp_strings[i]);
        p->smtp_strings[i] = NULL;
    }
    if (p->page != NULL) {
        klaxon__page__free_unpacked(p->page, NULL);
        p->page = NULL;
    }
}

static void dpage_free(struct dpage *p)
{
    struct dispatch *d = p->d;

    if (p->state == DP_WAITING || p->state == DP_BARRIER) {
        list_remove(&p->qlink);
    }
    list_remove(&p->link);
    release_attempt(p);
    d->n_pages--;
    free(p);
}

/* Forget a page this leader could not finish: it stays PENDING in the
 * state, so make the next scan look at every pending page again. */
static void dpage_drop(struct dpage *p)
{
    struct dispatch *d = p->d;
    if (d->active) {
        d->rescan = true;
    }
    dpage_free(p);
}

static struct dpage *dpage_new(struct dispatch *d, uint64_t id)
{
    struct dpage *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return NULL;
    }
    p->d = d;
    p->id = id;
    p->state = DP_WAITING;
    list_push(&d->pages, &p->link);
    list_push(&d->waiting, &p->qlink);
    d->n_pages++;
    return p;
}

/* --- outcomes -------------------------------------------------------------
 */

static void report_done(struct node_op *op,
                        int code,
                        const struct apply_result *res)
{
    struct dpage *p = op->data;
    (void)res;
    if (code != KLAXON__CODE__OK) {
        dpage_drop(p);
        return;
    }
    dpage_free(p);
}

static void report(struct dpage *p, bool delivered)
{
    struct dispatch *d = p->d;

    release_attempt(p);
    if (!d->active) {
        dpage_free(p);
        return;
    }
    klaxon__cluster__page_outcome__init(&p->outcome);
    p->outcome.page_id = p->id;
    p->outcome.delivered = delivered;
    p->outcome.attempts = p->attempts;
    p->outcome.error = delivered ? "" : p->error;
    klaxon__cluster__command__init(&p->cmd);
    p->cmd.op_case = KLAXON__CLUSTER__COMMAND__OP_PAGE_OUTCOME;
    p->cmd.page_outcome = &p->outcome;
    p->op.cmd = &p->cmd;
    p->op.cb = report_done;
    p->op.data = p;
    p->state = DP_REPORTING;
    if (node_submit(d->node, &p->op) != 0) {
        dpage_drop(p);
    }
}

/* --- attempts -------------------------------------------------------------
 */

static void settings_of(const Klaxon__OncallConfig *cfg,
                        struct attempt_settings *s)
{
    const Klaxon__Notifications *n = cfg->notifications;

    s->timeout_ms =
        n != NULL && n->timeout_ms != 0 ? n->timeout_ms : DEFAULT_TIMEOUT_MS;
    s->max_attempts = n != NULL && n->max_attempts != 0 ? n->max_attempts
                                                        : DEFAULT_MAX_ATTEMPTS;
    s->retry_base_ms = n != NULL && n->retry_base_ms != 0
                           ? n->retry_base_ms
                           : DEFAULT_RETRY_BASE_MS;
}

static void arm_retry_timer(struct dispatch *d)
{
    uint64_t next = UINT64_MAX;
    uint64_t now = uv_now(d->retry_timer.loop);

    for (struct list *i = d->pages.next; i != &d->pages; i = i->next) {
        struct dpage *p = list_entry(i, struct dpage, link);
        if (p->state == DP_BACKOFF && p->retry_at < next) {
            next = p->retry_at;
        }
    }
    if (next == UINT64_MAX) {
        uv_timer_stop(&d->retry_timer);
        return;
    }
    uv_timer_start(&d->retry_timer, retry_cb, next > now ? next - now : 0, 0);
}

static void attempt_failed(struct dpage *p, const char *why)
{
    struct dispatch *d = p->d;
    struct attempt_settings s;
    const Klaxon__OncallConfig *cfg = NULL;
    uint64_t delay;
    MDB_txn *txn;

    snprintf(p->error, sizeof p->error, "%s", why);
    d->n_failed++;
    release_attempt(p);
    if (!d->active || d->closing) {
        dpage_free(p);
        return;
    }
    if (mdb_txn_begin(d->node->store.env, NULL, MDB_RDONLY, &txn) == 0) {
        apply_env_config(&d->node->fsm.env, txn, &d->node->store, &cfg);
        mdb_txn_abort(txn);
    }
    if (cfg == NULL) {
        dpage_drop(p);
        return;
    }
    settings_of(cfg, &s);
    if (p->attempts >= s.max_attempts) {
        log_incident(LOG_WARN, p->incident_id,
                     "dispatch: page %llu to %s failed after %u attempt(s): "
                     "%s",
                     (unsigned long long)p->id, p->user, p->attempts, p->error);
        metrics_page(&d->node->metrics, p->channel, PAGE_FAILED);
        report(p, false);
        return;
    }
    metrics_page(&d->node->metrics, p->channel, PAGE_RETRIED);
    delay = s.retry_base_ms << (p->attempts - 1 < 16 ? p->attempts - 1 : 16);
    p->state = DP_BACKOFF;
    p->retry_at = uv_now(d->retry_timer.loop) +
                  (delay < MAX_RETRY_DELAY_MS ? delay : MAX_RETRY_DELAY_MS);
    d->n_retries++;
    arm_retry_timer(d);
}

static void delivered_cb(struct delivery *req, bool ok, const char *err)
{
    struct dpage *p = req->data;
    struct dispatch *d = p->d;

    d->n_sending--;
    flush_barrier(d); /* a slot is free */
    if (d->closing) {
        dpage_free(p);
        return;
    }
    if (ok) {
        log_incident(LOG_INFO, p->incident_id,
                     "dispatch: page %llu to %s delivered (attempt %u)",
                     (unsigned long long)p->id, p->user, p->attempts);
        d->n_delivered++;
        metrics_page(&d->node->metrics, p->channel, PAGE_SENT);
        if (p->trigger_ms != 0) {
            uint64_t now = node_time_ms(d->node);
            histogram_observe(&d->node->metrics.trigger_to_page,
                              now > p->trigger_ms
                                  ? (double)(now - p->trigger_ms) / 1000.0
                                  : 0.0);
        }
        report(p, true);
        return;
    }
    attempt_failed(p, err);
}

/* Copy the relay settings: the configuration may change during the
 * attempt. */
static int copy_smtp(struct dpage *p, const Klaxon__Notifications *n)
{
    const char *src[4] = {
        n != NULL ? n->smtp_url : "", n != NULL ? n->smtp_from : "",
        n != NULL ? n->smtp_username : "", n != NULL ? n->smtp_password : ""};
    for (size_t i = 0; i < 4; i++) {
        p->smtp_strings[i] = strdup(src[i]);
        if (p->smtp_strings[i] == NULL) {
            return -1;
        }
    }
    p->smtp.url = p->smtp_strings[0];
    p->smtp.from = p->smtp_strings[1];
    p->smtp.username = p->smtp_strings[2];
    p->smtp.password = p->smtp_strings[3];
    return 0;
}

/* Prepare the delivery of p->page. 0, or -1 with p->error set. */
static int prepare(struct dpage *p,
                   MDB_txn *txn,
                   const Klaxon__OncallConfig *cfg)
{
    struct dispatch *d = p->d;
    Klaxon__Incident *inc = NULL;
    struct attempt_settings s;
    int rv = 0;

    if (p->page->incident_id != 0) {
        rv = incident_load(txn, &d->node->store, p->page->incident_id, &inc);
    }
    if (rv == 0) {
        rv = page_message_build(p->page, inc, cfg, &d->node->fsm.env,
                                node_time_ms(d->node), &p->msg);
    }
    p->trigger_ms = inc != NULL && p->page->level == 1 && p->page->loop == 0
                        ? inc->created_ms
                        : 0;
    if (inc != NULL) {
        klaxon__incident__free_unpacked(inc, NULL);
    }
    if (rv == 0) {
        rv = copy_smtp(p, cfg->notifications);
    }
    if (rv != 0) {
        snprintf(p->error, sizeof p->error, "cannot build the page");
        return -1;
    }
    settings_of(cfg, &s);
    memset(&p->del, 0, sizeof p->del);
    p->incident_id = p->page->incident_id;
    snprintf(p->user, sizeof p->user, "%s", p->page->user);
    p->del.kind = p->page->contact->kind;
    p->channel = (int)p->page->contact->kind;
    p->del.address = p->page->contact->address;
    p->del.args = p->page->contact->args;
    p->del.n_args = p->page->contact->n_args;
    p->del.body = p->del.kind == KLAXON__CONTACT_KIND__CONTACT_EMAIL
                      ? p->msg.text
                      : p->msg.json;
    p->del.body_len = strlen(p->del.body);
    p->del.subject = p->msg.subject;
    p->del.idempotency_key = p->msg.idempotency_key;
    p->del.smtp = &p->smtp;
    p->del.timeout_ms = s.timeout_ms;
    p->del.cb = delivered_cb;
    p->del.data = p;
    return 0;
}

/* The page as the applied state has it: PENDING (0), or gone/final (1). */
static int load_pending(struct dpage *p, MDB_txn *txn)
{
    int rv = paging_load(txn, &p->d->node->store, p->id, &p->page);
    if (rv != 0) {
        p->page = NULL;
        return 1;
    }
    return p->page->state == KLAXON__PAGE_STATE__PAGE_PENDING &&
                   p->page->contact != NULL
               ? 0
               : 1;
}

/* Start one attempt (the barrier just committed). */
static void attempt(struct dpage *p, MDB_txn *txn)
{
    struct dispatch *d = p->d;
    const Klaxon__OncallConfig *cfg;
    char err[256];

    if (load_pending(p, txn) != 0) {
        dpage_free(p); /* delivered, failed or cancelled meanwhile */
        return;
    }
    if (apply_env_config(&d->node->fsm.env, txn, &d->node->store, &cfg) != 0 ||
        prepare(p, txn, cfg) != 0) {
        p->attempts++;
        attempt_failed(p, p->error[0] != '\0' ? p->error : "cannot read state");
        return;
    }
    p->attempts++;
    d->n_attempts++;
    p->state = DP_SENDING;
    if (deliver_start(&d->deliverer, &p->del, err, sizeof err) != 0) {
        attempt_failed(p, err);
        return;
    }
    d->n_sending++;
}

/* --- barrier --------------------------------------------------------------
 */

/*
 * Was the barrier answered promptly? A barrier that took longer than half
 * of libraft's election timeout, the read lease's length (this process was
 * paused, or the loop stalled), may describe a leadership that has moved
 * on meanwhile: do not act on it.
 */
static bool barrier_fresh(struct dispatch *d)
{
    uv_loop_t *loop = d->retry_timer.loop;
    uv_update_time(loop);
    return uv_now(loop) - d->barrier_started <
           d->node->raft.election_timeout / 2;
}

static void barrier_done(struct node_read *rd, int code)
{
    struct dispatch *d = rd->data;
    struct list ready;
    MDB_txn *txn = NULL;

    d->barrier_pending = false;
    if (code == KLAXON__CODE__OK && d->active && !barrier_fresh(d)) {
        log_warn("dispatch: barrier took over %u ms; checking again",
                 d->node->raft.election_timeout / 2);
        for (struct list *i = d->at_barrier.next; i != &d->at_barrier;
             i = i->next) {
            list_entry(i, struct dpage, qlink)->state = DP_WAITING;
        }
        list_splice(&d->waiting, &d->at_barrier);
        flush_barrier(d);
        return;
    }
    list_init(&ready);
    list_splice(&ready, &d->at_barrier);
    if (code == KLAXON__CODE__OK && d->active && !d->closing &&
        mdb_txn_begin(d->node->store.env, NULL, MDB_RDONLY, &txn) != 0) {
        txn = NULL;
    }
    while (!list_empty(&ready)) {
        struct dpage *p = list_entry(ready.next, struct dpage, qlink);
        list_remove(&p->qlink);
        p->state = DP_SENDING; /* no longer queued */
        if (txn == NULL) {
            dpage_drop(p);
        } else {
            attempt(p, txn);
        }
    }
    if (txn != NULL) {
        mdb_txn_abort(txn);
    }
    flush_barrier(d);
}

/* Move up to the free delivery slots' worth of waiting pages to the
 * barrier list; how many moved. */
static unsigned take_waiting(struct dispatch *d)
{
    unsigned n = 0;

    while (!list_empty(&d->waiting) && d->n_sending + n < MAX_SENDING) {
        struct dpage *p = list_entry(d->waiting.next, struct dpage, qlink);
        list_remove(&p->qlink);
        list_push(&d->at_barrier, &p->qlink);
        p->state = DP_BARRIER;
        n++;
    }
    return n;
}

/* Give the waiting pages (as many as there are free delivery slots) a
 * barrier. Pages wait for a slot before the barrier, not after it, so
 * that the check of their state comes right before they are sent. */
static void flush_barrier(struct dispatch *d)
{
    if (d->barrier_pending || list_empty(&d->waiting) || !d->active ||
        d->n_sending >= MAX_SENDING) {
        return;
    }
    d->barrier.cb = barrier_done;
    d->barrier.data = d;
    uv_update_time(d->retry_timer.loop);
    d->barrier_started = uv_now(d->retry_timer.loop);
    if (node_read(d->node, &d->barrier) != 0) {
        while (!list_empty(&d->waiting)) {
            dpage_drop(list_entry(d->waiting.next, struct dpage, qlink));
        }
        return;
    }
    d->barrier_pending = true;
    (void)take_waiting(d);
}

static void retry_cb(uv_timer_t *t)
{
    struct dispatch *d = t->data;
    uint64_t now = uv_now(t->loop);

    for (struct list *i = d->pages.next; i != &d->pages; i = i->next) {
        struct dpage *p = list_entry(i, struct dpage, link);
        if (p->state == DP_BACKOFF && p->retry_at <= now) {
            p->state = DP_WAITING;
            list_push(&d->waiting, &p->qlink);
        }
    }
    flush_barrier(d);
    arm_retry_timer(d);
}

/* --- scanning -------------------------------------------------------------
 */

static bool known(const struct dispatch *d, uint64_t id)
{
    for (const struct list *i = d->pages.next; i != &d->pages; i = i->next) {
        if (list_entry(i, struct dpage, link)->id == id) {
            return true;
        }
    }
    return false;
}

void dispatch_scan(struct dispatch *d)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    uint8_t kb[8];
    MDB_val k;
    MDB_val v;
    bool all = d->rescan;
    int rv;

    if (!d->active || d->closing) {
        return;
    }
    d->rescan = false;
    if (mdb_txn_begin(d->node->store.env, NULL, MDB_RDONLY, &txn) != 0) {
        return;
    }
    rv = mdb_cursor_open(txn, d->node->store.dbi[TABLE_PENDING], &cur);
    if (rv == 0) {
        k = store_id_key(kb, all ? 1 : d->scanned_to + 1);
        rv = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        while (rv == 0 && k.mv_size == 8 && d->n_pages < MAX_PAGES_IN_FLIGHT) {
            uint64_t id = store_get_be64(k.mv_data);
            if (!(all && known(d, id)) && dpage_new(d, id) == NULL) {
                break;
            }
            if (id > d->scanned_to) {
                d->scanned_to = id;
            }
            rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        d->more = rv == 0; /* stopped at the in-flight limit */
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    flush_barrier(d);
}

bool dispatch_wants_scan(const struct dispatch *d)
{
    return d->active &&
           (d->rescan || (d->more && d->n_pages < MAX_PAGES_IN_FLIGHT / 2));
}

/* --- lifecycle ------------------------------------------------------------
 */

static void drop_idle(struct dispatch *d)
{
    struct list *i = d->pages.next;
    while (i != &d->pages) {
        struct dpage *p = list_entry(i, struct dpage, link);
        i = i->next;
        if (p->state == DP_WAITING || p->state == DP_BACKOFF) {
            dpage_free(p);
        }
    }
    uv_timer_stop(&d->retry_timer);
}

void dispatch_set_active(struct dispatch *d, bool active)
{
    if (active == d->active || d->closing) {
        return;
    }
    d->active = active;
    if (active) {
        d->scanned_to = 0;
        d->rescan = false;
        log_info("dispatch: taking over pending pages");
        dispatch_scan(d);
        return;
    }
    drop_idle(d);
}

int dispatch_init(struct dispatch *d,
                  uv_loop_t *loop,
                  struct node *node,
                  char *err,
                  size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->node = node;
    list_init(&d->pages);
    list_init(&d->waiting);
    list_init(&d->at_barrier);
    if (deliverer_init(&d->deliverer, loop, err, errlen) != 0) {
        return -1;
    }
    uv_timer_init(loop, &d->retry_timer);
    d->retry_timer.data = d;
    return 0;
}

static void part_closed(struct dispatch *d)
{
    if (--d->close_pending == 0 && d->closed_cb != NULL) {
        d->closed_cb(d);
    }
}

static void timer_closed(uv_handle_t *h)
{
    part_closed(h->data);
}

static void deliverer_closed(struct deliverer *del)
{
    part_closed((struct dispatch *)((char *)del -
                                    offsetof(struct dispatch, deliverer)));
}

void dispatch_close(struct dispatch *d, void (*cb)(struct dispatch *d))
{
    if (d->closing) {
        return;
    }
    drop_idle(d);
    d->active = false;
    d->closing = true;
    d->closed_cb = cb;
    d->close_pending = 2;
    uv_close((uv_handle_t *)&d->retry_timer, timer_closed);
    deliverer_close(&d->deliverer, deliverer_closed);
}
