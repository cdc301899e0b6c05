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
static const struct kctl_flag ack_flags[] = {{"by", KCTL_VALUE},
                                             {"token", KCTL_VALUE}};
static const struct kctl_flag stale_flags[] = {{"stale", KCTL_BOOL}};
static const struct kctl_flag resolve_flags[] = {{"by", KCTL_VALUE},
                                                 {"false-positive", KCTL_BOOL}};
static const struct kctl_flag update_flags[] = {
    {"status", KCTL_VALUE}, {"message", KCTL_VALUE}, {"component", KCTL_LIST},
    {"impact", KCTL_VALUE}, {"by", KCTL_VALUE},
};
static const struct kctl_flag apply_flags[] = {
    {"file", KCTL_VALUE},
    {"dry-run", KCTL_BOOL},
    {"by", KCTL_VALUE},
};
static const struct kctl_flag oncall_flags[] = {
    {"schedule", KCTL_VALUE}, {"at", KCTL_VALUE},   {"from", KCTL_VALUE},
    {"to", KCTL_VALUE},       {"stale", KCTL_BOOL},
};
static const struct kctl_flag mstart_flags[] = {
    {"service", KCTL_VALUE}, {"start", KCTL_VALUE},  {"duration", KCTL_VALUE},
    {"end", KCTL_VALUE},     {"reason", KCTL_VALUE}, {"by", KCTL_VALUE},
};
static const struct kctl_flag mlist_flags[] = {{"all", KCTL_BOOL},
                                               {"stale", KCTL_BOOL}};
static const struct kctl_flag pages_flags[] = {{"limit", KCTL_VALUE},
                                               {"stale", KCTL_BOOL}};
static const struct kctl_flag report_flags[] = {
    {"since", KCTL_VALUE},
    {"until", KCTL_VALUE},
    {"service", KCTL_VALUE},
};
static const struct kctl_flag handover_flags[] = {{"schedule", KCTL_VALUE},
                                                  {"at", KCTL_VALUE}};
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
    "       klaxonctl ack --token TOKEN\n"
    "\n"
    "Acknowledge incident ID: you are on it, escalation stops.\n"
    "Acknowledging again is fine. With --token, acknowledge with the token\n"
    "that a page carried instead: it names the incident and the person\n"
    "paged (a forged or expired token is refused, exit 1).\n"
    "\n"
    "  --by USER       who acknowledges; default $KLAXON_USER, then $USER\n"
    "  --token TOKEN   the acknowledgement token of a page (no ID, no --by)\n"
    "\n"
    "Examples:\n"
    "  klaxonctl ack 42\n"
    "  klaxonctl ack --token \"$KLAXON_ACK_TOKEN\"\n";

static const char help_resolve[] =
    "usage: klaxonctl resolve ID [--by USER] [--false-positive]\n"
    "\n"
    "Resolve incident ID. Its dedup key is free again: the next matching\n"
    "alert opens a new incident.\n"
    "\n"
    "  --by USER          who resolves; default $KLAXON_USER, then $USER\n"
    "  --false-positive   the alert was not a real problem (reports count\n"
    "                     it as a false positive)\n"
    "\n"
    "Example:\n"
    "  klaxonctl resolve 42 --by alice\n";

static const char help_update[] =
    "usage: klaxonctl update ID --status STATUS --message TEXT\n"
    "                        [--component NAME]... [--impact TEXT]\n"
    "                        [--by USER]\n"
    "\n"
    "Post a status-page update on incident ID: it shows on GET /status of\n"
    "every node's HTTPS port, with the incident's update history. Also\n"
    "counts as the update the commander is reminded of.\n"
    "\n"
    "  --status STATUS    investigating, identified, monitoring or resolved\n"
    "                     (resolved also resolves the incident if open)\n"
    "  --message TEXT     what responders want users to know (1..4096 bytes)\n"
    "  --component NAME   an affected component; repeatable (up to 16);\n"
    "                     default: the ones of the last update, else the\n"
    "                     incident's service\n"
    "  --impact TEXT      customer impact, e.g. \"some payments are slow\"\n"
    "  --by USER          who posts; default $KLAXON_USER, then $USER\n"
    "\n"
    "Example:\n"
    "  klaxonctl update 42 --status identified --component payments \\\n"
    "      --impact 'Some users see slow payments' \\\n"
    "      --message 'Database connection pool exhausted; raising its size'\n";

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
    "acknowledged and resolved it and when, its details, its paging\n"
    "(escalation policy, level and repeat, next escalation, commander,\n"
    "pages sent, missed targets, maintenance) and its timeline (times in\n"
    "UTC).\n"
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
    "with their error. A last line gives the counters of the replicated\n"
    "state (configuration version, open incidents, pages, escalations,\n"
    "missed targets and heartbeats). Exit status 0 when at least one node\n"
    "answered.\n"
    "\n"
    "Example:\n"
    "  klaxonctl status\n";

static const char help_help[] =
    "usage: klaxonctl help [COMMAND [SUBCOMMAND]]\n"
    "\n"
    "Show the overview, or the help of COMMAND (same as COMMAND --help).\n";

#define TIME_HELP                                                      \
    "TIME is RFC 3339 with Z or an offset (2026-03-29T01:30:00Z,\n"    \
    "2026-03-29T03:30:00+02:00), now, or relative to now: +10m, -2h\n" \
    "(units ms, s, m, h, d).\n"

static const char help_apply[] =
    "usage: klaxonctl apply -f FILE [--dry-run] [--by USER]\n"
    "\n"
    "Make the on-call configuration in FILE (YAML: users, schedules,\n"
    "escalation policies, services, heartbeat monitors; see\n"
    "docs/ONCALL.md) the one in force. The node validates the whole file\n"
    "first: a mistake is refused (exit 1) with the file, line and field,\n"
    "and nothing changes. Prints \"applied configuration version N\", or\n"
    "\"configuration unchanged (version N)\" when it is the one in force.\n"
    "\n"
    "  -f, --file FILE   the YAML file; - reads standard input\n"
    "  --dry-run         only validate: prints \"FILE is valid\"\n"
    "  --by USER         who applies it; default $KLAXON_USER, then $USER\n"
    "\n"
    "Examples:\n"
    "  klaxonctl apply -f oncall.yaml --dry-run\n"
    "  klaxonctl apply -f oncall.yaml\n"
    "  generate-oncall | klaxonctl apply -f -\n";

static const char help_config[] =
    "usage: klaxonctl config get [--stale]\n"
    "\n"
    "Subcommands:\n"
    "  get   print the on-call configuration in force\n"
    "\n"
    "Example:\n"
    "  klaxonctl config get > oncall.yaml\n";

static const char help_config_get[] =
    "usage: klaxonctl config get [--stale]\n"
    "\n"
    "Print the on-call configuration in force as it was applied, after a\n"
    "comment line with its version, when and by whom it was applied, and\n"
    "from which file. The output can be applied again.\n"
    "\n"
    "  --stale   read from the first reachable node without asking the\n"
    "            leader: works without a leader, may lag behind\n"
    "\n"
    "Example:\n"
    "  klaxonctl config get > oncall.yaml\n";

static const char help_oncall[] =
    "usage: klaxonctl oncall [--schedule S] [--at TIME] [--stale]\n"
    "       klaxonctl oncall --schedule S --from TIME --to TIME [--stale]\n"
    "\n"
    "Show who is on call: the current shift of every schedule (or of S),\n"
    "at TIME with --at; with --from and --to, every shift of S in that\n"
    "range. Columns: SCHEDULE USER FROM UNTIL LAYER, times in UTC; a gap\n"
    "in the rotation shows as \"- (nobody)\".\n"
    "\n"
    "  --schedule S   only schedule S (required with --from/--to)\n"
    "  --at TIME      who is on call at TIME instead of now\n"
    "  --from TIME    start of the range\n"
    "  --to TIME      end of the range (after --from)\n"
    "  --stale        read from the first reachable node without asking\n"
    "                 the leader: works without a leader, may lag behind\n"
    "\n" TIME_HELP
    "\n"
    "Examples:\n"
    "  klaxonctl oncall\n"
    "  klaxonctl oncall --schedule platform --at 2026-03-29T01:30:00Z\n"
    "  klaxonctl oncall --schedule platform --from now --to +7d\n";

static const char help_heartbeat[] =
    "usage: klaxonctl heartbeat NAME\n"
    "\n"
    "Check in heartbeat monitor NAME (a dead man's switch of the on-call\n"
    "configuration): when NAME does not check in within its interval, an\n"
    "incident opens on its service. Prints nothing on success.\n"
    "\n"
    "Example:\n"
    "  nightly-backup && klaxonctl heartbeat nightly-backup\n";

static const char help_monitors[] =
    "usage: klaxonctl monitors [--stale]\n"
    "\n"
    "List the heartbeat monitors: NAME SERVICE INTERVAL LAST-CHECK-IN DUE\n"
    "STATE, where STATE is up, or DOWN with the incident it opened.\n"
    "\n"
    "  --stale   read from the first reachable node without asking the\n"
    "            leader: works without a leader, may lag behind\n"
    "\n"
    "Example:\n"
    "  klaxonctl monitors\n";

static const char help_maintenance[] =
    "usage: klaxonctl maintenance start|end|list ...\n"
    "\n"
    "Maintenance windows: incidents of a service in a window page nobody.\n"
    "\n"
    "Subcommands:\n"
    "  start   start a window on a service, print its id\n"
    "  end     end a window now\n"
    "  list    list the windows\n"
    "\n"
    "Examples:\n"
    "  klaxonctl maintenance start --service db --duration 2h\n"
    "  klaxonctl maintenance list\n"
    "  klaxonctl maintenance end 3\n";

static const char help_maintenance_start[] =
    "usage: klaxonctl maintenance start --service S [--start TIME]\n"
    "                                   (--duration D | --end TIME)\n"
    "                                   [--reason TEXT] [--by USER]\n"
    "\n"
    "Start a maintenance window on service S: its triggers open incidents\n"
    "that page nobody until the window ends. Prints the window's id.\n"
    "\n"
    "  --service S     the service (1..128 bytes)\n"
    "  --start TIME    when the window starts (default now)\n"
    "  --duration D    how long: 30m, 2h, 1d (units ms, s, m, h, d)\n"
    "  --end TIME      when it ends, instead of --duration\n"
    "  --reason TEXT   why (up to 1024 bytes)\n"
    "  --by USER       who starts it; default $KLAXON_USER, then $USER\n"
    "\n" TIME_HELP
    "\n"
    "Examples:\n"
    "  klaxonctl maintenance start --service db --duration 2h \\\n"
    "      --reason 'schema migration'\n"
    "  klaxonctl maintenance start --service web --start "
    "2026-03-29T01:00:00Z \\\n"
    "      --end 2026-03-29T03:00:00Z\n";

static const char help_maintenance_end[] =
    "usage: klaxonctl maintenance end ID [--by USER]\n"
    "\n"
    "End maintenance window ID now.\n"
    "\n"
    "  --by USER   who ends it; default $KLAXON_USER, then $USER\n"
    "\n"
    "Example:\n"
    "  klaxonctl maintenance end 3\n";

static const char help_maintenance_list[] =
    "usage: klaxonctl maintenance list [--all] [--stale]\n"
    "\n"
    "List the maintenance windows that are not over: ID SERVICE START END\n"
    "STATE BY REASON (times in UTC; STATE is scheduled, active, over or\n"
    "ended by USER).\n"
    "\n"
    "  --all     also the windows that are over or were ended\n"
    "  --stale   read from the first reachable node without asking the\n"
    "            leader: works without a leader, may lag behind\n"
    "\n"
    "Example:\n"
    "  klaxonctl maintenance list --all\n";

static const char help_pages[] =
    "usage: klaxonctl pages [INCIDENT-ID] [--limit N] [--stale]\n"
    "\n"
    "List the pages (notifications to people) of incident INCIDENT-ID, or\n"
    "the latest pages of all incidents, reminders and handoff notices:\n"
    "ID INCIDENT LEVEL USER CHANNEL ADDRESS STATE ATTEMPTS CREATED ERROR.\n"
    "\n"
    "  --limit N   at most N pages, 1..1000 (default 100)\n"
    "  --stale     read from the first reachable node without asking the\n"
    "              leader: works without a leader, may lag behind\n"
    "\n"
    "Examples:\n"
    "  klaxonctl pages 42\n"
    "  klaxonctl pages --limit 20\n";

static const char help_report[] =
    "usage: klaxonctl report [--since SINCE] [--until TIME] [--service S]\n"
    "\n"
    "Figures of the incidents opened in a window (default: the last 7\n"
    "days), per severity and overall: incidents, open, acknowledged,\n"
    "resolved, missed response and resolution targets, false positives\n"
    "(resolved without an acknowledgement, or with --false-positive);\n"
    "MTTA and MTTR, mean and 90th percentile; pages per person and per\n"
    "shift, pages outside business hours (before 09:00 or from 17:00 in\n"
    "the person's time zone) and at weekends; recurring incidents (the\n"
    "same service and dedup key, or the same service and summary, opened\n"
    "more than once). With --json, one object with every figure. See\n"
    "docs/REPORTS.md for the exact definitions.\n"
    "\n"
    "  --since SINCE   start of the window: a duration back from now\n"
    "                  (24h, 7d, 30d; at most 366d) or a TIME; default 7d\n"
    "  --until TIME    end of the window (default now)\n"
    "  --service S     only incidents of service S\n"
    "\n" TIME_HELP
    "\n"
    "Examples:\n"
    "  klaxonctl report\n"
    "  klaxonctl report --since 30d --service checkout\n"
    "  klaxonctl report --since 2026-11-01T00:00:00Z \\\n"
    "      --until 2026-12-01T00:00:00Z --json\n";

static const char help_handover[] =
    "usage: klaxonctl handover --schedule S [--at TIME]\n"
    "\n"
    "The shift handover summary of schedule S in Markdown: the last shift\n"
    "that ended by TIME (default now; within the last 7 days, else the\n"
    "current shift so far), who handed over to whom, the incidents of the\n"
    "schedule opened during the shift by severity, the ones still open,\n"
    "action items (notes starting with \"action:\" or \"TODO\") and the\n"
    "other notes added during the shift. An incident is the schedule's\n"
    "when one of its pages went to someone through S, or its service's\n"
    "escalation policy has S as a target. With --json, one object.\n"
    "\n"
    "  --schedule S   the schedule (required)\n"
    "  --at TIME      hand over at TIME instead of now\n"
    "\n" TIME_HELP
    "\n"
    "Examples:\n"
    "  klaxonctl handover --schedule primary\n"
    "  klaxonctl handover --schedule day-night --at "
    "2026-11-30T08:00:00+01:00\n";

static const char help_postmortem[] =
    "usage: klaxonctl postmortem ID\n"
    "\n"
    "The incident report template in Markdown, filled from incident ID:\n"
    "title, summary, duration (trigger to resolve, or ongoing), severity,\n"
    "affected service, status-page components and customer impact, and\n"
    "the full timeline in UTC (trigger, alerts, every page with who,\n"
    "level, channel and outcome, acknowledgements, escalations, status\n"
    "updates, notes, resolve). Root Cause, Impact, Lessons Learned and\n"
    "Action Items are left with placeholders (notes starting with\n"
    "\"action:\" or \"TODO\" are listed as action items). With --json,\n"
    "{\"incident_id\": ID, \"markdown\": TEXT}.\n"
    "\n"
    "Examples:\n"
    "  klaxonctl postmortem 42 > INC-42.md\n";

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const struct kctl_cmd config_subs[] = {
    {"config get", "print the on-call configuration in force", help_config_get,
     stale_flags, N_OF(stale_flags), 0, kctl_cmd_config_get, NULL, 0},
};

static const struct kctl_cmd maintenance_subs[] = {
    {"maintenance start", "start a maintenance window on a service",
     help_maintenance_start, mstart_flags, N_OF(mstart_flags), 0,
     kctl_cmd_maintenance_start, NULL, 0},
    {"maintenance end", "end a maintenance window", help_maintenance_end,
     by_flags, N_OF(by_flags), 1, kctl_cmd_maintenance_end, NULL, 0},
    {"maintenance list", "list maintenance windows", help_maintenance_list,
     mlist_flags, N_OF(mlist_flags), 0, kctl_cmd_maintenance_list, NULL, 0},
};

static const char help_snapshot[] =
    "usage: klaxonctl snapshot save|inspect FILE\n"
    "\n"
    "Backups of the replicated state (every incident, timeline, page,\n"
    "timer, on-call configuration and secret). A backup seeds a new\n"
    "cluster with 'klaxond --config FILE --restore BACKUP' (README,\n"
    "\"Backups and disaster recovery\").\n"
    "\n"
    "Examples:\n"
    "  klaxonctl snapshot save /backups/klaxon-$(date +%F).klxb\n"
    "  klaxonctl snapshot inspect /backups/klaxon-2026-03-29.klxb\n";

static const char help_snapshot_save[] =
    "usage: klaxonctl snapshot save FILE\n"
    "\n"
    "Save a backup of the cluster's state to FILE. The leader takes it\n"
    "as a linearizable read, so it holds every write acknowledged before the\n"
    "command started. The leader writes it in its data_dir (off its event\n"
    "loop: the cluster keeps serving), then klaxonctl fetches it in 512 KiB\n"
    "blocks, checks its SHA-256 and renames FILE.tmp to FILE once it is\n"
    "complete and synced. Progress goes to stderr on a terminal. Prints\n"
    "the applied index, record count, size and checksum. Admin only.\n"
    "\n"
    "Examples:\n"
    "  klaxonctl snapshot save /backups/klaxon-$(date +%F).klxb\n"
    "  klaxonctl --json snapshot save nightly.klxb\n";

static const char help_snapshot_inspect[] =
    "usage: klaxonctl snapshot inspect FILE\n"
    "\n"
    "Check a backup file offline (no cluster needed): its format, size and\n"
    "SHA-256, then print its header: format version, cluster id, applied\n"
    "index, creation time, record count, size and checksum. Exits 1 with\n"
    "the reason when the file is truncated, damaged or not a backup.\n"
    "\n"
    "Example:\n"
    "  klaxonctl snapshot inspect nightly.klxb\n";

static const struct kctl_cmd snapshot_subs[] = {
    {"snapshot save", "save a backup of the state to a file",
     help_snapshot_save, NULL, 0, 1, kctl_cmd_snapshot_save, NULL, 0},
    {"snapshot inspect", "verify a backup file and print its header",
     help_snapshot_inspect, NULL, 0, 1, kctl_cmd_snapshot_inspect, NULL, 0},
};

const struct kctl_cmd kctl_commands[] = {
    {"trigger", "open an incident, or add an alert to the open one",
     help_trigger, trigger_flags, N_OF(trigger_flags), 0, kctl_cmd_trigger,
     NULL, 0},
    {"ack", "acknowledge an incident (by id or with a page's token)", help_ack,
     ack_flags, N_OF(ack_flags), 1, kctl_cmd_ack, NULL, 0},
    {"resolve", "resolve an incident", help_resolve, resolve_flags,
     N_OF(resolve_flags), 1, kctl_cmd_resolve, NULL, 0},
    {"update", "post a status-page update on an incident", help_update,
     update_flags, N_OF(update_flags), 1, kctl_cmd_update, NULL, 0},
    {"note", "add a note to an incident's timeline", help_note, by_flags,
     N_OF(by_flags), SIZE_MAX, kctl_cmd_note, NULL, 0},
    {"get", "show an incident, its paging and its timeline", help_get,
     stale_flags, N_OF(stale_flags), 1, kctl_cmd_get, NULL, 0},
    {"list", "list incidents (open ones by default)", help_list, list_flags,
     N_OF(list_flags), 0, kctl_cmd_list, NULL, 0},
    {"pages", "list the pages sent for an incident, or the latest ones",
     help_pages, pages_flags, N_OF(pages_flags), 1, kctl_cmd_pages, NULL, 0},
    {"report", "incident figures of a window: MTTA, MTTR, pages, ...",
     help_report, report_flags, N_OF(report_flags), 0, kctl_cmd_report, NULL,
     0},
    {"handover", "the shift handover summary of a schedule (Markdown)",
     help_handover, handover_flags, N_OF(handover_flags), 0, kctl_cmd_handover,
     NULL, 0},
    {"postmortem", "the incident report template filled from an incident",
     help_postmortem, NULL, 0, 1, kctl_cmd_postmortem, NULL, 0},
    {"oncall", "show who is on call", help_oncall, oncall_flags,
     N_OF(oncall_flags), 0, kctl_cmd_oncall, NULL, 0},
    {"apply", "validate and apply the on-call configuration", help_apply,
     apply_flags, N_OF(apply_flags), 0, kctl_cmd_apply, NULL, 0},
    {"config", "print the on-call configuration in force", help_config, NULL, 0,
     0, kctl_cmd_group, config_subs, N_OF(config_subs)},
    {"maintenance", "start, end and list maintenance windows", help_maintenance,
     NULL, 0, 0, kctl_cmd_group, maintenance_subs, N_OF(maintenance_subs)},
    {"heartbeat", "check in a heartbeat monitor", help_heartbeat, NULL, 0, 1,
     kctl_cmd_heartbeat, NULL, 0},
    {"monitors", "list heartbeat monitors and their state", help_monitors,
     stale_flags, N_OF(stale_flags), 0, kctl_cmd_monitors, NULL, 0},
    {"status", "show every node's role, term, log progress and leader",
     help_status, NULL, 0, 0, kctl_cmd_status, NULL, 0},
    {"snapshot", "save a backup of the state; inspect a backup file",
     help_snapshot, NULL, 0, 0, kctl_cmd_group, snapshot_subs,
     N_OF(snapshot_subs)},
    {"member", "add, promote, remove and list cluster members",
     kctl_help_member, NULL, 0, 0, kctl_cmd_group, kctl_member_subs,
     KCTL_MEMBER_SUBS},
    {"leader", "hand leadership to another voter", kctl_help_leader, NULL, 0, 0,
     kctl_cmd_group, kctl_leader_subs, KCTL_LEADER_SUBS},
    {"help", "show help about a command", help_help, NULL, 0, 2, kctl_cmd_help,
     NULL, 0},
};

const size_t kctl_n_commands = N_OF(kctl_commands);

const struct kctl_cmd *kctl_find_command(const char *name)
{
    for (size_t i = 0; i < kctl_n_commands; i++) {
        if (strcmp(kctl_commands[i].name, name) == 0) {
            return &kctl_commands[i];
        }
    }
    return NULL;
}

const struct kctl_cmd *kctl_find_sub(const struct kctl_cmd *cmd,
                                     const char *word)
{
    for (size_t i = 0; i < cmd->n_subs; i++) {
        if (strcmp(kctl_sub_word(&cmd->subs[i]), word) == 0) {
            return &cmd->subs[i];
        }
    }
    return NULL;
}

const char *kctl_sub_word(const struct kctl_cmd *cmd)
{
    const char *space = strchr(cmd->name, ' ');

    return space != NULL ? space + 1 : cmd->name;
}

int kctl_cmd_group(struct kctl_ctx *ctx)
{
    char words[128] = "";
    size_t n = ctx->cmd->n_subs;

    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(words);
        snprintf(words + used, sizeof words - used, "%s%s",
                 i == 0 ? "" : (i + 1 == n ? " or " : ", "),
                 kctl_sub_word(&ctx->cmd->subs[i]));
    }
    return kctl_usage(ctx, "missing subcommand: %s", words);
}

static void overview_line(FILE *f, const struct kctl_cmd *cmd)
{
    fprintf(f, "  %-18s %s\n", cmd->name, cmd->summary);
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
        const struct kctl_cmd *cmd = &kctl_commands[i];
        if (cmd->n_subs == 0) {
            overview_line(f, cmd);
        }
        for (size_t k = 0; k < cmd->n_subs; k++) {
            overview_line(f, &cmd->subs[k]);
        }
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
        "  1  refused: invalid argument or configuration, no such incident,\n"
        "     not allowed in its state, too large, token refused\n"
        "  2  usage error\n"
        "  3  cluster unreachable, unavailable (no leader), timed out, or\n"
        "     over a node limit (RESOURCE_EXHAUSTED: the message says how\n"
        "     long to wait)\n"
        "  4  TLS, certificate or configuration problem\n"
        "\n"
        "Examples:\n"
        "  export KLAXON_ENDPOINTS=10.0.0.1:7001,10.0.0.2:7001,10.0.0.3:7001\n"
        "  export KLAXON_CA=ca.pem KLAXON_CERT=me.pem KLAXON_KEY=me-key.pem\n"
        "  klaxonctl list\n"
        "  klaxonctl ack 42\n"
        "  klaxonctl apply -f oncall.yaml\n"
        "  klaxonctl oncall\n"
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
    if (ctx->n_pos > 1) {
        cmd = cmd->n_subs > 0 ? kctl_find_sub(cmd, ctx->pos[1]) : NULL;
        if (cmd == NULL) {
            return kctl_usage(ctx, "unknown subcommand '%s %s'", ctx->pos[0],
                              ctx->pos[1]);
        }
    }
    kctl_print_command_help(cmd, stdout);
    return KCTL_EXIT_OK;
}
