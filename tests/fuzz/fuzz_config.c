/*
 * Fuzz target "config": the YAML an operator writes. Every input is parsed
 * both as a node configuration (klaxond.yaml, config_load_string) and as
 * an on-call file (what `klaxonctl apply` sends: oncall_config_parse, with
 * its validation); a parsed on-call file is also encoded and decoded again,
 * as the state machine stores it.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "log.h"
#include "oncall_config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_log();
    return 0;
}

static void node_config(const char *text)
{
    struct config cfg;
    char err[512];

    if (config_load_string("klaxond.yaml", text, "/", &cfg, err, sizeof err) ==
        0) {
        (void)config_member(&cfg, cfg.id);
    }
    config_free(&cfg);
}

/* A parsed file survives the round trip through its encoding. */
static void oncall_roundtrip(const Klaxon__OncallConfig *c)
{
    size_t n = klaxon__oncall_config__get_packed_size(c);
    uint8_t *buf = malloc(n > 0 ? n : 1);
    Klaxon__OncallConfig *back;
    char err[512];

    if (buf == NULL) {
        return;
    }
    klaxon__oncall_config__pack(c, buf);
    back = klaxon__oncall_config__unpack(NULL, n, buf);
    if (back == NULL || oncall_config_validate(back, err, sizeof err) != 0) {
        abort(); /* what was valid must stay valid once stored */
    }
    klaxon__oncall_config__free_unpacked(back, NULL);
    free(buf);
}

static void oncall(const char *text, size_t len)
{
    Klaxon__OncallConfig *c = NULL;
    char err[512];

    if (oncall_config_parse("oncall.yaml", text, len, &c, err, sizeof err) !=
        0) {
        return;
    }
    for (size_t i = 0; i < c->n_services; i++) {
        const Klaxon__Service *s = oncall_service(c, c->services[i]->name);
        for (unsigned sev = 0; s != NULL && sev <= 5; sev++) {
            const Klaxon__SeverityRule *r = oncall_severity(s, sev);
            if (r != NULL) {
                (void)oncall_paging(r);
            }
        }
    }
    oncall_roundtrip(c);
    oncall_config_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);

    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    node_config(text);
    oncall(text, size);
    free(text);
    return 0;
}
