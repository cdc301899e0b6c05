#include "metrics.h"

#include "connlimit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "field_limits.h"
#include "incident.h"
#include "klaxon.pb-c.h"
#include "node.h"
#include "oncall_state.h"
#include "store.h"
#include "strbuf.h"

static const double bounds[METRICS_BUCKETS - 1] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

static const char *const channel_names[METRICS_CHANNELS] = {
    "unspecified", "webhook", "exec", "email"};
static const char *const page_result_names[PAGE_RESULTS] = {"sent", "failed",
                                                            "retried"};

void histogram_observe(struct histogram *h, double seconds)
{
    size_t i = 0;
    while (i < METRICS_BUCKETS - 1 && seconds > bounds[i]) {
        i++;
    }
    h->buckets[i]++;
    h->count++;
    h->sum += seconds;
}

void metrics_request(struct metrics *m, int op, int code)
{
    if (op >= 0 && op < METRICS_OPS && code >= 0 && code < METRICS_CODES) {
        m->requests[op][code]++;
    }
}

void metrics_page(struct metrics *m, int kind, enum page_result r)
{
    if (kind >= 0 && kind < METRICS_CHANNELS) {
        m->pages[kind][r]++;
    }
}

void metrics_http(struct metrics *m, int status)
{
    int cls = status / 100;
    m->http_requests[cls >= 1 && cls <= 5 ? cls : 0]++;
}

/* --- rendering -------------------------------------------------------- */

static void head(struct strbuf *o,
                 const char *name,
                 const char *type,
                 const char *help)
{
    strbuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and newlines escaped. */
static void put_label(struct strbuf *o, const char *v)
{
    for (; *v != '\0'; v++) {
        if (*v == '\\' || *v == '"') {
            strbuf_printf(o, "\\%c", *v);
        } else if (*v == '\n') {
            strbuf_printf(o, "\\n");
        } else {
            strbuf_printf(o, "%c", *v);
        }
    }
}

static void histogram(struct strbuf *o,
                      const char *name,
                      const char *help,
                      const struct histogram *h)
{
    uint64_t cum = 0;
    head(o, name, "histogram", help);
    for (size_t i = 0; i < METRICS_BUCKETS - 1; i++) {
        cum += h->buckets[i];
        strbuf_printf(o, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i],
                      (unsigned long long)cum);
    }
    strbuf_printf(o, "%s_bucket{le=\"+Inf\"} %llu\n", name,
                  (unsigned long long)h->count);
    strbuf_printf(o, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name,
                  (unsigned long long)h->count);
}

/* The log budget's counts now (log_budget.h), InstallSnapshot sends
 * from state files (snap_send.h) and the mapped state pages (map_trim.h). */
static void snapshot_figures(struct strbuf *o, struct node *n)
{
    uint64_t resident, trims;

    map_trim_figures(&n->map_trim, &resident, &trims);
    head(o, "klaxon_process_file_resident_bytes", "gauge",
         "file pages mapped into this process (state file and code)");
    strbuf_printf(o, "klaxon_process_file_resident_bytes %llu\n",
                  (unsigned long long)resident);
    head(o, "klaxon_state_map_trims_total", "counter",
         "times the state file's mapped pages were dropped "
         "(limits.state_mapped_mb)");
    strbuf_printf(o, "klaxon_state_map_trims_total %llu\n",
                  (unsigned long long)trims);
    head(o, "klaxon_raft_snapshot_threshold_entries", "gauge",
         "entries applied after a snapshot before the next one is taken");
    strbuf_printf(o, "klaxon_raft_snapshot_threshold_entries %u\n",
                  n->fsm.budget.threshold);
    head(o, "klaxon_raft_snapshot_trailing_entries", "gauge",
         "entries kept in the log behind a snapshot");
    strbuf_printf(o, "klaxon_raft_snapshot_trailing_entries %u\n",
                  n->fsm.budget.trailing);
    head(o, "klaxon_snapshot_sends_total", "counter",
         "snapshots read from a state file to send to a follower, by result");
    strbuf_printf(o, "klaxon_snapshot_sends_total{result=\"ok\"} %llu\n",
                  (unsigned long long)n->snap_send.n_sent);
    strbuf_printf(o, "klaxon_snapshot_sends_total{result=\"failed\"} %llu\n",
                  (unsigned long long)n->snap_send.n_failed);
}

static void raft_figures(struct strbuf *o, struct node *n)
{
    static const char *const roles[] = {"leader", "follower", "candidate",
                                        "unavailable"};
    Klaxon__Member *members[CONFIG_MAX_MEMBERS];
    Klaxon__Member storage[CONFIG_MAX_MEMBERS];
    Klaxon__NodeStatus st;

    node_status(n, &st, members, storage);
    head(o, "klaxon_node_role", "gauge",
         "1 for the role this node has now (leader, follower, ...)");
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        strbuf_printf(o, "klaxon_node_role{role=\"%s\"} %d\n", roles[i],
                      strcmp(st.role, roles[i]) == 0);
    }
    head(o, "klaxon_node_ready", "gauge",
         "1 if this node is a leader whose first barrier committed");
    strbuf_printf(o, "klaxon_node_ready %d\n", st.ready ? 1 : 0);
    head(o, "klaxon_raft_term", "gauge", "current Raft term");
    strbuf_printf(o, "klaxon_raft_term %llu\n", (unsigned long long)st.term);
    head(o, "klaxon_raft_commit_index", "gauge", "Raft commit index");
    strbuf_printf(o, "klaxon_raft_commit_index %llu\n",
                  (unsigned long long)st.commit_index);
    head(o, "klaxon_raft_applied_index", "gauge",
         "last log index applied to the state");
    strbuf_printf(o, "klaxon_raft_applied_index %llu\n",
                  (unsigned long long)st.applied_index);
    head(o, "klaxon_raft_apply_lag", "gauge",
         "entries committed but not applied yet on this node");
    strbuf_printf(o, "klaxon_raft_apply_lag %llu\n",
                  (unsigned long long)(st.commit_index > st.applied_index
                                           ? st.commit_index - st.applied_index
                                           : 0));
    head(o, "klaxon_linearizable_reads_total", "counter",
         "reads answered on this leader (client reads, page checks, "
         "backups), by how its leadership was confirmed");
    strbuf_printf(o, "klaxon_linearizable_reads_total{via=\"lease\"} %llu\n",
                  (unsigned long long)n->n_lease_reads);
    strbuf_printf(o, "klaxon_linearizable_reads_total{via=\"barrier\"} %llu\n",
                  (unsigned long long)n->n_barrier_reads);
    head(o, "klaxon_raft_peers_connected", "gauge",
         "other members this node has a transport connection to");
    strbuf_printf(o, "klaxon_raft_peers_connected %u\n",
                  transport_connected_peers(&n->transport));
    head(o, "klaxon_raft_members", "gauge", "members of the cluster");
    strbuf_printf(o, "klaxon_raft_members %zu\n", st.n_members);
    snapshot_figures(o, n);
    head(o, "klaxon_uptime_seconds", "gauge", "seconds since klaxond started");
    strbuf_printf(o, "klaxon_uptime_seconds %.3f\n",
                  (double)st.uptime_ms / 1000.0);
}

static void tls_figures(struct strbuf *o, const struct metrics *m)
{
    head(o, "klaxon_tls_cert_expiry_seconds", "gauge",
         "expiry of the node certificate in use, Unix time");
    strbuf_printf(o, "klaxon_tls_cert_expiry_seconds %lld\n",
                  (long long)m->tls_cert_expiry);
    head(o, "klaxon_tls_ca_certificates", "gauge",
         "CA certificates in the trusted bundle in use");
    strbuf_printf(o, "klaxon_tls_ca_certificates %u\n", m->tls_ca_certs);
    head(o, "klaxon_tls_reloads_total", "counter",
         "SIGHUP reloads of the TLS files, applied or refused");
    strbuf_printf(o, "klaxon_tls_reloads_total{result=\"applied\"} %llu\n",
                  (unsigned long long)m->tls_reloads[0]);
    strbuf_printf(o, "klaxon_tls_reloads_total{result=\"refused\"} %llu\n",
                  (unsigned long long)m->tls_reloads[1]);
}

static void request_counters(struct strbuf *o, const struct metrics *m)
{
    const ProtobufCMessageDescriptor *rd = &klaxon__request__descriptor;
    const ProtobufCEnumDescriptor *cd = &klaxon__code__descriptor;

    head(o, "klaxon_requests_total", "counter",
         "client requests (libklaxon and HTTPS) by operation and result");
    for (int op = 0; op < METRICS_OPS; op++) {
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field(rd, (unsigned)op);
        for (int c = 0; c < METRICS_CODES; c++) {
            const ProtobufCEnumValue *v;
            if (m->requests[op][c] == 0 || f == NULL) {
                continue;
            }
            v = protobuf_c_enum_descriptor_get_value(cd, c);
            strbuf_printf(
                o, "klaxon_requests_total{op=\"%s\",result=\"%s\"} %llu\n",
                f->name, v != NULL ? v->name : "UNKNOWN",
                (unsigned long long)m->requests[op][c]);
        }
    }
    head(o, "klaxon_http_responses_total", "counter",
         "HTTPS answers by status class");
    for (int cls = 1; cls <= 5; cls++) {
        strbuf_printf(o, "klaxon_http_responses_total{class=\"%dxx\"} %llu\n",
                      cls, (unsigned long long)m->http_requests[cls]);
    }
    head(o, "klaxon_forwarded_total", "counter",
         "HTTPS writes this node forwarded to the leader");
    strbuf_printf(o, "klaxon_forwarded_total %llu\n",
                  (unsigned long long)m->forwarded);
}

static void limit_counters(struct strbuf *o, const struct metrics *m)
{
    head(o, "klaxon_limit_hits_total", "counter",
         "connections refused or closed, and requests refused, because of "
         "klaxond.yaml limits, by listener and limit");
    for (int l = 0; l < METRICS_LISTENERS; l++) {
        for (int k = LIMIT_NONE + 1; k < METRICS_LIMITS; k++) {
            strbuf_printf(o,
                          "klaxon_limit_hits_total{listener=\"%s\",limit="
                          "\"%s\"} %llu\n",
                          connlimit_listener_name((enum limit_listener)l),
                          connlimit_kind_name((enum limit_kind)k),
                          (unsigned long long)m->limits[l][k]);
        }
    }
}

static void page_counters(struct strbuf *o, const struct metrics *m)
{
    head(o, "klaxon_page_deliveries_total", "counter",
         "page delivery attempts by this node (as leader), by channel and "
         "result");
    for (int k = 1; k < METRICS_CHANNELS; k++) {
        for (int r = 0; r < PAGE_RESULTS; r++) {
            strbuf_printf(
                o,
                "klaxon_page_deliveries_total{channel=\"%s\",result=\"%s\"} "
                "%llu\n",
                channel_names[k], page_result_names[r],
                (unsigned long long)m->pages[k][r]);
        }
    }
}

static void state_counters(struct strbuf *o, const Klaxon__StateCounters *c)
{
    struct
    {
        const char *name, *help;
        uint64_t v;
    } rows[] = {
        {"klaxon_pages_created_total", "pages recorded", c->pages_created},
        {"klaxon_pages_delivered_total", "pages delivered", c->pages_delivered},
        {"klaxon_pages_failed_total", "pages that failed every attempt",
         c->pages_failed},
        {"klaxon_pages_cancelled_total", "pages cancelled by an ack or resolve",
         c->pages_cancelled},
        {"klaxon_escalations_total", "escalation levels reached",
         c->escalations},
        {"klaxon_unanswered_total",
         "incidents that ran out of escalation levels", c->unanswered},
        {"klaxon_sla_missed_total{target=\"response\"}",
         "incidents that missed a response or resolution target",
         c->response_missed},
        {"klaxon_sla_missed_total{target=\"resolution\"}", NULL,
         c->resolution_missed},
        {"klaxon_heartbeats_missed_total", "heartbeat check-ins missed",
         c->heartbeats_missed},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (rows[i].help != NULL) {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)strcspn(rows[i].name, "{"),
                     rows[i].name);
            head(o, name, "counter", rows[i].help);
        }
        strbuf_printf(o, "%s %llu\n", rows[i].name,
                      (unsigned long long)rows[i].v);
    }
    head(o, "klaxon_config_version", "gauge",
         "version of the on-call configuration in force");
    strbuf_printf(o, "klaxon_config_version %llu\n",
                  (unsigned long long)c->config_version);
}

/* Open incidents by service and severity, from the counts kept beside
 * the state (server/open_counts.h). */
static int open_incidents(struct strbuf *o, MDB_txn *txn, struct node *n)
{
    struct open_counts *oc = &n->fsm.env.open;

    if (open_counts_get(oc, txn, &n->store) != 0) {
        return -1;
    }
    head(o, "klaxon_open_incidents", "gauge",
         "open (triggered or acknowledged) incidents by service and "
         "severity");
    for (size_t i = 0; i < oc->n; i++) {
        const struct open_count *c = &oc->v[i];
        if ((c->by_sev[0] | c->by_sev[1] | c->by_sev[2] | c->by_sev[3]) == 0) {
            continue;
        }
        for (int sev = 0; sev < 4; sev++) {
            strbuf_printf(o, "%s", "klaxon_open_incidents{service=\"");
            put_label(o, c->service);
            strbuf_printf(o, "\",severity=\"%d\"} %llu\n", sev + 1,
                          (unsigned long long)c->by_sev[sev]);
        }
    }
    return 0;
}

int metrics_render(struct node *n, char **out, size_t *len)
{
    Klaxon__StateCounters counters;
    struct strbuf o;
    MDB_txn *txn;
    int rv;

    if (strbuf_init(&o, 16384) != 0) {
        return -1;
    }
    raft_figures(&o, n);
    request_counters(&o, &n->metrics);
    tls_figures(&o, &n->metrics);
    limit_counters(&o, &n->metrics);
    histogram(&o, "klaxon_commit_latency_seconds",
              "time from a write's arrival to its commit and apply",
              &n->metrics.commit_latency);
    page_counters(&o, &n->metrics);
    histogram(&o, "klaxon_loop_busy_seconds",
              "time each turn of the node's event loop spent working (not "
              "waiting for I/O): stalls show in the high buckets",
              &n->metrics.loop_busy);
    histogram(&o, "klaxon_trigger_to_page_seconds",
              "time from an incident's trigger to the delivery of its "
              "first-level pages",
              &n->metrics.trigger_to_page);
    rv = mdb_txn_begin(n->store.env, NULL, MDB_RDONLY, &txn);
    if (rv == 0) {
        if (oncall_counters(txn, &n->store, &counters) == 0) {
            state_counters(&o, &counters);
        } else {
            rv = -1;
        }
        if (rv == 0) {
            rv = open_incidents(&o, txn, n);
        }
        mdb_txn_abort(txn);
    }
    if (rv != 0) {
        strbuf_free(&o);
        return -1;
    }
    *out = strbuf_take(&o, len);
    return *out != NULL ? 0 : -1;
}
