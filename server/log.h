/*
 * Process-wide logging to stderr, one line per event, in logfmt
 * (key=value; values with spaces or quotes are quoted, with \" \\ \n
 * escapes):
 *
 *   ts=2026-11-24T12:00:03.123Z level=info node=1 term=3 comp=raft
 *       msg="became leader (term 3)"
 *
 * (one line). `term` is the node's current Raft term once the node is up;
 * `comp` is the message's leading "word: " prefix; lines about an incident
 * carry `incident=ID` (log_incident). Messages below the level are
 * dropped; the level can change at runtime (log_set_level). Safe to call
 * before log_init() (node id 0, level info).
 */
#ifndef KLAXON_LOG_H
#define KLAXON_LOG_H

#include <stdint.h>

#include "config.h"

void log_init(uint64_t node_id, enum log_level level);
enum log_level log_get_level(void);
void log_set_level(enum log_level level);

/* Where the term comes from (called on every line; NULL: no term). */
void log_set_term_source(uint64_t (*term)(void *arg), void *arg);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A line about incident id (0: none). */
void log_incident(enum log_level level, uint64_t id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Format one line into out (for tests): what log_msg writes, without the
 * newline. */
void log_format_line(char *out,
                     size_t len,
                     const char *stamp,
                     enum log_level level,
                     uint64_t incident,
                     const char *msg);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif /* KLAXON_LOG_H */
