/*
 * The client settings every bench tool shares: --endpoints, --ca, --cert
 * and --key (getopt values 'e', 'a', 'c', 'k'), which default to
 * $KLAXON_ENDPOINTS, $KLAXON_CA, $KLAXON_CERT and $KLAXON_KEY (`source
 * DIR/env` of a local cluster).
 */
#ifndef KLAXON_BENCH_CLIENT_H
#define KLAXON_BENCH_CLIENT_H

#include <stdbool.h>

#include "klaxon.h"

/* Clear o and take the KLAXON_* variables. */
void bench_client_from_env(struct klaxon_options *o);

/* Store arg if c is one of 'e', 'a', 'c', 'k'; false otherwise. */
bool bench_client_option(int c, const char *arg, struct klaxon_options *o);

/* 0 if endpoints and all three TLS files are set; else -1 with a message
 * on stderr naming prog. */
int bench_client_check(const char *prog, const struct klaxon_options *o);

#endif /* KLAXON_BENCH_CLIENT_H */
