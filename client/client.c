/* Creation and destruction of a client, and its error message. */
#include "client.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 20000
#define DEFAULT_CONNECT_TIMEOUT_MS 2000

int client_fail(klaxon_client *c, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

uint64_t klaxon_retry_after_ms(const klaxon_client *c)
{
    return c != NULL ? c->retry_after_ms : 0;
}

uint64_t client_random(klaxon_client *c)
{
    uint64_t x = c->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

void client_drop_conn(klaxon_client *c)
{
    conn_close(c->conn);
    c->conn = NULL;
}

static void seed_rng(klaxon_client *c)
{
    if (getrandom(&c->rng, sizeof c->rng, GRND_NONBLOCK) !=
        (ssize_t)sizeof c->rng) {
        /* Jitter only spreads retries out; any varying seed will do. */
        c->rng = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32 ^
                 (uint64_t)(uintptr_t)c;
    }
    if (c->rng == 0) {
        c->rng = 0x9E3779B97F4A7C15ULL;
    }
}

/* Check the required options; KLAXON_ECONFIG names the missing one. */
static int check_options(const struct klaxon_options *o, char *msg, size_t len)
{
    const char *missing = NULL;

    if (o == NULL) {
        snprintf(msg, len, "options: required");
        return KLAXON_ECONFIG;
    }
    if (o->endpoints == NULL || *o->endpoints == '\0') {
        missing = "endpoints";
    } else if (o->ca_file == NULL || *o->ca_file == '\0') {
        missing = "ca_file";
    } else if (o->cert_file == NULL || *o->cert_file == '\0') {
        missing = "cert_file";
    } else if (o->key_file == NULL || *o->key_file == '\0') {
        missing = "key_file";
    }
    if (missing != NULL) {
        snprintf(msg, len, "%s: required", missing);
        return KLAXON_ECONFIG;
    }
    return KLAXON_OK;
}

static int setup(klaxon_client *c,
                 const struct klaxon_options *o,
                 char *msg,
                 size_t len)
{
    char why[200];
    int rv = endpoint_list_parse(o->endpoints, &c->endpoints, why, sizeof why);

    if (rv != KLAXON_OK) {
        snprintf(msg, len, "endpoints: %s", why);
        return rv == KLAXON_ENOMEM ? rv : KLAXON_ECONFIG;
    }
    rv = tlsconf_init(&c->tls, o, msg, len);
    if (rv != KLAXON_OK) {
        endpoint_list_clear(&c->endpoints);
        return rv;
    }
    c->timeout_ms = o->timeout_ms != 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->connect_timeout_ms = o->connect_timeout_ms != 0
                                ? o->connect_timeout_ms
                                : DEFAULT_CONNECT_TIMEOUT_MS;
    seed_rng(c);
    return KLAXON_OK;
}

int klaxon_client_new(const struct klaxon_options *opts,
                      klaxon_client **out,
                      char *errmsg)
{
    char scratch[KLAXON_ERRMSG_SIZE];
    char *msg = errmsg != NULL ? errmsg : scratch;
    klaxon_client *c;
    int rv;

    msg[0] = '\0';
    if (out == NULL) {
        snprintf(msg, KLAXON_ERRMSG_SIZE, "out: required");
        return KLAXON_EINVAL;
    }
    *out = NULL;
    rv = check_options(opts, msg, KLAXON_ERRMSG_SIZE);
    if (rv != KLAXON_OK) {
        return rv;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(msg, KLAXON_ERRMSG_SIZE, "out of memory");
        return KLAXON_ENOMEM;
    }
    rv = setup(c, opts, msg, KLAXON_ERRMSG_SIZE);
    if (rv != KLAXON_OK) {
        free(c);
        return rv;
    }
    *out = c;
    return KLAXON_OK;
}

void klaxon_client_free(klaxon_client *c)
{
    if (c == NULL) {
        return;
    }
    client_drop_conn(c);
    tlsconf_cleanup(&c->tls);
    endpoint_list_clear(&c->endpoints);
    free(c);
}

const char *klaxon_errmsg(const klaxon_client *c)
{
    return c != NULL ? c->errmsg : "";
}
