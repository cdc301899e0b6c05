/* klaxonctl: main(). */
#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "kctl.h"

int main(int argc, char **argv)
{
    struct kctl_ctx ctx;
    int rv = kctl_parse(argc, argv, &ctx);

    if (rv != 0) {
        kctl_ctx_free(&ctx);
        return rv;
    }
    if (ctx.g.help) {
        if (ctx.cmd != NULL && strcmp(ctx.cmd->name, "help") != 0) {
            kctl_print_command_help(ctx.cmd, stdout);
        } else {
            kctl_print_overview(stdout);
        }
    } else if (ctx.g.version && ctx.cmd == NULL) {
        printf("klaxonctl %s (protocol %d)\n", KLAXON_VERSION,
               PROTOCOL_VERSION);
    } else if (ctx.cmd == NULL) {
        rv = kctl_usage(&ctx, "no command given");
    } else {
        rv = ctx.cmd->run(&ctx);
    }
    kctl_ctx_free(&ctx);
    return rv;
}
