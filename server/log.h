/*
 * Process-wide logging to stderr, one line per event:
 *
 *   2026-11-24T12:00:03.123Z node=1 INFO raft: became leader (term 3)
 *
 * Messages below the configured level are dropped. Safe to call before
 * log_init() (node id 0, level info).
 */
#ifndef KLAXON_LOG_H
#define KLAXON_LOG_H

#include <stdint.h>

#include "config.h"

void log_init(uint64_t node_id, enum log_level level);
enum log_level log_get_level(void);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif /* KLAXON_LOG_H */
