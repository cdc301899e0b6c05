/* Human-readable output: times, ages, and text fitted to columns. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kctl.h"

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
