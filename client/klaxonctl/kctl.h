/*
 * klaxonctl: the command-line client of a klaxon cluster. Declarations
 * shared by its files: the parsed command line, the command table, and
 * helpers for errors, output and JSON.
 */
#ifndef KLAXONCTL_KCTL_H
#define KLAXONCTL_KCTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "klaxon.h"

/* Exit codes. */
enum {
    KCTL_EXIT_OK = 0,
    KCTL_EXIT_REFUSED = 1,     /* the request was refused */
    KCTL_EXIT_USAGE = 2,       /* bad command line */
    KCTL_EXIT_UNAVAILABLE = 3, /* cluster unreachable, unavailable, timeout */
    KCTL_EXIT_CONFIG = 4,      /* TLS, certificate or configuration */
};

enum kctl_flag_kind {
    KCTL_BOOL,  /* --json */
    KCTL_VALUE, /* --service S (the last one counts) */
    KCTL_LIST,  /* --detail K=V, repeatable (at most one per command) */
};

struct kctl_flag
{
    const char *name; /* without the leading "--" */
    enum kctl_flag_kind kind;
};

#define KCTL_MAX_FLAGS 12

struct kctl_ctx;

struct kctl_cmd
{
    const char *name;    /* a subcommand's is "group sub" */
    const char *summary; /* one line for the overview */
    const char *help;    /* the command's --help text */
    const struct kctl_flag *flags;
    size_t n_flags;
    size_t max_pos; /* positional arguments allowed; SIZE_MAX: any */
    int (*run)(struct kctl_ctx *ctx);
    /* A group ("config", "maintenance"): the first word after it names
     * one of its subcommands, which then is the command. */
    const struct kctl_cmd *subs;
    size_t n_subs;
};

/* Global flags. */
struct kctl_global
{
    const char *endpoints;
    const char *ca;
    const char *cert;
    const char *key;
    const char *timeout;
    bool json;
    bool help;
    bool version;
};

struct kctl_ctx
{
    const struct kctl_cmd *cmd; /* NULL when none was given */
    struct kctl_global g;
    const char *value[KCTL_MAX_FLAGS]; /* per command flag, NULL if absent */
    const char **list;                 /* the KCTL_LIST flag's values */
    size_t n_list;
    const char **pos; /* arguments after the command */
    size_t n_pos;
    klaxon_client *client;
};

/* The commands and their help (commands.c). */
extern const struct kctl_cmd kctl_commands[];
extern const size_t kctl_n_commands;
const struct kctl_cmd *kctl_find_command(const char *name);
/* The subcommand `word` of group `cmd`, or NULL. */
const struct kctl_cmd *kctl_find_sub(const struct kctl_cmd *cmd,
                                     const char *word);
/* The word of a subcommand (after "group "), or its name. */
const char *kctl_sub_word(const struct kctl_cmd *cmd);
void kctl_print_overview(FILE *f);
void kctl_print_command_help(const struct kctl_cmd *cmd, FILE *f);

/* args.c: parse argv into ctx. 0, or KCTL_EXIT_USAGE after printing why. */
int kctl_parse(int argc, char **argv, struct kctl_ctx *ctx);
void kctl_ctx_free(struct kctl_ctx *ctx);

/* The value of the command flag `name`, or NULL. */
const char *kctl_flag(const struct kctl_ctx *ctx, const char *name);

/* Parsers; 0 or -1. */
int kctl_parse_id(const char *s, uint64_t *id);
int kctl_parse_uint(const char *s, unsigned long max, unsigned long *out);
/* A duration: a number with unit ms, s, m, h or d (none: seconds), e.g.
 * "500ms", "1.5s", "2h", at least 1 ms and at most `max` ms. */
int kctl_parse_span(const char *s, uint64_t max, uint64_t *ms);
/* A duration of at most a day, as --timeout takes. */
int kctl_parse_duration(const char *s, unsigned *ms);
/* A time: RFC 3339 with Z or an offset ("2026-03-29T01:30:00Z",
 * "2026-03-29T03:30:00+02:00", fractions of a second allowed), "now", or
 * now +/- a duration ("+10m", "-2h"). `now` is the current time in ms. */
int kctl_parse_time(const char *s, uint64_t now, uint64_t *ms);
/* kctl_parse_time of the value of flag `name` (left as is when absent),
 * or a usage error naming the flag. */
int kctl_time_flag(const struct kctl_ctx *ctx, const char *name, uint64_t *ms);
/* The read consistency --stale asks for. */
enum klaxon_read kctl_read_mode(const struct kctl_ctx *ctx);

/* report.c. Print "klaxonctl: <command>: <message>; see 'klaxonctl <command>
 * --help'" and return KCTL_EXIT_USAGE. */
int kctl_usage(const struct kctl_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print "klaxonctl: <command>: <message>" and return `code`. */
int kctl_error(const struct kctl_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Report the failed library call that returned `rv` (its message comes
 * from the client) and return the matching exit code. */
int kctl_fail(const struct kctl_ctx *ctx, int rv);

/* Exit code of a KLAXON_E* code. */
int kctl_exit_code(int rv);

/* config.c: create ctx->client from flags and environment. 0, or an exit
 * code after printing why. */
int kctl_connect(struct kctl_ctx *ctx);

/* The endpoint list from --endpoints or KLAXON_ENDPOINTS, or NULL. */
const char *kctl_endpoints(const struct kctl_ctx *ctx);

/* The responder's name: --by, KLAXON_USER or USER; NULL if none. */
const char *kctl_actor(const struct kctl_ctx *ctx);

/* format.c: human output. */
void kctl_format_time(uint64_t ms, char *buf, size_t len);
/* A duration in its largest whole units: "90s" -> "1m30s", "2h", "3d". */
void kctl_format_span(uint64_t ms, char *buf, size_t len);
void kctl_format_age(uint64_t since_ms, uint64_t now_ms, char *buf, size_t len);
uint64_t kctl_now_ms(void);
size_t kctl_width(const char *s);
void kctl_one_line(const char *s, char *out, size_t len);
void kctl_fit(const char *s, size_t width, char *out, size_t len);
void kctl_cell(FILE *f, const char *s, size_t width);
const char *kctl_or_dash(const char *s);

/* A table printed with aligned columns: a header row, then rows of
 * cells (copied, control characters blanked). */
struct kctl_table
{
    size_t cols;
    size_t n;     /* rows, the header included */
    char **cells; /* n * cols */
    size_t *width;
};

/* 0, or -1 when out of memory (then kctl_table_free it). */
int kctl_table_init(struct kctl_table *t, const char *const *head, size_t cols);
int kctl_table_add(struct kctl_table *t, const char *const *cells);
void kctl_table_print(const struct kctl_table *t, FILE *f);
void kctl_table_free(struct kctl_table *t);

/* Adds row i of `list` to the table: 0, or -1 when out of memory. */
typedef int (*kctl_row_fn)(struct kctl_table *t, const void *list, size_t i);

/* How a list command prints its answer. */
struct kctl_listing
{
    const char *const *head; /* column titles */
    size_t cols;
    kctl_row_fn row;
    const char *empty; /* the line printed when there is nothing */
};

/* Print the n items of `list`: with --json the document `doc` (built by
 * the caller, NULL when it could not be), else the table, or the `empty`
 * line when n is 0. 0 or an exit code. */
int kctl_print_list(const struct kctl_ctx *ctx,
                    json_t *doc,
                    const void *list,
                    size_t n,
                    const struct kctl_listing *how);

/* json.c: JSON documents. Builders return NULL when out of memory or on
 * invalid UTF-8. */
json_t *kctl_json_incident(const struct klaxon_incident *i, bool timeline);
json_t *kctl_json_result(const struct klaxon_result *r);
json_t *kctl_json_counters(const struct klaxon_counters *c);
json_t *kctl_json_config(const struct klaxon_config *c);
json_t *kctl_json_shifts(const struct klaxon_shift_list *l);
json_t *kctl_json_monitors(const struct klaxon_monitor_list *l);
json_t *kctl_json_windows(const struct klaxon_window_list *l);
json_t *kctl_json_pages(const struct klaxon_page_list *l);

/* Print `doc` compactly with a newline and release it. 0, or an exit code
 * after reporting a NULL document. */
int kctl_json_print(const struct kctl_ctx *ctx, json_t *doc);

/* Commands. */
int kctl_cmd_trigger(struct kctl_ctx *ctx);
int kctl_cmd_ack(struct kctl_ctx *ctx);
int kctl_cmd_resolve(struct kctl_ctx *ctx);
int kctl_cmd_update(struct kctl_ctx *ctx);
int kctl_cmd_note(struct kctl_ctx *ctx);
int kctl_cmd_get(struct kctl_ctx *ctx);
int kctl_cmd_list(struct kctl_ctx *ctx);
int kctl_cmd_status(struct kctl_ctx *ctx);
int kctl_cmd_help(struct kctl_ctx *ctx);
int kctl_cmd_group(struct kctl_ctx *ctx);
int kctl_cmd_apply(struct kctl_ctx *ctx);
int kctl_cmd_config_get(struct kctl_ctx *ctx);
int kctl_cmd_oncall(struct kctl_ctx *ctx);
int kctl_cmd_heartbeat(struct kctl_ctx *ctx);
int kctl_cmd_monitors(struct kctl_ctx *ctx);
int kctl_cmd_maintenance_start(struct kctl_ctx *ctx);
int kctl_cmd_maintenance_end(struct kctl_ctx *ctx);
int kctl_cmd_maintenance_list(struct kctl_ctx *ctx);
int kctl_cmd_pages(struct kctl_ctx *ctx);
int kctl_cmd_report(struct kctl_ctx *ctx);
int kctl_cmd_handover(struct kctl_ctx *ctx);
int kctl_cmd_postmortem(struct kctl_ctx *ctx);
int kctl_cmd_snapshot_save(struct kctl_ctx *ctx);
int kctl_cmd_snapshot_inspect(struct kctl_ctx *ctx);

/* cmd_member.c: the member and leader groups. */
#define KCTL_MEMBER_SUBS 4
#define KCTL_LEADER_SUBS 1
extern const struct kctl_cmd kctl_member_subs[KCTL_MEMBER_SUBS];
extern const struct kctl_cmd kctl_leader_subs[KCTL_LEADER_SUBS];
extern const char kctl_help_member[];
extern const char kctl_help_leader[];
int kctl_cmd_member_add(struct kctl_ctx *ctx);
int kctl_cmd_member_remove(struct kctl_ctx *ctx);
int kctl_cmd_member_promote(struct kctl_ctx *ctx);
int kctl_cmd_member_list(struct kctl_ctx *ctx);
int kctl_cmd_leader_transfer(struct kctl_ctx *ctx);

#endif /* KLAXONCTL_KCTL_H */
