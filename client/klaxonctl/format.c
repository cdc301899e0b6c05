/* Human-readable output: times, ages, and text fitted to columns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kctl.h"

#define LINE_MAX 4200

void kctl_format_time(uint64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms == 0 || gmtime_r(&t, &tm) == NULL ||
        strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm) == 0) {
        snprintf(buf, len, "-");
    }
}

uint64_t kctl_now_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        return 0;
    }
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void kctl_format_age(uint64_t since_ms, uint64_t now_ms, char *buf, size_t len)
{
    uint64_t s = now_ms > since_ms ? (now_ms - since_ms) / 1000 : 0;

    if (since_ms == 0) {
        snprintf(buf, len, "-");
    } else if (s < 60) {
        snprintf(buf, len, "%llus", (unsigned long long)s);
    } else if (s < 3600) {
        snprintf(buf, len, "%llum", (unsigned long long)(s / 60));
    } else if (s < 86400) {
        snprintf(buf, len, "%lluh", (unsigned long long)(s / 3600));
    } else {
        snprintf(buf, len, "%llud", (unsigned long long)(s / 86400));
    }
}

/* Columns of a UTF-8 string, counting one per code point. */
size_t kctl_width(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++) {
        n += ((unsigned char)*s & 0xC0) != 0x80;
    }
    return n;
}

void kctl_one_line(const char *s, char *out, size_t len)
{
    size_t i = 0;

    if (len == 0) {
        return;
    }
    for (; *s != '\0' && i + 1 < len; s++) {
        out[i++] = (unsigned char)*s < 0x20 ? ' ' : *s;
    }
    out[i] = '\0';
}

void kctl_fit(const char *s, size_t width, char *out, size_t len)
{
    size_t cols = 0;
    size_t i = 0;
    size_t keep = width > 3 ? width - 3 : 0;

    kctl_one_line(s, out, len);
    if (kctl_width(out) <= width) {
        return;
    }
    /* Cut after `keep` code points and mark the cut. */
    for (; out[i] != '\0'; i++) {
        if (((unsigned char)out[i] & 0xC0) != 0x80 && cols++ == keep) {
            break;
        }
    }
    snprintf(out + i, len - i, "%s", width > 3 ? "..." : "");
}

void kctl_cell(FILE *f, const char *s, size_t width)
{
    size_t w = kctl_width(s);

    fputs(s, f);
    for (; w < width + 2; w++) {
        fputc(' ', f);
    }
}

const char *kctl_or_dash(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : "-";
}

void kctl_format_span(uint64_t ms, char *buf, size_t len)
{
    static const struct
    {
        const char *unit;
        uint64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < sizeof units / sizeof units[0] && used < len; i++) {
        uint64_t n = ms / units[i].ms;
        if (n > 0) {
            int w = snprintf(buf + used, len - used, "%llu%s",
                             (unsigned long long)n, units[i].unit);
            used += w > 0 ? (size_t)w : 0;
            ms %= units[i].ms;
        }
    }
    if (ms > 0 && used < len) {
        snprintf(buf + used, len - used, "%llums", (unsigned long long)ms);
    } else if (used == 0) {
        snprintf(buf, len, "0s");
    }
}

int kctl_table_init(struct kctl_table *t, const char *const *head, size_t cols)
{
    memset(t, 0, sizeof *t);
    t->cols = cols;
    t->width = calloc(cols, sizeof *t->width);
    if (t->width == NULL) {
        return -1;
    }
    return kctl_table_add(t, head);
}

int kctl_table_add(struct kctl_table *t, const char *const *cells)
{
    char line[LINE_MAX];
    char **grown;

    if (t->n % 16 == 0) {
        grown = realloc(t->cells, (t->n + 16) * t->cols * sizeof *grown);
        if (grown == NULL) {
            return -1;
        }
        t->cells = grown;
    }
    for (size_t k = 0; k < t->cols; k++) {
        size_t w;
        kctl_one_line(cells[k] != NULL ? cells[k] : "", line, sizeof line);
        t->cells[t->n * t->cols + k] = strdup(line);
        if (t->cells[t->n * t->cols + k] == NULL) {
            for (size_t j = 0; j < k; j++) {
                free(t->cells[t->n * t->cols + j]);
            }
            return -1;
        }
        w = kctl_width(line);
        t->width[k] = w > t->width[k] ? w : t->width[k];
    }
    t->n++;
    return 0;
}

void kctl_table_print(const struct kctl_table *t, FILE *f)
{
    for (size_t r = 0; r < t->n; r++) {
        for (size_t k = 0; k + 1 < t->cols; k++) {
            kctl_cell(f, t->cells[r * t->cols + k], t->width[k]);
        }
        fprintf(f, "%s\n", t->cells[r * t->cols + t->cols - 1]);
    }
}

void kctl_table_free(struct kctl_table *t)
{
    for (size_t i = 0; i < t->n * t->cols; i++) {
        free(t->cells[i]);
    }
    free(t->cells);
    free(t->width);
    memset(t, 0, sizeof *t);
}

int kctl_print_list(const struct kctl_ctx *ctx,
                    json_t *doc,
                    const void *list,
                    size_t n,
                    const struct kctl_listing *how)
{
    struct kctl_table t;
    int rv;

    if (ctx->g.json) {
        return kctl_json_print(ctx, doc);
    }
    if (n == 0) {
        printf("%s\n", how->empty);
        return 0;
    }
    rv = kctl_table_init(&t, how->head, how->cols);
    for (size_t i = 0; rv == 0 && i < n; i++) {
        rv = how->row(&t, list, i);
    }
    if (rv == 0) {
        kctl_table_print(&t, stdout);
    }
    kctl_table_free(&t);
    return rv == 0 ? 0 : kctl_error(ctx, KCTL_EXIT_REFUSED, "out of memory");
}
