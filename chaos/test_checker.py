#!/usr/bin/env python3
"""Tests of the chaos checker on hand-made run directories.

    python3 -m unittest chaos/test_checker.py -v
    python3 chaos/test_checker.py

Each test builds a history (and pages) with RunBuilder, writes it to a
temporary directory and runs the checker on it as the command line would.
"""

import contextlib
import heapq
import io
import itertools
import json
import math
import os
import random
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ElementTree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import checker  # noqa: E402

T0 = 1_700_000_000.0   # the run's start; builder times are seconds after it
SVG = "{http://www.w3.org/2000/svg}"


def ms(t):
    """klaxond's milliseconds for a builder time."""
    return int(round((T0 + t) * 1000))


class RunBuilder:
    """A run directory in the making: history lines, pages and the final
    incidents, all with times in seconds after T0."""

    def __init__(self, escalating=("svc0",), timeouts=(4000, 4000), repeat=1,
                 allowed=4000, slack=100, nodes=(1, 2, 3)):
        self.config = {
            "t": T0, "type": "config", "scenario": "test", "seed": 1,
            "duration_s": 30, "nodes": list(nodes),
            "heartbeat_ms": 100, "election_ms": 1000,
            "policy": {"repeat": repeat,
                       "levels": [{"timeout_ms": t} for t in timeouts]},
            "escalating_services": list(escalating),
            "allowed_lateness_ms": allowed, "ack_quiet_slack_ms": slack}
        self.lines = []
        self.pages = []
        self.incidents = {}
        self.next_id = 1
        self.next_page = 1

    def add(self, t, **obj):
        """One history line at time t."""
        obj["t"] = T0 + t
        self.lines.append(obj)

    def op(self, process, f, start, end, outcome, args, result):
        """An invocation and (unless outcome is None) its completion."""
        op_id = self.next_id
        self.next_id += 1
        self.add(start, type="invoke", id=op_id, process=process, f=f,
                 **args)
        if outcome is not None:
            self.add(end, type=outcome, id=op_id, process=process, f=f,
                     **result)
        return op_id

    def trigger(self, process, start, end, incident, service="svc0",
                dedup="k1", deduplicated=False, status="triggered",
                outcome="ok"):
        """A trigger; ok ones return `incident`."""
        result = ({"incident": incident, "deduplicated": deduplicated,
                   "status": status} if outcome == "ok"
                  else {"error": "timeout"})
        return self.op(process, "trigger", start, end, outcome,
                       {"service": service, "dedup": dedup, "severity": 1},
                       result)

    def change(self, f, process, start, end, incident, outcome="ok",
               status=None, error="timeout"):
        """An ack, resolve or get of `incident`."""
        result = {"incident": incident}
        if outcome == "ok":
            result["status"] = status
        else:
            result["error"] = error
        return self.op(process, f, start, end, outcome,
                       {"incident": incident}, result)

    def ack(self, process, start, end, incident, outcome="ok", **kw):
        """An acknowledgement."""
        return self.change("ack", process, start, end, incident, outcome,
                           "acknowledged", **kw)

    def resolve(self, process, start, end, incident, outcome="ok", **kw):
        """A resolve."""
        return self.change("resolve", process, start, end, incident, outcome,
                           "resolved", **kw)

    def get(self, process, start, end, incident, status, outcome="ok"):
        """A read of the incident's status."""
        return self.change("get", process, start, end, incident, outcome,
                           status)

    def fault(self, start, end, kind="kill", majority=True, nodes=(2,)):
        """A nemesis fault."""
        self.add(start, type="nemesis", phase="start", fault=kind,
                 nodes=list(nodes), majority=majority,
                 detail="%s %s" % (kind, list(nodes)))
        self.add(end, type="nemesis", phase="end", fault=kind,
                 nodes=list(nodes), detail="ended")

    def leader(self, start, end, node, every=0.2):
        """Leadership samples from start to end."""
        t = start
        while t < end - 1e-9:
            self.add(t, type="leader", leader=node)
            t = round(t + every, 6)

    def incident(self, incident_id, created, service="svc0", dedup="k1",
                 acked=None, resolved=None):
        """An incident of the final state."""
        status = (checker.RESOLVED if resolved is not None
                  else checker.ACKNOWLEDGED if acked is not None
                  else checker.TRIGGERED)
        self.incidents[incident_id] = {
            "id": incident_id, "service": service, "dedup_key": dedup,
            "status": status, "created_ms": ms(created),
            "acknowledged_ms": ms(acked) if acked is not None else 0,
            "acknowledged_by": "w1" if acked is not None else "",
            "resolved_ms": ms(resolved) if resolved is not None else 0,
            "alert_count": 1, "escalation_level": 1, "escalation_loop": 0,
            "unanswered": False}
        return self.incidents[incident_id]

    def page(self, t, incident, level, repeat=0, key=None, sent=None):
        """An incident page arriving at t (key: repeat one for a
        duplicate; sent: when the leader started sending it, default
        5 ms before t)."""
        page_id = self.next_page
        self.next_page += 1
        key = key or "klaxon-test-%d" % page_id
        sent = t - 0.005 if sent is None else sent
        self.pages.append({
            "t": T0 + t, "channel": "webhook", "path": "/u1",
            "idempotency_key": key, "status": 200,
            "body": {"type": "incident", "page_id": page_id, "level": level,
                     "repeat": repeat, "idempotency_key": key,
                     "sent_ms": ms(sent),
                     "incident": {"id": incident, "service": "svc0"}}})
        return key

    def finish(self, end=30.0, finals=None, applied=None):
        """The closing lines: workload end, heal, convergence and one final
        line per node (`finals` maps a node to its own incident list)."""
        self.add(end - 3, type="workload-end")
        self.add(end - 2, type="heal")
        self.add(end - 1, type="converged", after_s=1.0)
        default = [self.incidents[i] for i in sorted(self.incidents)]
        for node in self.config["nodes"]:
            incidents = (finals or {}).get(node, default)
            self.add(end, type="final", node=node,
                     applied_index=(applied or {}).get(node, 100),
                     incidents=incidents)

    def write(self, directory):
        """Writes history.jsonl and pages.jsonl in time order."""
        lines = [self.config] + sorted(self.lines, key=lambda o: o["t"])
        with open(os.path.join(directory, "history.jsonl"), "w") as f:
            f.writelines(json.dumps(o) + "\n" for o in lines)
        with open(os.path.join(directory, "pages.jsonl"), "w") as f:
            f.writelines(json.dumps(p) + "\n" for p in
                         sorted(self.pages, key=lambda p: p["t"]))


def clean_builder():
    """A run where everything went right: an escalating incident paged at
    levels 1 and 2 (level 1 twice, a duplicate), acknowledged, read,
    resolved; a kill of a follower with a failover; three agreeing nodes."""
    b = RunBuilder()
    b.leader(0, 3, 1)
    b.leader(3, 3.8, 0)
    b.leader(3.8, 30, 2)
    b.fault(2.9, 4.5, "kill", majority=True, nodes=[1])
    b.trigger(1, 1.0, 1.05, 1)
    b.incident(1, created=1.02, acked=6.02, resolved=8.02)
    key = b.page(1.1, 1, level=1)
    b.page(1.3, 1, level=1, key=key)
    b.page(5.2, 1, level=2)
    b.trigger(2, 2.0, 2.05, 1, deduplicated=True)
    b.get(2, 3.0, 3.05, 1, "triggered")
    b.ack(1, 6.0, 6.05, 1)
    b.get(2, 7.0, 7.05, 1, "acknowledged")
    b.resolve(1, 8.0, 8.05, 1)
    b.get(2, 9.0, 9.05, 1, "resolved")
    b.ack(3, 9.5, 9.55, 1, outcome="fail", error="state")
    b.trigger(3, 10.0, 10.05, 2, service="other", dedup="k1")
    b.incident(2, created=10.02, service="other", dedup="k1")
    return b


class CheckerTest(unittest.TestCase):
    """Runs the checker on builders and looks at what it found."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def run_checker(self, builder, finish=True, **finish_args):
        """Writes the run, runs the checker; returns (exit status, summary,
        stdout, stderr)."""
        if finish:
            builder.finish(**finish_args)
        builder.write(self.dir)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = checker.main([self.dir, "--quiet"])
        path = os.path.join(self.dir, "summary.json")
        summary = None
        if os.path.exists(path):
            with open(path) as f:
                summary = json.load(f)
        return status, summary, out.getvalue(), err.getvalue()

    def violations(self, summary, check):
        """The summaries of one check's violations."""
        return [v["summary"] for v in summary["violations"]
                if v["check"] == check]

    def assert_only(self, summary, check, count):
        """Exactly `count` violations, all of `check`."""
        by_check = summary["figures"]["violations"]
        self.assertEqual(by_check[check], count, summary["violations"])
        self.assertEqual(sum(by_check.values()), count, summary["violations"])


class CleanRunTest(CheckerTest):
    """Runs where nothing went wrong pass and are measured."""

    def test_clean_run_passes(self):
        status, summary, out, _ = self.run_checker(clean_builder())
        self.assertEqual(status, 0, summary["violations"])
        self.assertEqual(summary["verdict"], "PASS")
        self.assertTrue(out.startswith("PASS"))

    def test_duplicate_pages_are_counted_not_flagged(self):
        _, summary, _, _ = self.run_checker(clean_builder())
        pages = summary["figures"]["pages"]
        self.assertEqual((pages["received"], pages["distinct"],
                          pages["duplicates"]), (3, 2, 1))

    def test_figures(self):
        _, summary, _, _ = self.run_checker(clean_builder())
        fig = summary["figures"]
        self.assertEqual(fig["operations"]["get"],
                         {"ok": 3, "fail": 0, "info": 0})
        self.assertEqual(fig["operations"]["ack"],
                         {"ok": 1, "fail": 1, "info": 0})
        self.assertEqual(fig["faults"], {"kill": 1})
        self.assertEqual(fig["failover_gaps"]["count"], 1)
        self.assertAlmostEqual(fig["failover_gaps"]["max_s"], 1.0, places=3)
        self.assertEqual(fig["converged_after_s"], 1.0)
        self.assertEqual(fig["liveness"]["expected"], 2)
        self.assertEqual(fig["liveness"]["lateness_ms"]["max"], 180.0)

    def test_clock_skew_is_measured(self):
        b = clean_builder()
        b.incidents[2]["created_ms"] = ms(10.0 - 2.5)   # stamped 2.5 s early
        _, summary, _, _ = self.run_checker(b)
        self.assertEqual(summary["figures"]["clock_skew"],
                         {"incidents": 1, "max_ms": 2500.0})

    def test_report_and_outputs_are_written(self):
        self.run_checker(clean_builder())
        for name in ("summary.json", "report.txt", "plot.svg"):
            self.assertTrue(os.path.exists(os.path.join(self.dir, name)))
        with open(os.path.join(self.dir, "report.txt")) as f:
            report = f.read()
        self.assertTrue(report.startswith("PASS"))
        self.assertIn("1 duplicates", report)

    def test_output_is_deterministic(self):
        self.run_checker(clean_builder())
        with open(os.path.join(self.dir, "plot.svg")) as f:
            first = f.read()
        self.run_checker(clean_builder())
        with open(os.path.join(self.dir, "plot.svg")) as f:
            self.assertEqual(f.read(), first)

    def test_no_pages_file_means_no_pages(self):
        b = RunBuilder(escalating=())
        b.trigger(1, 1.0, 1.05, 1)
        b.incident(1, created=1.02)
        b.finish()
        b.write(self.dir)
        os.remove(os.path.join(self.dir, "pages.jsonl"))
        with contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(checker.main([self.dir]), 0)


class DurabilityTest(CheckerTest):
    """Confirmed writes missing from a final state."""

    def test_lost_trigger(self):
        b = clean_builder()
        lost = b.trigger(4, 11.0, 11.05, 3, service="other", dedup="k9")
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 1)
        self.assert_only(summary, "durability", 1)
        found = self.violations(summary, "durability")[0]
        self.assertIn("op %d" % lost, found)
        self.assertIn("incident 3 is missing", found)

    def test_trigger_of_another_key(self):
        b = clean_builder()
        b.trigger(4, 11.0, 11.05, 2, service="other", dedup="k7",
                  deduplicated=True)
        _, summary, _, _ = self.run_checker(b)
        self.assert_only(summary, "durability", 1)
        self.assertIn("other/k1", self.violations(summary, "durability")[0])

    def test_lost_ack(self):
        b = clean_builder()
        b.ack(4, 11.0, 11.05, 2)
        _, summary, _, _ = self.run_checker(b)
        self.assert_only(summary, "durability", 1)
        self.assertIn("never acknowledged",
                      self.violations(summary, "durability")[0])

    def test_lost_resolve(self):
        b = clean_builder()
        b.resolve(4, 11.0, 11.05, 2)
        _, summary, _, _ = self.run_checker(b)
        self.assert_only(summary, "durability", 1)
        self.assertIn("incident 2 is triggered",
                      self.violations(summary, "durability")[0])

    def test_indeterminate_writes_may_be_lost(self):
        b = clean_builder()
        b.trigger(4, 11.0, 11.05, None, dedup="k5", outcome="info")
        b.ack(4, 12.0, 12.05, 2, outcome="info")
        b.resolve(4, 13.0, 13.05, 2, outcome="fail", error="unavailable")
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 0, summary["violations"])

    def test_lost_on_one_node_only(self):
        b = clean_builder()
        others = [b.incidents[1]]
        status, summary, _, _ = self.run_checker(b, finals={3: others})
        self.assertEqual(status, 1)
        found = self.violations(summary, "durability")
        self.assertEqual(len(found), 1)
        self.assertIn("on node 3 incident 2 is missing", found[0])
        self.assertEqual(len(self.violations(summary, "convergence")), 1)


class IdempotencyTest(CheckerTest):
    """Two open incidents for one dedup key."""

    def test_two_open_incidents_for_one_key(self):
        b = clean_builder()
        b.incident(3, created=12.0, service="other", dedup="k1")
        b.trigger(4, 11.98, 12.03, 3, service="other", dedup="k1")
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 1)
        self.assert_only(summary, "idempotency", 2)
        found = self.violations(summary, "idempotency")
        self.assertIn("other/k1 has two open incidents, 2 and 3", found[0])
        self.assertIn("triggers", found[1])

    def test_new_incident_after_resolve_is_fine(self):
        b = clean_builder()
        b.resolve(4, 11.0, 11.05, 2)
        b.incidents[2] = dict(b.incidents[2], status="resolved",
                              resolved_ms=ms(11.02))
        b.trigger(4, 12.0, 12.05, 3, service="other", dedup="k1")
        b.incident(3, created=12.02, service="other", dedup="k1")
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 0, summary["violations"])

    def test_concurrent_triggers_around_a_resolve_are_fine(self):
        b = RunBuilder(escalating=())
        b.trigger(1, 1.0, 1.05, 1)
        b.incident(1, created=1.02, resolved=2.02)
        b.resolve(2, 2.0, 2.05, 1)
        # opened incident 2 after the resolve, answered before trigger 1
        b.trigger(3, 1.9, 2.5, 2)
        b.incident(2, created=2.03)
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 0, summary["violations"])

    def test_resolve_stamped_by_a_skewed_clock(self):
        # incident 1 was resolved at 5 s by a leader 60 s ahead
        b = RunBuilder(escalating=())
        b.trigger(1, 1.0, 1.05, 1)
        b.resolve(1, 5.0, 5.05, 1)
        b.incident(1, created=1.02, resolved=65.0)
        b.trigger(2, 10.0, 10.05, 2)
        b.incident(2, created=10.02)
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 0, summary["violations"])

    def test_empty_dedup_key_may_repeat(self):
        b = RunBuilder(escalating=())
        b.trigger(1, 1.0, 1.05, 1, dedup="")
        b.trigger(1, 2.0, 2.05, 2, dedup="")
        b.incident(1, created=1.02, dedup="")
        b.incident(2, created=2.02, dedup="")
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 0, summary["violations"])


class AckQuietTest(CheckerTest):
    """Pages after a confirmed acknowledgement."""

    def test_page_after_ack(self):
        b = clean_builder()
        b.page(6.5, 1, level=1, repeat=1)
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 1)
        self.assert_only(summary, "ack-quiet", 1)
        found = self.violations(summary, "ack-quiet")[0]
        self.assertIn("level 1, repeat 1", found)
        self.assertIn("450 ms after its ack", found)

    def test_page_within_the_slack_is_fine(self):
        b = clean_builder()
        b.page(6.12, 1, level=2)
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 0, summary["violations"])

    def test_page_sent_before_the_ack_and_held_up_is_fine(self):
        b = clean_builder()
        b.page(6.5, 1, level=1, repeat=1, sent=6.0)
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 0, summary["violations"])

    def test_page_sent_after_the_ack_counts(self):
        b = clean_builder()
        b.page(6.5, 1, level=1, repeat=1, sent=6.3)
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 1)
        self.assert_only(summary, "ack-quiet", 1)

    def test_moved_clocks_leave_only_the_arrival(self):
        b = clean_builder()
        b.fault(1.0, 2.0, kind="clock-jump", nodes=(1,))
        b.page(6.5, 1, level=1, repeat=1, sent=6.0)
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 1)
        self.assert_only(summary, "ack-quiet", 1)

    def test_duplicate_after_ack_counts(self):
        b = clean_builder()
        b.page(7.0, 1, level=2, key=b.pages[2]["idempotency_key"])
        _, summary, _, _ = self.run_checker(b)
        self.assert_only(summary, "ack-quiet", 1)


def escalating_builder(majority):
    """An incident nobody acknowledges for 14 s: level 1 on time, then,
    during a partition from 4 s to 10 s that left a majority (or not),
    level 2 paged 4.6 s late and repeat 1 level 1 never paged; repeat 1
    level 2 is overtaken by the ack."""
    b = RunBuilder()
    b.leader(0, 30, 1)
    b.trigger(1, 1.0, 1.05, 1)
    b.incident(1, created=1.02, acked=14.02)
    b.page(1.1, 1, level=1)
    b.fault(4.0, 10.0, "partition", majority=majority, nodes=[1, 2, 3])
    b.page(9.62, 1, level=2)                   # due 5.02
    # repeat 1: level 1 due 9.02, level 2 due 13.02
    b.ack(1, 14.0, 14.05, 1)
    return b


class LivenessTest(CheckerTest):
    """Escalation steps paged late or never."""

    def test_late_and_missing_levels_with_a_majority(self):
        status, summary, _, _ = self.run_checker(escalating_builder(True))
        self.assertEqual(status, 1)
        self.assert_only(summary, "liveness", 2)
        missing, late = self.violations(summary, "liveness")
        self.assertIn("level 2 repeat 0", late)
        self.assertIn("4600 ms late", late)
        self.assertIn("level 1 repeat 1", missing)
        self.assertIn("never paged", missing)
        live = summary["figures"]["liveness"]
        self.assertEqual((live["expected"], live["late"], live["missing"],
                          live["overtaken_by_ack"]), (4, 1, 1, 1))

    def test_not_flagged_without_a_majority(self):
        status, summary, _, _ = self.run_checker(escalating_builder(False))
        self.assertEqual(status, 0, summary["violations"])
        live = summary["figures"]["liveness"]
        self.assertEqual((live["expected"], live["excused_by_fault"]), (0, 4))

    def test_checked_away_from_a_fault_without_majority(self):
        b = RunBuilder()
        b.fault(0.5, 1.0, "dc-loss", majority=False, nodes=[1, 2])
        b.trigger(1, 1.0, 1.05, 1)
        b.incident(1, created=1.02, acked=14.02)
        b.ack(1, 14.0, 14.05, 1)
        b.page(9.1, 1, level=1, repeat=1)
        status, summary, _, _ = self.run_checker(b)
        self.assert_only(summary, "liveness", 1)
        self.assertIn("level 2 repeat 0, due +5.020s, was never paged",
                      self.violations(summary, "liveness")[0])

    def test_ack_may_overtake_a_due_page(self):
        b = RunBuilder()
        b.trigger(1, 1.0, 1.05, 1)
        b.page(1.1, 1, level=1)
        b.ack(1, 5.5, 5.55, 1)                 # level 2 was due at 5.02
        b.incident(1, created=1.02, acked=5.52)
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 0, summary["violations"])

    def test_levels_paged_in_time_pass(self):
        b = escalating_builder(True)
        b.page(9.1, 1, level=1, repeat=1)
        b.page(5.1, 1, level=2)
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 0, summary["violations"])

    def test_acknowledged_twice(self):
        # klaxond keeps the last ack time; the first ack (indeterminate)
        # took effect before level 2 was due
        b = RunBuilder()
        b.trigger(1, 1.0, 1.05, 1)
        b.page(1.1, 1, level=1)
        b.ack(1, 3.0, 3.5, 1, outcome="info")
        b.ack(2, 10.0, 10.05, 1)
        b.incident(1, created=1.02, acked=10.02)
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 0, summary["violations"])

    def test_incident_stamped_by_a_skewed_clock(self):
        # the leader's clock was 2 minutes behind when it opened incident 1
        b = RunBuilder()
        b.fault(0.5, 2.0, "clock-jump", majority=False, nodes=[1])
        b.trigger(1, 1.0, 1.05, 1)
        b.incident(1, created=1.02)
        b.incidents[1]["created_ms"] -= 120000
        b.page(1.1, 1, level=1)
        b.page(5.1, 1, level=2)
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 0, summary["violations"])
        live = summary["figures"]["liveness"]
        self.assertEqual((live["expected"], live["excused_by_clock"]), (0, 4))

    def test_levels_due_at_the_end_are_not_checked(self):
        b = RunBuilder()
        b.trigger(1, 1.0, 1.05, 1)
        b.incident(1, created=1.02)
        b.page(1.1, 1, level=1)
        # level 2 is due at 5.02 and may be 4 s late: after the last line
        status, summary, _, _ = self.run_checker(b, end=8.0)
        self.assertEqual(status, 0, summary["violations"])

    def test_non_escalating_services_are_not_checked(self):
        b = RunBuilder(escalating=("svc9",))
        b.trigger(1, 1.0, 1.05, 1)
        b.incident(1, created=1.02)
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 0, summary["violations"])


def reg(kind, value, call, ret):
    """A RegisterOp without a history operation."""
    return checker.RegisterOp(kind, value, call, ret, None)


class LinearizabilityTest(CheckerTest):
    """Incident histories no order explains, and the search itself."""

    def test_stale_read(self):
        b = RunBuilder(escalating=())
        b.trigger(1, 1.0, 1.05, 1)
        b.resolve(1, 2.0, 2.05, 1)
        stale = b.get(2, 3.0, 3.05, 1, "triggered")
        b.incident(1, created=1.02, resolved=2.02)
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 1)
        self.assert_only(summary, "linearizability", 1)
        found = summary["violations"][0]
        self.assertEqual(found["incident"], 1)
        self.assertEqual(len(found["details"]), 3)
        self.assertIn("op %d" % stale, found["details"][2])

    def test_concurrent_read_may_see_either(self):
        b = RunBuilder(escalating=())
        b.trigger(1, 1.0, 1.05, 1)
        b.resolve(1, 2.0, 2.5, 1)
        b.get(2, 2.1, 2.2, 1, "triggered")
        b.get(3, 2.3, 2.4, 1, "resolved")
        b.incident(1, created=1.02, resolved=2.02)
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 0, summary["violations"])

    def test_indeterminate_resolve_that_cannot_explain(self):
        b = RunBuilder(escalating=())
        b.trigger(1, 1.0, 1.05, 1)
        b.resolve(2, 2.0, 3.0, 1, outcome="info")
        b.get(1, 4.0, 4.05, 1, "resolved")
        b.get(1, 5.0, 5.05, 1, "triggered")
        b.incident(1, created=1.02, resolved=2.5)
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 1)
        self.assert_only(summary, "linearizability", 1)
        self.assertIn("info timeout", summary["violations"][0]["details"][1])

    def test_indeterminate_resolve_needed(self):
        b = RunBuilder(escalating=())
        b.trigger(1, 1.0, 1.05, 1)
        b.resolve(2, 2.0, 3.0, 1, outcome="info")
        b.get(1, 4.0, 4.05, 1, "resolved")
        b.ack(1, 5.0, 5.05, 1, outcome="fail", error="state")
        b.incident(1, created=1.02, resolved=2.5)
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 0, summary["violations"])

    def test_operation_without_completion_is_indeterminate(self):
        b = RunBuilder(escalating=())
        b.trigger(1, 1.0, 1.05, 1)
        b.ack(2, 2.0, None, 1, outcome=None)
        b.get(1, 4.0, 4.05, 1, "acknowledged")
        b.incident(1, created=1.02, acked=2.5)
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 0, summary["violations"])
        self.assertEqual(summary["figures"]["operations"]["ack"]["info"], 1)

    def test_deduplicated_trigger_cannot_attach_to_resolved(self):
        b = RunBuilder(escalating=())
        b.trigger(1, 1.0, 1.05, 1)
        b.resolve(1, 2.0, 2.05, 1)
        b.trigger(2, 3.0, 3.05, 1, deduplicated=True, status="resolved")
        b.incident(1, created=1.02, resolved=2.02)
        _, summary, _, _ = self.run_checker(b)
        self.assert_only(summary, "linearizability", 1)

    def test_incident_created_by_an_indeterminate_trigger(self):
        b = RunBuilder(escalating=())
        b.trigger(1, 1.0, 2.0, None, outcome="info")
        b.trigger(2, 3.0, 3.05, 1, deduplicated=True)
        b.ack(2, 4.0, 4.05, 1)
        b.get(2, 5.0, 5.05, 1, "acknowledged")
        b.incident(1, created=1.5, acked=4.02)
        status, summary, _, _ = self.run_checker(b)
        self.assertEqual(status, 0, summary["violations"])

    def test_search_in_order_and_out_of_order(self):
        ops = [reg("create", "triggered", 0, 1),
               reg("ack", "acknowledged", 2, 5),
               reg("read", "triggered", 3, 4),
               reg("read", "acknowledged", 6, 7)]
        self.assertTrue(checker.linearizable(ops, checker.NONE))
        ops.append(reg("read", "triggered", 8, 9))
        self.assertFalse(checker.linearizable(ops, checker.NONE))

    def test_indeterminate_ops_may_never_happen(self):
        ops = [reg("create", "triggered", 0, 1),
               reg("resolve", None, 2, math.inf),
               reg("read", "triggered", 3, 4)]
        self.assertTrue(checker.linearizable(ops, checker.NONE))

    def test_search_agrees_with_brute_force(self):
        rng = random.Random(11)
        outcomes = set()
        for _ in range(600):
            ops, initial = modelled_history(rng, rng.randint(1, 6), 8.0,
                                            corrupt=0.15)
            expected = brute_force_linearizable(ops, initial)
            self.assertEqual(checker.linearizable(ops, initial), expected,
                             (initial, ops))
            outcomes.add(expected)
        self.assertEqual(outcomes, {True, False})

    def test_thirty_ops_with_indeterminate_ones_are_quick(self):
        rng = random.Random(3)
        ops, initial = modelled_history(rng, 30, 3.0, info=0.7)
        self.assertGreaterEqual(sum(math.isinf(r.ret) for r in ops), 5)
        impossible = [reg("resolve", "resolved", 20.0, 20.1),
                      reg("read", "triggered", 21.0, 21.1)]
        for history, expected in ((ops, True), (ops + impossible, False)):
            started = time.perf_counter()
            self.assertEqual(checker.linearizable(history, initial), expected)
            self.assertLess(time.perf_counter() - started, 0.2)

    def test_long_busy_incident_is_quick(self):
        rng = random.Random(4)
        ops, initial = modelled_history(rng, 3000, 60.0, info=0.2)
        impossible = [reg("resolve", "resolved", 100.0, 100.1),
                      reg("read", "triggered", 101.0, 101.1)]
        started = time.perf_counter()
        self.assertFalse(checker.linearizable(ops + impossible, initial))
        self.assertLess(time.perf_counter() - started, 2.0)


def modelled_history(rng, n, span, info=0.3, corrupt=0.0):
    """Random operations on one incident, n of them called within `span`
    seconds and taking up to 2 s, their results those of the model applied
    at a random moment of each (a share `info` indeterminate, a share
    `corrupt` of results replaced by a random status). Returns (ops, the
    initial state)."""
    initial = rng.choice((checker.NONE, checker.TRIGGERED))
    timed = []
    for _ in range(n):
        call = rng.uniform(0, span)
        effect = call + rng.uniform(0, 1)
        kind = rng.choice(("create", "attach", "ack", "resolve", "read",
                           "ack"))
        timed.append((effect, call, effect + rng.uniform(0, 1), kind))
    state, ops = initial, []
    for _, call, ret, kind in sorted(timed):
        new = checker.step(state, kind, None)
        if kind in ("ack", "resolve") and rng.random() < info:
            state = new if new is not None and rng.random() < 0.6 else state
            ops.append(reg(kind, None, call, math.inf))
        elif new is None and kind in ("ack", "resolve"):
            ops.append(reg("read", checker.RESOLVED, call, ret))
        elif new is not None:
            state = new
            if rng.random() < corrupt:
                new = rng.choice(checker.OPEN_STATES + (checker.RESOLVED,))
            ops.append(reg(kind, new, call, ret))
    return ops, initial


def brute_force_linearizable(ops, initial):
    """Whether some subset of the indeterminate operations and order of
    everything chosen respects real time and the model (tries them all)."""
    determinate = [r for r in ops if not math.isinf(r.ret)]
    indeterminate = [r for r in ops if math.isinf(r.ret)]
    for k in range(len(indeterminate) + 1):
        for chosen in itertools.combinations(indeterminate, k):
            for order in itertools.permutations(determinate + list(chosen)):
                if respects_real_time(order) and legal(order, initial):
                    return True
    return False


def respects_real_time(order):
    """No operation comes after one that was called after it returned."""
    return all(not later.ret < earlier.call
               for n, earlier in enumerate(order) for later in order[n + 1:])


def legal(order, initial):
    """The model accepts the operations in this order."""
    state = initial
    for r in order:
        state = checker.step(state, r.kind, r.value)
        if state is None:
            return False
    return True


class ConvergenceTest(CheckerTest):
    """Nodes that end with different states."""

    def test_nodes_disagree(self):
        b = clean_builder()
        changed = dict(b.incidents[2], status="acknowledged",
                       acknowledged_ms=ms(11.0))
        status, summary, _, _ = self.run_checker(
            b, finals={2: [b.incidents[1], changed]}, applied={2: 101})
        self.assertEqual(status, 1)
        self.assert_only(summary, "convergence", 1)
        found = summary["violations"][0]
        self.assertIn("nodes 1, 3; node 2", found["summary"])
        self.assertIn("first differing incident: 2", found["details"])

    def test_node_without_final_state(self):
        b = clean_builder()
        b.config["nodes"] = [1, 2, 3, 4]
        b.finish()
        b.lines = [line for line in b.lines
                   if line.get("type") != "final" or line["node"] != 4]
        status, summary, _, _ = self.run_checker(b, finish=False)
        self.assertEqual(status, 1)
        self.assertIn("node 4 reported no final state",
                      self.violations(summary, "convergence"))


class InputTest(CheckerTest):
    """Input the checker cannot read: exit status 2 and a message."""

    def write_history(self, lines):
        """A history.jsonl of raw text lines."""
        with open(os.path.join(self.dir, "history.jsonl"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def expect_unreadable(self, *needles):
        """The checker exits 2 and says where and why."""
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(err):
            self.assertEqual(checker.main([self.dir]), 2)
        for needle in needles:
            self.assertIn(needle, err.getvalue())

    def test_not_json(self):
        config = json.dumps(RunBuilder().config)
        self.write_history([config, '{"t": 1, "type": "heal"}', '{"t": 2,'])
        self.expect_unreadable("history.jsonl line 3", "not JSON")

    def test_missing_history(self):
        self.expect_unreadable("history.jsonl", "cannot read")

    def test_first_line_is_not_config(self):
        self.write_history(['{"t": 1, "type": "heal"}'])
        self.expect_unreadable("history.jsonl line 1", "config")

    def test_completion_without_invocation(self):
        config = json.dumps(RunBuilder().config)
        self.write_history([config, json.dumps(
            {"t": T0 + 1, "type": "ok", "id": 9, "process": 1,
             "f": "get", "status": "triggered"})])
        self.expect_unreadable("history.jsonl line 2", "never invoked")

    def test_missing_field(self):
        config = json.dumps(RunBuilder().config)
        self.write_history([config, json.dumps(
            {"t": T0 + 1, "type": "invoke", "id": 1, "process": 1,
             "f": "ack"})])
        self.expect_unreadable("history.jsonl line 2", "'incident'")

    def test_bad_page(self):
        RunBuilder().write(self.dir)
        with open(os.path.join(self.dir, "pages.jsonl"), "w") as f:
            f.write('{"t": "soon"}\n')
        self.expect_unreadable("pages.jsonl line 1", "'t'")


class PlotTest(CheckerTest):
    """The SVG plot."""

    def plot(self, builder):
        """The plot of a run, parsed as XML."""
        self.run_checker(builder)
        return ElementTree.parse(os.path.join(self.dir, "plot.svg"))

    def test_well_formed_with_fault_bands(self):
        b = clean_builder()
        b.fault(12.0, 14.0, "partition", majority=False, nodes=[1, 2])
        root = self.plot(b).getroot()
        self.assertEqual(root.tag, SVG + "svg")
        bands = [r for r in root.iter(SVG + "rect")
                 if "fault" in r.get("class", "").split()
                 and r.find(SVG + "title") is not None]
        self.assertEqual(len(bands), 2)
        texts = [t.text or "" for t in root.iter(SVG + "text")]
        self.assertIn("kill [1] 2.9-4.5s", texts)
        self.assertIn("partition [1, 2] 12.0-14.0s", texts)

    def test_marks_operations_pages_and_violations(self):
        b = clean_builder()
        b.page(6.5, 1, level=1, repeat=1)
        root = self.plot(b).getroot()
        classes = [e.get("class") for e in root.iter()]
        self.assertEqual(classes.count("ok"), 8 + 1)   # + legend
        self.assertEqual(classes.count("fail"), 1 + 1)
        self.assertEqual(classes.count("dup"), 1 + 1)
        self.assertEqual(classes.count("violation"), 1 + 1)
        self.assertEqual(classes.count("gap"), 1)


class Cluster:
    """A correct, sequential klaxon for synthetic histories: incidents and
    the open dedup index, changed at each operation's moment of effect."""

    def __init__(self):
        self.incidents = {}
        self.open = {}

    def trigger(self, t, service, dedup):
        """Opens an incident or attaches to the open one of the key."""
        key = (service, dedup)
        if key in self.open:
            incident = self.incidents[self.open[key]]
            incident["alert_count"] += 1
            return "ok", {"incident": incident["id"], "deduplicated": True,
                          "status": incident["status"]}
        incident_id = len(self.incidents) + 1
        self.incidents[incident_id] = {
            "id": incident_id, "service": service, "dedup_key": dedup,
            "status": "triggered", "created_ms": ms(t),
            "acknowledged_ms": 0, "acknowledged_by": "", "resolved_ms": 0,
            "alert_count": 1, "escalation_level": 1, "escalation_loop": 0,
            "unanswered": False}
        self.open[key] = incident_id
        return "ok", {"incident": incident_id, "deduplicated": False,
                      "status": "triggered"}

    def change(self, t, f, incident_id):
        """An ack, resolve or get."""
        incident = self.incidents[incident_id]
        if f == "get":
            return "ok", {"incident": incident_id,
                          "status": incident["status"]}
        if incident["status"] == "resolved":
            return "fail", {"incident": incident_id, "error": "state"}
        if f == "ack":
            incident["status"] = "acknowledged"
            incident["acknowledged_ms"] = incident["acknowledged_ms"] or ms(t)
        else:
            incident["status"] = "resolved"
            incident["resolved_ms"] = ms(t)
            del self.open[(incident["service"], incident["dedup_key"])]
        return "ok", {"incident": incident_id, "status": incident["status"]}


def random_op(rng, known):
    """The next operation a process starts: (f, args)."""
    if not known or rng.random() < 0.35:
        return "trigger", {"service": "svc%d" % rng.randrange(3),
                           "dedup": "k%d" % rng.randrange(4), "severity": 1}
    f = rng.choice(("ack", "resolve", "get", "get"))
    return f, {"incident": rng.choice(known[-20:])}


def simulate(n_ops, processes=10, seed=7):
    """A clean synthetic run of n_ops operations by concurrent processes
    against Cluster, with its pages; returns the RunBuilder."""
    rng = random.Random(seed)
    b = RunBuilder(escalating=("svc0", "svc1"))
    cluster, known, queue, started = Cluster(), [], [], 0
    order = itertools.count()

    def schedule(t, kind, p, op=None):
        heapq.heappush(queue, (t, next(order), kind, p, op))

    for p in range(processes):
        schedule(0.5 + p * 0.003, "invoke", p)
    while queue:
        t, _, kind, p, op = heapq.heappop(queue)
        if kind == "invoke" and started < n_ops:
            started += 1
            f, args = random_op(rng, known)
            op = {"f": f, "args": args, "start": t,
                  "info": rng.random() < 0.03}
            effect = t + rng.uniform(0.001, 0.02)
            if op["info"] and rng.random() < 0.5:
                op["result"] = None
                schedule(t + 0.5, "complete", p, op)
            else:
                schedule(effect, "effect", p, op)
        elif kind == "effect":
            if op["f"] == "trigger":
                op["result"] = cluster.trigger(t, op["args"]["service"],
                                               op["args"]["dedup"])
            else:
                op["result"] = cluster.change(t, op["f"],
                                              op["args"]["incident"])
            done = max(t + rng.uniform(0.001, 0.02),
                       op["start"] + (0.5 if op["info"] else 0))
            schedule(done, "complete", p, op)
        elif kind == "complete":
            record(b, p, op, t, known)
            schedule(t + rng.uniform(0, 0.01), "invoke", p)
    end = max(o["t"] for o in b.lines) - T0 + 4
    b.incidents = cluster.incidents
    b.leader(0, end, 1)
    page_all(b, rng)
    b.finish(end=end)
    return b


def record(b, process, op, t, known):
    """Writes a simulated operation into the builder."""
    outcome, result = (("info", {"error": "timeout"}) if op["info"]
                       else op["result"])
    b.op(process, op["f"], op["start"], t, outcome, op["args"], result)
    if outcome == "ok" and op["f"] == "trigger":
        known.append(result["incident"])


def page_all(b, rng):
    """Pages every escalation step before the incident's ack or resolve,
    some of them twice."""
    config = checker.parse_config(checker.Line("", 1, b.config))
    for incident in b.incidents.values():
        if incident["service"] not in config.escalating:
            continue
        stop = min([x for x in (incident["acknowledged_ms"],
                                incident["resolved_ms"]) if x] or [math.inf])
        for repeat, level, due in checker.due_levels(config,
                                                     incident["created_ms"]):
            if due >= stop:
                break
            t = due / 1000.0 - T0 + rng.uniform(0.005, 0.06)
            key = b.page(t, incident["id"], level, repeat)
            if rng.random() < 0.05 and due + 200 < stop:
                b.page(t + 0.02, incident["id"], level, repeat, key=key)


class ScaleTest(CheckerTest):
    """A long synthetic run."""

    def test_synthetic_run_passes_in_time(self):
        b = simulate(int(os.environ.get("CHAOS_TEST_OPS", "20000")))
        started = time.perf_counter()
        status, summary, _, _ = self.run_checker(b, finish=False)
        elapsed = time.perf_counter() - started
        self.assertEqual(status, 0, summary["violations"][:5])
        self.assertGreater(summary["figures"]["liveness"]["expected"], 100)
        self.assertGreater(summary["figures"]["pages"]["duplicates"], 0)
        self.assertLess(elapsed, 20.0)


if __name__ == "__main__":
    unittest.main()
