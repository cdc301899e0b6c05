#include "bench_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bench_client_from_env(struct klaxon_options *o)
{
    memset(o, 0, sizeof *o);
    o->endpoints = getenv("KLAXON_ENDPOINTS");
    o->ca_file = getenv("KLAXON_CA");
    o->cert_file = getenv("KLAXON_CERT");
    o->key_file = getenv("KLAXON_KEY");
}

bool bench_client_option(int c, const char *arg, struct klaxon_options *o)
{
    switch (c) {
        case 'e':
            o->endpoints = arg;
            return true;
        case 'a':
            o->ca_file = arg;
            return true;
        case 'c':
            o->cert_file = arg;
            return true;
        case 'k':
            o->key_file = arg;
            return true;
        default:
            return false;
    }
}

int bench_client_check(const char *prog, const struct klaxon_options *o)
{
    if (o->endpoints == NULL || o->ca_file == NULL || o->cert_file == NULL ||
        o->key_file == NULL) {
        fprintf(stderr,
                "%s: endpoints and TLS files are required (options or "
                "KLAXON_* variables)\n",
                prog);
        return -1;
    }
    return 0;
}
