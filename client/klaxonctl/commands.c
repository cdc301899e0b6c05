/* The commands of klaxonctl, their flags and their help. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kctl.h"

static const struct kctl_flag trigger_flags[] = {
    {"service", KCTL_VALUE},    {"severity", KCTL_VALUE},
    {"summary", KCTL_VALUE},    {"dedup-key", KCTL_VALUE},
    {"source", KCTL_VALUE},     {"detail", KCTL_LIST},
    {"request-id", KCTL_VALUE},
};
static const struct kctl_flag by_flags[] = {{"by", KCTL_VALUE}};
static const struct kctl_flag get_flags[] = {{"stale", KCTL_BOOL}};
static const struct kctl_flag list_flags[] = {
    {"status", KCTL_VALUE}, {"service", KCTL_VALUE}, {"limit", KCTL_VALUE},
    {"before", KCTL_VALUE}, {"stale", KCTL_BOOL},
};

static const char help_trigger[] =
    "usage: klaxonctl trigger --service S --severity N --summary TEXT\n"
    "                         [--dedup-key K] [--source X]\n"
    "                         [--detail KEY=VALUE]... [--request-id ID]\n"
    "\n"
    "Open an incident. With --dedup-key, an alert that matches an open\n"
    "incident of the same service is added to it instead (the note\n"
    "\"attached to open incident N (K alerts)\" goes to stderr).\n"
    "Prints the incident id.\n"
    "\n"
    "  --service S          service that is in trouble (1..128 bytes)\n"
    "  --severity N         1 (critical) .. 4 (low); Sev1..Sev4 also work\n"
    "  --summary TEXT       what is wrong (1..1024 bytes)\n"
    "  --dedup-key K        group repeated alerts into one incident\n"
    "  --source X           who raised it (monitor, host, ...)\n"
    "  --detail KEY=VALUE   extra context; repeatable (up to 64)\n"
    "  --request-id ID      idempotency key (1..64 bytes): repeating the\n"
    "                       command with the same ID never opens a second\n"
    "                       incident; default: a random one, printed in\n"
    "                       the error message when the outcome is unknown\n"
    "\n"
    "Examples:\n"
    "  klaxonctl trigger --service payments --severity 1 \\\n"
    "      --summary 'checkout 5xx above 5%' --dedup-key pay-5xx\n"
    "  id=$(klaxonctl trigger --service db --severity 2 --summary 'replica "
    "lag' \\\n"
    "      --detail host=db3 --detail lag=45s)\n";

static const char help_ack[] =
    "usage: klaxonctl ack ID [--by USER]\n"
    "\n"
    "Acknowledge incident ID: you are on it. Acknowledging again is fine.\n"
    "\n"
    "  --by USER   who acknowledges; default $KLAXON_USER, then $USER\n"
    "\n"
    "Example:\n"
    "  klaxonctl ack 42\n";

static const char help_resolve[] =
    "usage: klaxonctl resolve ID [--by USER]\n"
    "\n"
    "Resolve incident ID. Its dedup key is free again: the next matching\n"
    "alert opens a new incident.\n"
    "\n"
    "  --by USER   who resolves; default $KLAXON_USER, then $USER\n"
    "\n"
    "Example:\n"
    "  klaxonctl resolve 42 --by alice\n";

static const char help_note[] =
    "usage: klaxonctl note ID [--by USER] TEXT...\n"
    "\n"
    "Add a note to incident ID's timeline, in any state. The words of\n"
    "TEXT are joined with spaces (1..4096 bytes); put -- before a text\n"
    "that starts with '-'.\n"
    "\n"
    "  --by USER   author; default $KLAXON_USER, then $USER\n"
    "\n"
    "Examples:\n"
    "  klaxonctl note 42 rolled back to v1.4.2, error rate dropping\n"
    "  klaxonctl note 42 -- --force was not needed\n";

static const char help_get[] =
    "usage: klaxonctl get ID [--stale]\n"
    "\n"
    "Show incident ID: status, severity, service, summary, who\n"
    "acknowledged and resolved it and when, its details, and its\n"
    "timeline (times in UTC).\n"
    "\n"
    "  --stale   read from the first reachable node without asking the\n"
    "            leader: works without a leader, may lag behind\n"
    "\n"
    "Example:\n"
    "  klaxonctl get 42\n";

static const char help_list[] =
    "usage: klaxonctl list [--status S] [--service S] [--limit N]\n"
    "                      [--before ID] [--stale]\n"
    "\n"
    "List incidents, newest first.\n"
    "\n"
    "  --status S    open (default), triggered, acknowledged, resolved, "
    "all\n"
    "  --service S   only this service\n"
    "  --limit N     at most N incidents, 1..1000 (default 100)\n"
    "  --before ID   only incidents older than ID (the next page)\n"
    "  --stale       read from the first reachable node without asking the\n"
    "                leader: works without a leader, may lag behind\n"
    "\n"
    "Examples:\n"
    "  klaxonctl list\n"
    "  klaxonctl list --status all --service payments --limit 20\n";

static const char help_status[] =
    "usage: klaxonctl status\n"
    "\n"
    "Ask the first reachable endpoint for the cluster's members, then\n"
    "every member for its own view: id, address, role, term, commit and\n"
    "applied index, and the leader it knows. Unreachable nodes are shown\n"
    "with their error. Exit status 0 when at least one node answered.\n"
    "\n"
    "Example:\n"
    "  klaxonctl status\n";

static const char help_help[] =
    "usage: klaxonctl help [COMMAND]\n"
    "\n"
    "Show the overview, or the help of COMMAND (same as COMMAND --help).\n";

const struct kctl_cmd kctl_commands[] = {
    {"trigger", "open an incident, or add an alert to the open one",
     help_trigger, trigger_flags,
     sizeof trigger_flags / sizeof trigger_flags[0], 0, kctl_cmd_trigger},
    {"ack", "acknowledge an incident", help_ack, by_flags, 1, 1, kctl_cmd_ack},
    {"resolve", "resolve an incident", help_resolve, by_flags, 1, 1,
     kctl_cmd_resolve},
    {"note", "add a note to an incident's timeline", help_note, by_flags, 1,
     SIZE_MAX, kctl_cmd_note},
    {"get", "show an incident and its timeline", help_get, get_flags, 1, 1,
     kctl_cmd_get},
    {"list", "list incidents (open ones by default)", help_list, list_flags,
     sizeof list_flags / sizeof list_flags[0], 0, kctl_cmd_list},
    {"status", "show every node's role, term, log progress and leader",
     help_status, NULL, 0, 0, kctl_cmd_status},
    {"help", "show help about a command", help_help, NULL, 0, 1, kctl_cmd_help},
};

const size_t kctl_n_commands = sizeof kctl_commands / sizeof kctl_commands[0];

const struct kctl_cmd *kctl_find_command(const char *name)
{
    for (size_t i = 0; i < kctl_n_commands; i++) {
        if (strcmp(kctl_commands[i].name, name) == 0) {
            return &kctl_commands[i];
        }
    }
    return NULL;
}

void kctl_print_overview(FILE *f)
{
    fputs(
        "usage: klaxonctl [global flags] COMMAND [args]\n"
        "\n"
        "Command-line client of a klaxon paging cluster.\n"
        "\n"
        "Commands:\n",
        f);
    for (size_t i = 0; i < kctl_n_commands; i++) {
        fprintf(f, "  %-9s %s\n", kctl_commands[i].name,
                kctl_commands[i].summary);
    }
    fputs(
        "\n"
        "Global flags (before or after the command):\n"
        "  --endpoints LIST    node addresses, host:port,host:port,...\n"
        "                      [$KLAXON_ENDPOINTS]\n"
        "  --ca FILE           cluster CA certificate (PEM) [$KLAXON_CA]\n"
        "  --cert FILE         client certificate (PEM) [$KLAXON_CERT]\n"
        "  --key FILE          client private key (PEM) [$KLAXON_KEY]\n"
        "  --timeout DURATION  give up after this long, retries included:\n"
        "                      500ms, 10s, 2m (default 20s) "
        "[$KLAXON_TIMEOUT]\n"
        "  --json              print one JSON document on stdout\n"
        "  -h, --help          this help; 'klaxonctl COMMAND --help' for a "
        "command\n"
        "  --version           print the version\n"
        "\n"
        "Exit status:\n"
        "  0  success\n"
        "  1  refused: invalid argument, no such incident, not allowed in "
        "its\n"
        "     state, too large\n"
        "  2  usage error\n"
        "  3  cluster unreachable, unavailable (no leader) or timed out\n"
        "  4  TLS, certificate or configuration problem\n"
        "\n"
        "Examples:\n"
        "  export KLAXON_ENDPOINTS=10.0.0.1:7001,10.0.0.2:7001,10.0.0.3:7001\n"
        "  export KLAXON_CA=ca.pem KLAXON_CERT=me.pem KLAXON_KEY=me-key.pem\n"
        "  klaxonctl list\n"
        "  klaxonctl ack 42\n"
        "  klaxonctl status\n",
        f);
}

void kctl_print_command_help(const struct kctl_cmd *cmd, FILE *f)
{
    fputs(cmd->help, f);
    fputs(
        "\nGlobal flags: --endpoints, --ca, --cert, --key, --timeout, "
        "--json\n(see 'klaxonctl --help').\n",
        f);
}

int kctl_cmd_help(struct kctl_ctx *ctx)
{
    const struct kctl_cmd *cmd;

    if (ctx->n_pos == 0) {
        kctl_print_overview(stdout);
        return KCTL_EXIT_OK;
    }
    cmd = kctl_find_command(ctx->pos[0]);
    if (cmd == NULL) {
        return kctl_usage(ctx, "unknown command '%s'", ctx->pos[0]);
    }
    kctl_print_command_help(cmd, stdout);
    return KCTL_EXIT_OK;
}
