/* klaxonctl snapshot save|inspect: backups of the replicated state. */
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "kctl.h"

/* Progress on stderr, one line redrawn, only on a terminal. */
struct progress
{
    bool tty;
    bool shown;
};

static void show_progress(void *arg,
                          enum klaxon_snapshot_phase phase,
                          uint64_t done,
                          uint64_t total)
{
    struct progress *p = arg;

    if (!p->tty) {
        return;
    }
    if (phase == KLAXON_SNAPSHOT_WRITING) {
        fprintf(stderr,
                "\rnode writing the snapshot: %" PRIu64 "/%" PRIu64
                " records   ",
                done, total);
    } else {
        fprintf(stderr, "\rfetching: %.1f/%.1f MiB (%u%%)                  ",
                (double)done / (1 << 20), (double)total / (1 << 20),
                total > 0 ? (unsigned)(done * 100 / total) : 0);
    }
    p->shown = true;
}

static json_t *info_json(const char *path, const struct klaxon_snapshot_info *i)
{
    char id[17];
    snprintf(id, sizeof id, "%016" PRIx64, i->cluster_id);
    return json_pack("{s:s, s:i, s:s, s:I, s:I, s:I, s:I, s:s}", "file", path,
                     "format_version", (int)i->format_version, "cluster_id", id,
                     "applied_index", (json_int_t)i->applied_index,
                     "created_ms", (json_int_t)i->created_ms, "records",
                     (json_int_t)i->records, "size", (json_int_t)i->size,
                     "sha256", i->sha256);
}

static void info_print(const char *path, const struct klaxon_snapshot_info *i)
{
    char created[64];

    kctl_format_time(i->created_ms, created, sizeof created);
    printf("file            %s\n", path);
    printf("format version  %u\n", i->format_version);
    printf("cluster id      %016" PRIx64 "\n", i->cluster_id);
    printf("applied index   %" PRIu64 "\n", i->applied_index);
    printf("created         %s\n", created);
    printf("records         %" PRIu64 "\n", i->records);
    printf("size            %" PRIu64 " bytes\n", i->size);
    printf("sha256          %s (verified)\n", i->sha256);
}

int kctl_cmd_snapshot_save(struct kctl_ctx *ctx)
{
    struct klaxon_snapshot_info info;
    struct progress p = {isatty(STDERR_FILENO) == 1, false};
    int rv;

    if (ctx->n_pos == 0) {
        return kctl_usage(ctx, "missing FILE");
    }
    rv = kctl_connect(ctx);
    if (rv != 0) {
        return rv;
    }
    rv = klaxon_snapshot_save(ctx->client, ctx->pos[0], show_progress, &p,
                              &info);
    if (p.shown) {
        fputc('\n', stderr);
    }
    if (rv != KLAXON_OK) {
        return kctl_fail(ctx, rv);
    }
    if (ctx->g.json) {
        return kctl_json_print(ctx, info_json(ctx->pos[0], &info));
    }
    printf("saved %s: state at index %" PRIu64 ", %" PRIu64 " records, %" PRIu64
           " bytes, sha256 %s\n",
           ctx->pos[0], info.applied_index, info.records, info.size,
           info.sha256);
    return KCTL_EXIT_OK;
}

int kctl_cmd_snapshot_inspect(struct kctl_ctx *ctx)
{
    struct klaxon_snapshot_info info;
    char msg[600];
    int rv;

    if (ctx->n_pos == 0) {
        return kctl_usage(ctx, "missing FILE");
    }
    rv = klaxon_snapshot_inspect(ctx->pos[0], &info, msg, sizeof msg);
    if (rv != KLAXON_OK) {
        return kctl_error(ctx, KCTL_EXIT_REFUSED, "%s", msg);
    }
    if (ctx->g.json) {
        return kctl_json_print(ctx, info_json(ctx->pos[0], &info));
    }
    info_print(ctx->pos[0], &info);
    return KCTL_EXIT_OK;
}
