/*
 * Fuzz target "http": the bytes a sender writes on an HTTPS connection,
 * through the server's request parser (http-parser with klaxon's limits on
 * URL, headers and body; http_parse_stream). A request to /v2/enqueue has
 * its body converted as a PagerDuty Events v2 event, one to
 * /v1/alertmanager as an Alertmanager webhook (with its query); every
 * request a conversion yields must pass the node's own validation, since
 * the endpoints submit nothing else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_check.h"
#include "fuzz.h"
#include "http.h"
#include "http_events.h"
#include "log.h"
#include "oncall_config.h"

#define MAX_BODY (256u << 10)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_log();
    return 0;
}

static void check_converted(const Klaxon__Request *q, void *arg)
{
    Klaxon__Cluster__Command c;
    Klaxon__Cluster__SetConfig sc;
    Klaxon__OncallConfig *config = NULL;
    char msg[512];
    int rv;

    (void)arg;
    rv = api_write_command(q, "http", &c, &sc, &config, msg, sizeof msg);
    oncall_config_free(config);
    /* The sender's own fields (summary, source, dedup key) may be refused
     * with the reason; what the conversion adds (details) never may. */
    if (rv != KLAXON__CODE__OK && strncmp(msg, "details", 7) == 0) {
        fprintf(stderr, "converted request refused: %s\n", msg);
        abort();
    }
}

static void on_request(struct http_request *rq, void *arg)
{
    struct service_view svc;
    char query[64], err[512];

    (void)arg;
    memset(&svc, 0, sizeof svc);
    strcpy(svc.name, "api");
    svc.n_alias = 1;
    strcpy(svc.alias[0].word, "page");
    svc.alias[0].severity = 1;
    svc.severity_default = 3;
    (void)http_query(rq, "service", query, sizeof query);
    if (strcmp(rq->path, "/v2/enqueue") == 0) {
        (void)http_pagerduty_convert(rq->body, rq->body_len, &svc,
                                     check_converted, NULL, err, sizeof err);
    } else if (strncmp(rq->path, "/v1/alertmanager", 16) == 0) {
        (void)http_alertmanager_convert(rq, &svc, check_converted, NULL, err,
                                        sizeof err);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)http_parse_stream(data, size, MAX_BODY, on_request, NULL);
    return 0;
}
