/* klaxonctl: error reporting and exit codes. */
#include <stdarg.h>
#include <stdio.h>

#include "kctl.h"

static void vreport(const struct kctl_ctx *ctx, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void vreport(const struct kctl_ctx *ctx, const char *fmt, va_list ap)
{
    fputs("klaxonctl: ", stderr);
    if (ctx->cmd != NULL) {
        fprintf(stderr, "%s: ", ctx->cmd->name);
    }
    vfprintf(stderr, fmt, ap);
}

int kctl_usage(const struct kctl_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(ctx, fmt, ap);
    va_end(ap);
    if (ctx->cmd != NULL) {
        fprintf(stderr, "; see 'klaxonctl %s --help'\n", ctx->cmd->name);
    } else {
        fputs("; see 'klaxonctl --help'\n", stderr);
    }
    return KCTL_EXIT_USAGE;
}

int kctl_error(const struct kctl_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(ctx, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int kctl_exit_code(int rv)
{
    switch (rv) {
        case KLAXON_OK:
            return KCTL_EXIT_OK;
        case KLAXON_EUNAVAILABLE:
        case KLAXON_ETIMEOUT:
        case KLAXON_ECONNECT:
        case KLAXON_EPROTO:
        case KLAXON_EINTERNAL:
        case KLAXON_ELIMIT:
            return KCTL_EXIT_UNAVAILABLE;
        case KLAXON_ETLS:
        case KLAXON_ECONFIG:
        case KLAXON_EAUTH:
            return KCTL_EXIT_CONFIG;
        default:
            return KCTL_EXIT_REFUSED;
    }
}

int kctl_fail(const struct kctl_ctx *ctx, int rv)
{
    const char *msg = klaxon_errmsg(ctx->client);

    if (rv == KLAXON_ELIMIT) {
        return kctl_error(
            ctx, kctl_exit_code(rv),
            "over a node limit (RESOURCE_EXHAUSTED): %s; retry "
            "after %llu ms",
            msg[0] != '\0' ? msg : klaxon_strerror(rv),
            (unsigned long long)klaxon_retry_after_ms(ctx->client));
    }
    return kctl_error(ctx, kctl_exit_code(rv), "%s",
                      msg[0] != '\0' ? msg : klaxon_strerror(rv));
}
