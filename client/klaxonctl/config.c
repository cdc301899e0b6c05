/* Client configuration from global flags and the environment. */
#include <stdlib.h>

#include "kctl.h"

#define DEFAULT_TIMEOUT_MS 20000

/* The flag's value, else the environment variable's, else NULL. */
static const char *setting(const char *flag, const char *env)
{
    const char *v = flag != NULL ? flag : getenv(env);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

static int timeout_of(const struct kctl_ctx *ctx, unsigned *ms)
{
    const char *v = setting(ctx->g.timeout, "KLAXON_TIMEOUT");

    *ms = DEFAULT_TIMEOUT_MS;
    if (v != NULL && kctl_parse_duration(v, ms) != 0) {
        return kctl_usage(
            ctx, "%s: invalid duration '%s' (e.g. 500ms, 10s, 2m)",
            ctx->g.timeout != NULL ? "--timeout" : "KLAXON_TIMEOUT", v);
    }
    return 0;
}

const char *kctl_endpoints(const struct kctl_ctx *ctx)
{
    return setting(ctx->g.endpoints, "KLAXON_ENDPOINTS");
}

int kctl_connect(struct kctl_ctx *ctx)
{
    struct klaxon_options o = {
        .endpoints = kctl_endpoints(ctx),
        .ca_file = setting(ctx->g.ca, "KLAXON_CA"),
        .cert_file = setting(ctx->g.cert, "KLAXON_CERT"),
        .key_file = setting(ctx->g.key, "KLAXON_KEY"),
    };
    char err[KLAXON_ERRMSG_SIZE];
    int rv;

    if (o.endpoints == NULL) {
        return kctl_usage(ctx,
                          "no endpoints: use --endpoints or set "
                          "KLAXON_ENDPOINTS");
    }
    if (o.ca_file == NULL) {
        return kctl_usage(ctx, "no CA file: use --ca or set KLAXON_CA");
    }
    if (o.cert_file == NULL) {
        return kctl_usage(ctx,
                          "no client certificate: use --cert or set "
                          "KLAXON_CERT");
    }
    if (o.key_file == NULL) {
        return kctl_usage(ctx, "no client key: use --key or set KLAXON_KEY");
    }
    rv = timeout_of(ctx, &o.timeout_ms);
    if (rv != 0) {
        return rv;
    }
    rv = klaxon_client_new(&o, &ctx->client, err);
    if (rv != KLAXON_OK) {
        return kctl_error(ctx, kctl_exit_code(rv), "%s", err);
    }
    return 0;
}

const char *kctl_actor(const struct kctl_ctx *ctx)
{
    const char *by = kctl_flag(ctx, "by");

    if (by != NULL) {
        return by;
    }
    by = getenv("KLAXON_USER");
    if (by == NULL || by[0] == '\0') {
        by = getenv("USER");
    }
    return by != NULL && by[0] != '\0' ? by : NULL;
}
