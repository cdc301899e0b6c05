/*
 * klaxonctl without a cluster: command-line parsing (global and command
 * flags, one-letter flags, subcommands), TIME and duration arguments,
 * duration formatting, and the help of every command.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "klaxonctl/kctl.h"

#define NOW 1774747800000ULL /* 2026-03-29T01:30:00Z */

static void test_time_rfc3339(void **state)
{
    uint64_t ms = 1;

    (void)state;
    assert_int_equal(kctl_parse_time("2026-03-29T01:30:00Z", NOW, &ms), 0);
    assert_int_equal(ms, 1774747800000ULL);
    assert_int_equal(kctl_parse_time("2026-03-29t01:30:00z", NOW, &ms), 0);
    assert_int_equal(ms, 1774747800000ULL);
    assert_int_equal(kctl_parse_time("2026-03-29 01:30:00Z", NOW, &ms), 0);
    assert_int_equal(ms, 1774747800000ULL);
    assert_int_equal(kctl_parse_time("2026-03-29T01:30:00+02:00", NOW, &ms), 0);
    assert_int_equal(ms, 1774740600000ULL);
    assert_int_equal(kctl_parse_time("2024-02-29T23:59:59.25-05:30", NOW, &ms),
                     0);
    assert_int_equal(ms, 1709270999250ULL);
    assert_int_equal(kctl_parse_time("1970-01-01T00:00:00Z", NOW, &ms), 0);
    assert_int_equal(ms, 0);
}

static void test_time_refused(void **state)
{
    static const char *const bad[] = {
        "2026-02-29T00:00:00Z", /* not a leap year */
        "2026-13-01T00:00:00Z",
        "2026-03-29T24:00:00Z",
        "2026-03-29T01:60:00Z",
        "2026-03-29T01:30:00",
        "2026-03-29",
        "2026-03-29T01:30Z",
        "2026-03-29T01:30:00+2:00",
        "2026-03-29T01:30:00+02:00x",
        "2026-03-29T01:30:00.Z",
        "1969-12-31T23:59:59Z",
        "yesterday",
        "",
        "+",
        "-",
        "+10x",
        "+0s",
        "10m",
        "now+1",
    };
    uint64_t ms = 7;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (kctl_parse_time(bad[i], NOW, &ms) != -1) {
            fail_msg("'%s' was accepted", bad[i]);
        }
    }
    assert_int_equal(ms, 7);
    /* Before the epoch. */
    assert_int_equal(kctl_parse_time("-2h", 1000, &ms), -1);
}

static void test_time_relative(void **state)
{
    uint64_t ms;

    (void)state;
    assert_int_equal(kctl_parse_time("now", NOW, &ms), 0);
    assert_int_equal(ms, NOW);
    assert_int_equal(kctl_parse_time("+10m", NOW, &ms), 0);
    assert_int_equal(ms, NOW + 600000);
    assert_int_equal(kctl_parse_time("-2h", NOW, &ms), 0);
    assert_int_equal(ms, NOW - 7200000);
    assert_int_equal(kctl_parse_time("+1.5d", NOW, &ms), 0);
    assert_int_equal(ms, NOW + 129600000);
    assert_int_equal(kctl_parse_time("+250ms", NOW, &ms), 0);
    assert_int_equal(ms, NOW + 250);
    assert_int_equal(kctl_parse_time("+30", NOW, &ms), 0); /* seconds */
    assert_int_equal(ms, NOW + 30000);
}

static void test_durations(void **state)
{
    uint64_t ms;
    unsigned t;

    (void)state;
    assert_int_equal(kctl_parse_span("500ms", 1000000, &ms), 0);
    assert_int_equal(ms, 500);
    assert_int_equal(kctl_parse_span("2h", UINT64_MAX, &ms), 0);
    assert_int_equal(ms, 7200000);
    assert_int_equal(kctl_parse_span("1d", UINT64_MAX, &ms), 0);
    assert_int_equal(ms, 86400000);
    assert_int_equal(kctl_parse_span("10", UINT64_MAX, &ms), 0);
    assert_int_equal(ms, 10000);
    assert_int_equal(kctl_parse_span("2d", 86400000, &ms), -1);
    assert_int_equal(kctl_parse_span("0s", UINT64_MAX, &ms), -1);
    assert_int_equal(kctl_parse_span("3w", UINT64_MAX, &ms), -1);
    assert_int_equal(kctl_parse_span("-1s", UINT64_MAX, &ms), -1);
    assert_int_equal(kctl_parse_span("h", UINT64_MAX, &ms), -1);
    /* --timeout: at most a day. */
    assert_int_equal(kctl_parse_duration("1.5s", &t), 0);
    assert_int_equal(t, 1500);
    assert_int_equal(kctl_parse_duration("24h", &t), 0);
    assert_int_equal(kctl_parse_duration("25h", &t), -1);
}

static void test_format_span(void **state)
{
    char buf[32];

    (void)state;
    kctl_format_span(90000, buf, sizeof buf);
    assert_string_equal(buf, "1m30s");
    kctl_format_span(86400000, buf, sizeof buf);
    assert_string_equal(buf, "1d");
    kctl_format_span(93784005, buf, sizeof buf);
    assert_string_equal(buf, "1d2h3m4s5ms");
    kctl_format_span(0, buf, sizeof buf);
    assert_string_equal(buf, "0s");
}

/* Parse a command line given as words; ctx must be freed. */
static int parse(struct kctl_ctx *ctx, const char *const *words)
{
    char *argv[32];
    int argc = 0;

    argv[argc++] = "klaxonctl";
    for (; *words != NULL; words++) {
        argv[argc++] = (char *)*words;
    }
    argv[argc] = NULL;
    return kctl_parse(argc, argv, ctx);
}

static void test_parse_subcommands(void **state)
{
    struct kctl_ctx ctx;

    (void)state;
    assert_int_equal(
        parse(&ctx, (const char *const[]){"maintenance", "start", "--service",
                                          "db", "--duration", "2h", "--start",
                                          "-10m", NULL}),
        0);
    assert_string_equal(ctx.cmd->name, "maintenance start");
    assert_string_equal(kctl_flag(&ctx, "service"), "db");
    assert_string_equal(kctl_flag(&ctx, "duration"), "2h");
    assert_string_equal(kctl_flag(&ctx, "start"), "-10m");
    assert_null(kctl_flag(&ctx, "end"));
    kctl_ctx_free(&ctx);

    assert_int_equal(parse(&ctx, (const char *const[]){"--json", "config",
                                                       "get", "--stale", NULL}),
                     0);
    assert_string_equal(ctx.cmd->name, "config get");
    assert_true(ctx.g.json);
    assert_int_equal(kctl_read_mode(&ctx), KLAXON_READ_STALE);
    kctl_ctx_free(&ctx);

    assert_int_equal(
        parse(&ctx, (const char *const[]){"maintenance", "end", "3", NULL}), 0);
    assert_int_equal(ctx.n_pos, 1);
    assert_string_equal(ctx.pos[0], "3");
    kctl_ctx_free(&ctx);

    /* The group alone parses; running it is a usage error. */
    assert_int_equal(parse(&ctx, (const char *const[]){"maintenance", NULL}),
                     0);
    assert_int_equal(ctx.cmd->n_subs, 3);
    assert_int_equal(ctx.cmd->run(&ctx), KCTL_EXIT_USAGE);
    kctl_ctx_free(&ctx);

    assert_int_equal(
        parse(&ctx, (const char *const[]){"maintenance", "strat", NULL}),
        KCTL_EXIT_USAGE);
    kctl_ctx_free(&ctx);
    assert_int_equal(
        parse(&ctx, (const char *const[]){"maintenance", "--service", "db",
                                          "start", NULL}),
        KCTL_EXIT_USAGE);
    kctl_ctx_free(&ctx);
    assert_int_equal(
        parse(&ctx, (const char *const[]){"config", "get", "x", NULL}),
        KCTL_EXIT_USAGE);
    kctl_ctx_free(&ctx);
}

static void test_parse_flags(void **state)
{
    struct kctl_ctx ctx;

    (void)state;
    assert_int_equal(
        parse(&ctx, (const char *const[]){"apply", "-f", "oncall.yaml",
                                          "--dry-run", NULL}),
        0);
    assert_string_equal(kctl_flag(&ctx, "file"), "oncall.yaml");
    assert_non_null(kctl_flag(&ctx, "dry-run"));
    kctl_ctx_free(&ctx);

    assert_int_equal(
        parse(&ctx, (const char *const[]){"apply", "--file=-", NULL}), 0);
    assert_string_equal(kctl_flag(&ctx, "file"), "-");
    kctl_ctx_free(&ctx);

    assert_int_equal(
        parse(&ctx, (const char *const[]){"ack", "--token", "tok.abc", NULL}),
        0);
    assert_string_equal(kctl_flag(&ctx, "token"), "tok.abc");
    assert_int_equal(ctx.n_pos, 0);
    kctl_ctx_free(&ctx);

    assert_int_equal(
        parse(&ctx, (const char *const[]){"oncall", "--from", "-2h", "--to",
                                          "+1h", NULL}),
        0);
    assert_string_equal(kctl_flag(&ctx, "from"), "-2h");
    assert_string_equal(kctl_flag(&ctx, "to"), "+1h");
    kctl_ctx_free(&ctx);

    assert_int_equal(
        parse(&ctx, (const char *const[]){"pages", "42", "--limit", "5", NULL}),
        0);
    assert_string_equal(ctx.pos[0], "42");
    kctl_ctx_free(&ctx);

    /* -f only where the command has --file. */
    assert_int_equal(
        parse(&ctx, (const char *const[]){"list", "-f", "x", NULL}),
        KCTL_EXIT_USAGE);
    kctl_ctx_free(&ctx);
    assert_int_equal(parse(&ctx, (const char *const[]){"apply", "-x", NULL}),
                     KCTL_EXIT_USAGE);
    kctl_ctx_free(&ctx);
    assert_int_equal(
        parse(&ctx, (const char *const[]){"heartbeat", "a", "b", NULL}),
        KCTL_EXIT_USAGE);
    kctl_ctx_free(&ctx);
    assert_int_equal(
        parse(&ctx, (const char *const[]){"monitors", "--dry-run", NULL}),
        KCTL_EXIT_USAGE);
    kctl_ctx_free(&ctx);
}

/* A bad TIME flag is a usage error before anything is sent. */
static void test_time_flag(void **state)
{
    struct kctl_ctx ctx;
    uint64_t ms = 0;

    (void)state;
    assert_int_equal(
        parse(&ctx, (const char *const[]){"oncall", "--at", "tomorrow", NULL}),
        0);
    assert_int_equal(kctl_time_flag(&ctx, "at", &ms), KCTL_EXIT_USAGE);
    assert_int_equal(kctl_time_flag(&ctx, "from", &ms), 0); /* absent */
    assert_int_equal(ms, 0);
    assert_int_equal(ctx.cmd->run(&ctx), KCTL_EXIT_USAGE);
    assert_null(ctx.client);
    kctl_ctx_free(&ctx);
}

/* Argument errors of the new commands come before any connection. */
static void test_usage_errors(void **state)
{
    const char *const *const lines[] = {
        (const char *const[]){"apply", NULL},
        (const char *const[]){"oncall", "--from", "now", NULL},
        (const char *const[]){"oncall", "--from", "now", "--to", "+1h", NULL},
        (const char *const[]){"oncall", "--schedule", "p", "--from", "now",
                              "--to", "-1h", NULL},
        (const char *const[]){"oncall", "--schedule", "p", "--at", "now",
                              "--from", "now", "--to", "+1h", NULL},
        (const char *const[]){"heartbeat", NULL},
        (const char *const[]){"maintenance", "start", "--duration", "1h", NULL},
        (const char *const[]){"maintenance", "start", "--service", "db", NULL},
        (const char *const[]){"maintenance", "start", "--service", "db",
                              "--duration", "1h", "--end", "+2h", NULL},
        (const char *const[]){"maintenance", "start", "--service", "db",
                              "--duration", "1y", NULL},
        (const char *const[]){"maintenance", "start", "--service", "db",
                              "--end", "soon", NULL},
        (const char *const[]){"maintenance", "end", NULL},
        (const char *const[]){"maintenance", "end", "x", NULL},
        (const char *const[]){"pages", "x", NULL},
        (const char *const[]){"pages", "--limit", "0", NULL},
        (const char *const[]){"ack", "1", "--token", "t", NULL},
        (const char *const[]){"ack", "--token", "t", "--by", "al", NULL},
        (const char *const[]){"ack", "--token", "", NULL},
        (const char *const[]){"report", "--since", "soon", NULL},
        (const char *const[]){"report", "--since", "400d", NULL},
        (const char *const[]){"report", "--since", "+1h", NULL},
        (const char *const[]){"report", "--since", "2d", "--until", "-3d",
                              NULL},
        (const char *const[]){"report", "--until", "tomorrow", NULL},
        (const char *const[]){"handover", NULL},
        (const char *const[]){"handover", "--schedule", "p", "--at", "x", NULL},
        (const char *const[]){"postmortem", NULL},
        (const char *const[]){"postmortem", "x", NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        struct kctl_ctx ctx;
        assert_int_equal(parse(&ctx, lines[i]), 0);
        if (ctx.cmd->run(&ctx) != KCTL_EXIT_USAGE || ctx.client != NULL) {
            fail_msg("line %zu (%s ...) is not a usage error", i, lines[i][0]);
        }
        kctl_ctx_free(&ctx);
    }
}

static void check_help(const struct kctl_cmd *cmd)
{
    char usage[64];

    snprintf(usage, sizeof usage, "usage: klaxonctl %s", cmd->name);
    if (strncmp(cmd->help, usage, strlen(usage)) != 0 ||
        strstr(cmd->help, "Example") == NULL) {
        fail_msg("the help of '%s' lacks its usage line or examples",
                 cmd->name);
    }
    for (size_t i = 0; i < cmd->n_flags; i++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s", cmd->flags[i].name);
        if (strstr(cmd->help, flag) == NULL) {
            fail_msg("the help of '%s' does not explain %s", cmd->name, flag);
        }
    }
}

static void test_every_command_has_help(void **state)
{
    (void)state;
    for (size_t i = 0; i < kctl_n_commands; i++) {
        const struct kctl_cmd *cmd = &kctl_commands[i];
        if (strcmp(cmd->name, "help") != 0) {
            check_help(cmd);
        }
        for (size_t k = 0; k < cmd->n_subs; k++) {
            check_help(&cmd->subs[k]);
            assert_ptr_equal(kctl_find_sub(cmd, kctl_sub_word(&cmd->subs[k])),
                             &cmd->subs[k]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_rfc3339),
        cmocka_unit_test(test_time_refused),
        cmocka_unit_test(test_time_relative),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_format_span),
        cmocka_unit_test(test_parse_subcommands),
        cmocka_unit_test(test_parse_flags),
        cmocka_unit_test(test_time_flag),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_every_command_has_help),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
