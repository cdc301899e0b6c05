#!/usr/bin/env bash
# klaxonctl's reports against a real cluster: a known set of incidents made
# through klaxonctl (triggers, acknowledgements, resolves, false positives,
# notes, status updates), then `report` (exact counts by severity, false
# positives, recurring incidents), `postmortem` (the incident's summary,
# timeline and the template's sections) and `handover` (the shift, its
# incidents by severity, what is open, action items and notes).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/itest.sh
. tests/lib/itest.sh
itest_init report

# expect_json FILE DESCRIPTION EXPRESSION: EXPRESSION (Python, the
# document as d) is true.
expect_json() {
    checks=$((checks + 1))
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
if not eval(sys.argv[2]):
    sys.exit(1)
' "$1" "$3" || fail "$2: not ($3) in: $(head -c 600 "$1")"
}

# run CMD...: a step that must succeed; its output is in $dir/out.
run() {
    expect_exit 0 "$*" "$@"
}

trap itest_cleanup EXIT

# --- a cluster with the example configuration ------------------------------
itest_start_cluster
run "$CTL" apply -f deploy/examples/oncall.yaml

# --- the incidents -----------------------------------------------------------
# trigger ARGS...: open an incident, its id in $id.
trigger() {
    run "$CTL" trigger "$@"
    id=$(cat "$dir/out")
}
# 1: Sev1 checkout, acknowledged, notes, a status update, resolved.
trigger --service checkout --severity 1 --summary "checkout errors" \
    --dedup-key co-5xx --source prometheus
i1=$id
run "$CTL" ack "$i1" --by alice
run "$CTL" note "$i1" --by alice action: add pool metrics
run "$CTL" note "$i1" --by alice rolled back v2.1
run "$CTL" update "$i1" --status identified --message "pool exhausted" \
    --component checkout --impact "some checkouts fail" --by alice
run "$CTL" resolve "$i1" --by alice
# 2: the same again, resolved as a false positive without an ack.
trigger --service checkout --severity 1 --summary "checkout errors" \
    --dedup-key co-5xx
i2=$id
run "$CTL" resolve "$i2" --by bob --false-positive
# 3: and once more, acknowledged and resolved.
trigger --service checkout --severity 1 --summary "checkout errors" \
    --dedup-key co-5xx
i3=$id
run "$CTL" ack "$i3" --by bob
run "$CTL" resolve "$i3" --by bob
# 4: Sev2 payments, acknowledged, then a false positive after all.
trigger --service payments --severity 2 --summary "payment latency"
i4=$id
run "$CTL" ack "$i4" --by eve
run "$CTL" resolve "$i4" --by eve --false-positive
# 5: the same summary again (no dedup key): left open, triggered.
trigger --service payments --severity 2 --summary "payment latency"
i5=$id
# 6: Sev3, acknowledged, left open.
trigger --service internal-tools --severity 3 --summary "disk 80%"
i6=$id
run "$CTL" ack "$i6" --by ivan
# 7: Sev4, resolved without an ack: a false positive too.
trigger --service demo --severity 4 --summary "docs typo"
i7=$id
run "$CTL" resolve "$i7" --by eve
checks=$((checks + 1))
[ "$i1,$i2,$i3,$i4,$i5,$i6,$i7" = "1,2,3,4,5,6,7" ] ||
    fail "incident ids $i1,$i2,$i3,$i4,$i5,$i6,$i7, want 1..7"

# --- report ------------------------------------------------------------------
run "$CTL" report --since 1h --json
cp "$dir/out" "$dir/report.json"
r=$dir/report.json
expect_json "$r" "incidents" 'd["overall"]["incidents"] == 7'
expect_json "$r" "by severity" \
    '[d["severities"]["sev%d" % s]["incidents"] for s in (1, 2, 3, 4)] == [3, 2, 1, 1]'
expect_json "$r" "open" 'd["overall"]["open"] == 2'
expect_json "$r" "acknowledged" 'd["overall"]["acknowledged"] == 4'
expect_json "$r" "resolved" 'd["overall"]["resolved"] == 5'
expect_json "$r" "MTTA over acknowledged" 'd["overall"]["mtta"]["count"] == 4'
expect_json "$r" "MTTR over resolved" 'd["overall"]["mttr"]["count"] == 5'
expect_json "$r" "MTTA p90 >= mean" \
    'd["overall"]["mtta"]["p90_ms"] >= d["overall"]["mtta"]["mean_ms"] >= 0'
expect_json "$r" "no MTTA of Sev4" \
    'd["severities"]["sev4"]["mtta"] == {"count": 0, "mean_ms": None, "p90_ms": None}'
expect_json "$r" "false positives" 'd["overall"]["false_positives"] == 3'
expect_json "$r" "false-positive share" \
    'abs(d["overall"]["false_positive_share"] - 0.6) < 1e-9'
expect_json "$r" "false-positive share per severity" \
    '[d["severities"]["sev%d" % s]["false_positive_share"] for s in (1, 2, 3, 4)] == [1 / 3, 1.0, None, 1.0]'
expect_json "$r" "no missed targets" \
    'd["overall"]["response_missed"] == 0 and d["overall"]["resolution_missed"] == 0'
expect_json "$r" "recurring incidents" 'd["recurring_incidents"] == 5'
expect_json "$r" "recurring groups" \
    '[(g["service"], g["by"], g["key"], g["count"], g["incident_ids"]) for g in d["recurring"]] == [("checkout", "dedup_key", "co-5xx", 3, [1, 2, 3]), ("payments", "summary", "payment latency", 2, [4, 5])]'
# Pages race with acknowledgements, but the open Sev2 pages primary's
# person for sure, and every page is someone's.
run "$CTL" oncall --schedule primary --json
oncall_user=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["shifts"][0]["user"])' <"$dir/out")
shift_end=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["shifts"][0]["end_ms"])' <"$dir/out")
expect_json "$r" "the primary on call was paged" \
    "any(p['user'] == '$oncall_user' and p['pages'] >= 1 for p in d['people'])"
expect_json "$r" "pages add up per person" \
    'd["pages"]["total"] == sum(p["pages"] for p in d["people"]) >= 1'
expect_json "$r" "pages add up per shift" \
    'd["pages"]["total"] == sum(s["pages"] for s in d["shifts"]) + d["pages"]["outside_shifts"]'
expect_json "$r" "off hours is outside hours or weekend" \
    'max(d["pages"]["outside_business_hours"], d["pages"]["weekend"]) <= d["pages"]["off_hours"] <= d["pages"]["total"]'

run "$CTL" report --since 1h --service payments --json
expect_json "$dir/out" "service filter" \
    'd["overall"]["incidents"] == 2 and d["service"] == "payments"'
run "$CTL" report --since -2h --until +1m --json
expect_json "$dir/out" "--since and --until as TIME" \
    'd["overall"]["incidents"] == 7'
run "$CTL" report --since 1h --until -30m --json
expect_json "$dir/out" "a window before the incidents" \
    'd["overall"]["incidents"] == 0 and d["overall"]["false_positive_share"] is None'
run "$CTL" report --since 1h
expect_in "$dir/out" "Incident report" "report title"
expect_in "$dir/out" "MTTA MEAN" "report times"
expect_in "$dir/out" "Pages per person" "report people"
expect_in "$dir/out" "Recurring incidents: 5" "report recurring"
expect_in "$dir/out" "3 of 5 (60.0%)" "report false positives"
expect_exit 2 "report with a bad --since" "$CTL" report --since soon

# --- postmortem --------------------------------------------------------------
run "$CTL" postmortem "$i1"
p=$dir/out
for s in "# Incident Report: checkout errors" "## Summary" "## Timeline" \
    "## Root Cause" "## Impact" "## Lessons Learned" "## Action Items"; do
    expect_in "$p" "$s" "postmortem section"
done
expect_in "$p" "- **Incident ID:** $i1" "postmortem id"
expect_in "$p" "- **Severity:** Sev1" "postmortem severity"
expect_in "$p" "- **Affected:** checkout" "postmortem service"
expect_in "$p" "(trigger to resolve)" "postmortem duration"
expect_in "$p" "- **Components:** checkout" "postmortem components"
expect_in "$p" "- **Customer impact:** some checkouts fail" "postmortem impact"
expect_in "$p" "**Triggered** by prometheus: checkout errors" "timeline trigger"
expect_in "$p" "**Paged** $oncall_user (level 1, via schedule primary) by webhook" \
    "timeline page"
expect_in "$p" "**Acknowledged** by alice" "timeline ack"
expect_in "$p" "**Note** by alice: rolled back v2.1" "timeline note"
expect_in "$p" "**Status update** (identified) by alice: pool exhausted" \
    "timeline status update"
expect_in "$p" "**Resolved** by alice" "timeline resolve"
expect_in "$p" "- [ ] action: add pool metrics (noted by alice" "action item"
run "$CTL" postmortem "$i5"
expect_in "$dir/out" "- **Duration:** ongoing" "ongoing incident"
run "$CTL" postmortem "$i2" --json
expect_json "$dir/out" "postmortem --json" \
    'd["incident_id"] == 2 and "**False positive:** yes" in d["markdown"]'
expect_exit 1 "postmortem of an unknown incident" "$CTL" postmortem 999

# --- handover ----------------------------------------------------------------
run "$CTL" handover --schedule primary
h=$dir/out
expect_in "$h" "# Shift Handover Summary" "handover title"
expect_in "$h" "- **Schedule:** primary" "handover schedule"
expect_in "$h" "| $i5 | Sev2 | triggered | payments | payment latency |" \
    "handover lists the open incident"
expect_in "$h" "| $i6 | Sev3 | acknowledged | internal-tools | disk 80% |" \
    "handover lists the acknowledged one"
# At the end of the current shift: this shift, with every incident above.
at=$(python3 -c 'import sys, datetime; print(datetime.datetime.fromtimestamp(int(sys.argv[1]) / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))' "$shift_end")
run "$CTL" handover --schedule primary --at "$at"
h=$dir/out
expect_in "$h" "- **Handed over by:** $oncall_user" "handover by"
expect_in "$h" "- Total: 7" "handover total"
expect_in "$h" "- Sev1: 3 (#1 checkout errors, #2 checkout errors, #3 checkout errors)" \
    "handover Sev1"
expect_in "$h" "- Sev2: 2 (#4 payment latency, #5 payment latency)" "handover Sev2"
expect_in "$h" "- Sev3: 1 (#6 disk 80%)" "handover Sev3"
expect_in "$h" "- Sev4: 1 (#7 docs typo)" "handover Sev4"
expect_in "$h" "1. action: add pool metrics (#1, alice," "handover action item"
expect_in "$h" "- rolled back v2.1 (#1, alice," "handover note"
run "$CTL" handover --schedule primary --at "$at" --json
expect_json "$dir/out" "handover --json" \
    '[i["id"] for i in d["open"]] == [5, 6] and d["incidents"] == 7 and not d["current"]'
expect_exit 1 "handover of an unknown schedule" "$CTL" handover --schedule nope
expect_exit 2 "handover without --schedule" "$CTL" handover

for c in report handover postmortem; do
    expect_exit 0 "$c --help" "$CTL" $c --help
    expect_in "$dir/out" "usage: klaxonctl $c" "$c help usage line"
done

itest_finish
