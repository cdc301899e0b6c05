/*
 * klaxond: one node of a klaxon cluster.
 *
 * Exit status: 0 after a clean stop (SIGTERM/SIGINT), 1 after a runtime
 * failure (for example a disk that can no longer be written), 2 for a bad
 * command line, configuration or certificate.
 *
 * --restore FILE and --force-new-cluster prepare data_dir (recovery.h)
 * and exit: 0 when done, 2 when refused or failed (nothing changed).
 */
#include <getopt.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "api.h"
#include "config.h"
#include "engine.h"
#include "http.h"
#include "klaxon.h"
#include "log.h"
#include "loopstat.h"
#include "node.h"
#include "recovery.h"
#include "reload.h"
#include "tls.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

struct daemon
{
    uv_loop_t loop;
    struct config cfg;
    SSL_CTX *tls;
    struct node node;
    struct api api;
    struct http_server http;
    struct loopstat loopstat;
    struct engine engine;
    uv_signal_t sigterm;
    uv_signal_t sigint;
    uv_signal_t sighup;
    bool stopping;
};

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: klaxond --config FILE [--check]\n"
        "       klaxond --config FILE --restore BACKUP\n"
        "       klaxond --config FILE --force-new-cluster\n"
        "\n"
        "Run one node of a klaxon paging cluster.\n"
        "\n"
        "  -c, --config FILE    node configuration (YAML); see "
        "deploy/examples/\n"
        "      --check          validate the configuration and "
        "certificates, then exit\n"
        "      --restore BACKUP seed this node's empty data_dir from a "
        "backup\n"
        "                       (klaxonctl snapshot save), then exit. Run it "
        "on every\n"
        "                       node of the new cluster with the same file, "
        "then start\n"
        "                       them normally. Refused if data_dir holds "
        "anything or the\n"
        "                       file is damaged; nothing is written then.\n"
        "      --force-new-cluster\n"
        "                       when the other members are lost for good: "
        "rewrite this\n"
        "                       node's Raft membership to cluster.members of "
        "FILE\n"
        "                       (e.g. only itself), keeping all its data, "
        "then exit.\n"
        "                       Run it once, with the node stopped, then "
        "start it\n"
        "                       normally.\n"
        "  -V, --version        print the version\n"
        "  -h, --help           this help\n"
        "\n"
        "SIGTERM or SIGINT stops the node cleanly (a leader hands over "
        "first).\n"
        "SIGHUP re-reads FILE and reloads the TLS certificate, key and CA "
        "bundle\n"
        "and log.level; other changes are reported as needing a restart.\n"
        "Exit status: 0 clean stop, 1 runtime failure (restart it), "
        "2 bad configuration,\n"
        "or a refused or failed --restore / --force-new-cluster.\n");
}

struct args
{
    const char *config;
    const char *restore;
    bool check;
    bool force_new_cluster;
};

static int check_file(const char *field, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
        access(path, R_OK) != 0) {
        fprintf(stderr, "klaxond: %s: cannot read %s\n", field, path);
        return -1;
    }
    return 0;
}

/* Load TLS material and check that our certificate is this node's. */
static int load_tls(struct daemon *d)
{
    struct tls_identity id;
    uint64_t cert_id = 0;
    char err[512];

    if (check_file("tls.ca", d->cfg.tls_ca) != 0 ||
        check_file("tls.cert", d->cfg.tls_cert) != 0 ||
        check_file("tls.key", d->cfg.tls_key) != 0) {
        return -1;
    }
    if (tls_context_new(&d->tls, d->cfg.tls_ca, d->cfg.tls_cert, d->cfg.tls_key,
                        err, sizeof err) != 0) {
        fprintf(stderr, "klaxond: %s: %s\n", d->cfg.path, err);
        return -1;
    }
    if (tls_context_identity(d->tls, &id) != 0 ||
        tls_node_id(&id, &cert_id) != 0 || cert_id != d->cfg.id) {
        fprintf(stderr,
                "klaxond: %s: tls.cert: %s is not the certificate of "
                "node %llu (subject CN=%s, OU=%s; expected CN=node-%llu, "
                "OU=node)\n",
                d->cfg.path, d->cfg.tls_cert, (unsigned long long)d->cfg.id,
                id.name, id.role, (unsigned long long)d->cfg.id);
        SSL_CTX_free(d->tls);
        d->tls = NULL;
        return -1;
    }
    return 0;
}

static void node_stopped(struct node *n)
{
    struct daemon *d =
        (struct daemon *)((char *)n - offsetof(struct daemon, node));
    uv_close((uv_handle_t *)&d->sigterm, NULL);
    uv_close((uv_handle_t *)&d->sigint, NULL);
    uv_close((uv_handle_t *)&d->sighup, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct daemon *d = h->data;
    if (d->stopping) {
        log_info("klaxond: %s again; still stopping", strsignal(signum));
        return;
    }
    d->stopping = true;
    log_info("klaxond: %s: stopping", strsignal(signum));
    api_stop(&d->api);
    http_stop(&d->http);
    loopstat_stop(&d->loopstat);
    engine_stop(&d->engine, NULL);
    node_stop(&d->node, node_stopped);
}

static void tls_metrics(struct daemon *d, const struct tls_info *info)
{
    d->node.metrics.tls_cert_expiry = (int64_t)info->not_after;
    d->node.metrics.tls_ca_certs = info->n_ca;
}

static void log_reloaded(struct daemon *d,
                         const struct reload_tls *rt,
                         const struct reload_plan *plan)
{
    char expiry[32];
    struct tm tm;
    time_t now = time(NULL);
    long days = (long)((rt->info.not_after - now) / 86400);

    gmtime_r(&rt->info.not_after, &tm);
    strftime(expiry, sizeof expiry, "%Y-%m-%dT%H:%M:%SZ", &tm);
    for (unsigned i = 0; i < plan->n_restart; i++) {
        log_warn(
            "klaxond: reload: %s changed in %s; needs a restart, "
            "still running with the old value",
            plan->restart[i], d->cfg.path);
    }
    log_info(
        "klaxond: reloaded %s: certificate %s (%s), expires %s (in %ld "
        "days), %u CA certificate(s) trusted from %s, log level %s%s",
        d->cfg.path, rt->info.subject, d->cfg.tls_cert, expiry, days,
        rt->info.n_ca, d->cfg.tls_ca, config_log_level_name(d->cfg.log_level),
        plan->n_restart > 0 ? "; some changes need a restart" : "");
}

/*
 * SIGHUP: build everything new aside, then swap in one turn of the loop.
 * The daemon holds one reference to the peer context and lends it to the
 * node, the client API and the forwarder; the HTTPS server owns its own.
 * Every SSL takes its own reference (SSL_new), so handshakes and
 * connections in flight keep the old contexts alive until they close.
 */
static void on_sighup(uv_signal_t *h, int signum)
{
    struct daemon *d = h->data;
    struct config next;
    struct reload_plan plan;
    struct reload_tls rt;
    SSL_CTX *old;
    char err[768];

    (void)signum;
    if (d->stopping) {
        return;
    }
    log_info("klaxond: SIGHUP: reloading %s", d->cfg.path);
    if (config_load(d->cfg.path, &next, err, sizeof err) != 0) {
        log_error("klaxond: reload refused, nothing changed: %s", err);
        d->node.metrics.tls_reloads[1]++;
        return;
    }
    reload_plan(&d->cfg, &next, &plan);
    if (reload_tls_build(d->tls, d->http.tls, d->cfg.id, &next, &rt, err,
                         sizeof err) != 0) {
        log_error("klaxond: reload refused, nothing changed: %s: %s",
                  d->cfg.path, err);
        d->node.metrics.tls_reloads[1]++;
        config_free(&next);
        return;
    }
    old = d->tls;
    d->tls = rt.peer;
    node_set_tls(&d->node, rt.peer);
    api_set_tls(&d->api, rt.peer);
    http_set_tls(&d->http, rt.http, rt.peer);
    SSL_CTX_free(old);
    reload_apply(&d->cfg, &next);
    log_init(d->cfg.id, d->cfg.log_level);
    tls_metrics(d, &rt.info);
    d->node.metrics.tls_reloads[0]++;
    log_reloaded(d, &rt, &plan);
    config_free(&next);
}

static int parse_args(int argc, char **argv, struct args *a)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'k'},
        {"restore", required_argument, NULL, 'r'},
        {"force-new-cluster", no_argument, NULL, 'f'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    while ((c = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
        switch (c) {
            case 'c':
                a->config = optarg;
                break;
            case 'k':
                a->check = true;
                break;
            case 'r':
                a->restore = optarg;
                break;
            case 'f':
                a->force_new_cluster = true;
                break;
            case 'V':
                printf("klaxond %s\n", KLAXON_VERSION);
                exit(0);
            case 'h':
                usage(stdout);
                exit(0);
            default:
                usage(stderr);
                return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "klaxond: unexpected argument \"%s\"\n", argv[optind]);
        return -1;
    }
    if (a->config == NULL) {
        fprintf(stderr, "klaxond: --config FILE is required\n");
        usage(stderr);
        return -1;
    }
    if ((a->check ? 1 : 0) + (a->restore != NULL ? 1 : 0) +
            (a->force_new_cluster ? 1 : 0) >
        1) {
        fprintf(stderr,
                "klaxond: --check, --restore and --force-new-cluster exclude "
                "each other\n");
        return -1;
    }
    return 0;
}

static void report_leaks(uv_handle_t *h, void *arg)
{
    (void)arg;
    log_error("klaxond: handle still open at exit: %s",
              uv_handle_type_name(uv_handle_get_type(h)));
}

/* The node's current Raft term, for log lines. */
static uint64_t log_term(void *arg)
{
    const struct node *n = arg;
    return n->raft.current_term;
}

static int run(struct daemon *d)
{
    char err[512];
    struct tls_info info;
    bool api_up = false;
    int rv;

    uv_loop_init(&d->loop);
    (void)uv_loop_configure(&d->loop, UV_METRICS_IDLE_TIME);
    log_set_term_source(log_term, &d->node);
    if (node_start(&d->node, &d->loop, &d->cfg, d->tls, err, sizeof err) != 0 ||
        engine_start(&d->engine, &d->loop, &d->node, err, sizeof err) != 0 ||
        api_start(&d->api, &d->loop, &d->node, &d->cfg, d->tls, err,
                  sizeof err) != 0 ||
        !(api_up = true) ||
        http_start(&d->http, &d->loop, &d->node, &d->cfg, d->tls, err,
                   sizeof err) != 0) {
        log_error("klaxond: %s", err);
        fprintf(stderr, "klaxond: %s\n", err);
        d->node.exit_code = EXIT_RUNTIME;
        if (d->engine.node != NULL) {
            engine_stop(&d->engine, NULL);
        }
        if (api_up) {
            api_stop(&d->api); /* the HTTPS port is what failed */
        }
        if (!d->node.closing) {
            node_stop(&d->node, NULL);
        }
        uv_run(&d->loop, UV_RUN_DEFAULT);
        node_destroy(&d->node);
        http_destroy(&d->http);
        uv_loop_close(&d->loop);
        return EXIT_RUNTIME;
    }
    if (loopstat_start(&d->loopstat, &d->loop, &d->node.metrics.loop_busy) !=
        0) {
        log_warn(
            "klaxond: cannot measure the loop; "
            "klaxon_loop_busy_seconds stays empty");
    }
    uv_signal_init(&d->loop, &d->sigterm);
    uv_signal_init(&d->loop, &d->sigint);
    d->sigterm.data = d;
    d->sigint.data = d;
    uv_signal_start(&d->sigterm, on_signal, SIGTERM);
    uv_signal_start(&d->sigint, on_signal, SIGINT);
    uv_signal_init(&d->loop, &d->sighup);
    d->sighup.data = d;
    uv_signal_start(&d->sighup, on_sighup, SIGHUP);
    if (tls_context_info(d->tls, &info) == 0) {
        tls_metrics(d, &info);
    }
    log_info("klaxond %s: node %llu, raft %s, api %s, https %s, data %s",
             KLAXON_VERSION, (unsigned long long)d->cfg.id, d->cfg.raft_address,
             d->cfg.api_address,
             d->cfg.http_bind[0] != '\0' ? d->cfg.http_bind : "off",
             d->cfg.data_dir);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    node_destroy(&d->node);
    http_destroy(&d->http);
    rv = uv_loop_close(&d->loop);
    if (rv != 0) {
        uv_walk(&d->loop, report_leaks, NULL);
    }
    log_info("klaxond: stopped");
    return d->node.exit_code;
}

/* --restore or --force-new-cluster: prepare data_dir, then exit. */
static int recover(struct daemon *d, const struct args *a)
{
    char err[1024];
    int rv;

    if (a->restore != NULL) {
        rv = recovery_restore(&d->cfg, a->restore, err, sizeof err);
    } else {
        rv = recovery_force_new_cluster(&d->cfg, err, sizeof err);
    }
    if (rv != 0) {
        fprintf(stderr, "klaxond: %s\n", err);
        fprintf(stderr, "klaxond: nothing was changed in %s\n",
                d->cfg.data_dir);
        return EXIT_USAGE;
    }
    printf("%s: %s done; start the node normally now\n", d->cfg.data_dir,
           a->restore != NULL ? "restore" : "force-new-cluster");
    return 0;
}

int main(int argc, char **argv)
{
    static struct daemon d;
    struct args a = {0};
    const char *config;
    bool check;
    char err[512];
    int code;

    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN); /* until the loop reloads on it */
    if (parse_args(argc, argv, &a) != 0) {
        return EXIT_USAGE;
    }
    config = a.config;
    check = a.check;
    if (config_load(config, &d.cfg, err, sizeof err) != 0) {
        fprintf(stderr, "klaxond: %s\n", err);
        return EXIT_USAGE;
    }
    log_init(d.cfg.id, d.cfg.log_level);
    if (load_tls(&d) != 0) {
        config_free(&d.cfg);
        return EXIT_USAGE;
    }
    if (check) {
        printf("%s: ok (node %llu of %u)\n", config,
               (unsigned long long)d.cfg.id, d.cfg.n_members);
        SSL_CTX_free(d.tls);
        config_free(&d.cfg);
        return 0;
    }
    if (a.restore != NULL || a.force_new_cluster) {
        code = recover(&d, &a);
    } else {
        code = run(&d);
    }
    SSL_CTX_free(d.tls);
    config_free(&d.cfg);
    return code;
}
