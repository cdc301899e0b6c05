#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static uint64_t log_node_id;
static enum log_level log_level = LOG_INFO;

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void log_init(uint64_t node_id, enum log_level level)
{
    log_node_id = node_id;
    log_level = level;
}

enum log_level log_get_level(void)
{
    return log_level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    char line[2048];
    char stamp[32];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    int n;

    if (level < log_level) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf(line, sizeof line, "%s.%03ldZ node=%llu %s ", stamp,
                 ts.tv_nsec / 1000000, (unsigned long long)log_node_id,
                 level_names[level]);
    if (n < 0 || (size_t)n >= sizeof line) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* One write per line so that lines of concurrent nodes sharing a
     * terminal do not interleave. */
    fprintf(stderr, "%s\n", line);
}
