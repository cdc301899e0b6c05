#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static uint64_t log_node_id;
static enum log_level log_level = LOG_INFO;
static uint64_t (*term_fn)(void *arg);
static void *term_arg;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_init(uint64_t node_id, enum log_level level)
{
    log_node_id = node_id;
    log_level = level;
}

enum log_level log_get_level(void)
{
    return log_level;
}

void log_set_level(enum log_level level)
{
    log_level = level;
}

void log_set_term_source(uint64_t (*term)(void *arg), void *arg)
{
    term_fn = term;
    term_arg = arg;
}

/* Length of a leading "component: " prefix (a lowercase word), or 0. */
static size_t component_len(const char *msg)
{
    size_t n = strspn(msg, "abcdefghijklmnopqrstuvwxyz0123456789_-");
    return n > 0 && n <= 16 && msg[n] == ':' && msg[n + 1] == ' ' ? n : 0;
}

/* Append s to out as a quoted logfmt value. */
static size_t put_quoted(char *out, size_t len, size_t at, const char *s)
{
    if (at + 1 < len) {
        out[at++] = '"';
    }
    for (; *s != '\0' && at + 3 < len; s++) {
        char c = *s;
        if (c == '"' || c == '\\') {
            out[at++] = '\\';
            out[at++] = c;
        } else if (c == '\n') {
            out[at++] = '\\';
            out[at++] = 'n';
        } else if ((unsigned char)c < 0x20) {
            out[at++] = ' ';
        } else {
            out[at++] = c;
        }
    }
    if (at + 1 < len) {
        out[at++] = '"';
    }
    out[at < len ? at : len - 1] = '\0';
    return at;
}

void log_format_line(char *out,
                     size_t len,
                     const char *stamp,
                     enum log_level level,
                     uint64_t incident,
                     const char *msg)
{
    size_t comp = component_len(msg);
    uint64_t term = term_fn != NULL ? term_fn(term_arg) : 0;
    int n;
    size_t at;

    n = snprintf(out, len, "ts=%s level=%s node=%llu", stamp,
                 level_names[level], (unsigned long long)log_node_id);
    at = n > 0 && (size_t)n < len ? (size_t)n : 0;
    if (term != 0) {
        n = snprintf(out + at, len - at, " term=%llu",
                     (unsigned long long)term);
        at += n > 0 && (size_t)n < len - at ? (size_t)n : 0;
    }
    if (comp > 0) {
        n = snprintf(out + at, len - at, " comp=%.*s", (int)comp, msg);
        at += n > 0 && (size_t)n < len - at ? (size_t)n : 0;
        msg += comp + 2;
    }
    if (incident != 0) {
        n = snprintf(out + at, len - at, " incident=%llu",
                     (unsigned long long)incident);
        at += n > 0 && (size_t)n < len - at ? (size_t)n : 0;
    }
    n = snprintf(out + at, len - at, " msg=");
    at += n > 0 && (size_t)n < len - at ? (size_t)n : 0;
    put_quoted(out, len, at, msg);
}

static void log_vline(enum log_level level,
                      uint64_t incident,
                      const char *fmt,
                      va_list ap)
{
    char msg[1536];
    char line[2048];
    char stamp[64];
    char secs[32];
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(secs, sizeof secs, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp, sizeof stamp, "%s.%03dZ", secs,
             (int)(ts.tv_nsec / 1000000));
    vsnprintf(msg, sizeof msg, fmt, ap);
    log_format_line(line, sizeof line, stamp, level, incident, msg);
    /* One write per line so that lines of concurrent nodes sharing a
     * terminal do not interleave. */
    fprintf(stderr, "%s\n", line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    va_list ap;

    if (level < log_level) {
        return;
    }
    va_start(ap, fmt);
    log_vline(level, 0, fmt, ap);
    va_end(ap);
}

void log_incident(enum log_level level, uint64_t id, const char *fmt, ...)
{
    va_list ap;

    if (level < log_level) {
        return;
    }
    va_start(ap, fmt);
    log_vline(level, id, fmt, ap);
    va_end(ap);
}
