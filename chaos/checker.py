#!/usr/bin/env python3
"""Checks a chaos run of klaxon against the cluster's guarantees.

    python3 chaos/checker.py RUN_DIR [--quiet]

Reads RUN_DIR/history.jsonl and RUN_DIR/pages.jsonl (chaos/HISTORY.md says
what each line means), runs the checks below, writes RUN_DIR/summary.json,
RUN_DIR/report.txt and RUN_DIR/plot.svg, and prints the report (only its
verdict line with --quiet).

Exit status: 0 no violation, 1 at least one violation, 2 the input could not
be read (the message names the file, the line and the reason).

Checks:
  durability       every write the client was told succeeded is in the final
                   state of every node
  idempotency      no dedup key has two open incidents at once
  ack-quiet        no page for an incident arrives after its acknowledgement
                   (or resolution) was confirmed, beyond a slack
  liveness         every escalation level falls due and is paged in time while
                   a majority is up and connected
  linearizability  each incident's status register is linearizable (Wing and
                   Gong's search, with Lowe's memoization)
  convergence      all nodes end with the same incidents and applied index

Standard library only; importable (the tests call these functions).
"""

import argparse
import collections
import json
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass, field

import plot

HISTORY_FILE = "history.jsonl"
PAGES_FILE = "pages.jsonl"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.txt"
PLOT_FILE = "plot.svg"

CHECKS = ("durability", "idempotency", "ack-quiet", "liveness",
          "linearizability", "convergence")
FUNCTIONS = ("trigger", "ack", "resolve", "get")
OUTCOMES = ("ok", "fail", "info")
REPORT_LIMIT = 20  # violations per check spelled out in report.txt
DETAIL_LIMIT = 30  # lines of details per violation in report.txt

NONE, TRIGGERED, ACKNOWLEDGED, RESOLVED = (
    "none", "triggered", "acknowledged", "resolved")
OPEN_STATES = (TRIGGERED, ACKNOWLEDGED)


# --- input -------------------------------------------------------------------


class InputError(Exception):
    """Input the checker cannot read: which file, which line, why."""

    def __init__(self, path, line, why):
        where = path if line is None else "%s line %d" % (path, line)
        super().__init__("%s: %s" % (where, why))


class Line:
    """One JSON object of an input file, with typed field access whose
    errors name the file and line."""

    KINDS = {
        "int": (lambda v: isinstance(v, int) and not isinstance(v, bool),
                "an integer"),
        "number": (lambda v: isinstance(v, (int, float))
                   and not isinstance(v, bool), "a number"),
        "str": (lambda v: isinstance(v, str), "a string"),
        "bool": (lambda v: isinstance(v, bool), "true or false"),
        "list": (lambda v: isinstance(v, list), "a list"),
        "dict": (lambda v: isinstance(v, dict), "an object"),
    }
    REQUIRED = object()

    def __init__(self, path, number, obj):
        self.path = path
        self.number = number
        self.obj = obj

    def error(self, why):
        """An InputError at this line."""
        return InputError(self.path, self.number, why)

    def get(self, key, kind, default=REQUIRED):
        """Field `key`, which must be of `kind` (see KINDS) when present."""
        if key not in self.obj or self.obj[key] is None:
            if default is Line.REQUIRED:
                raise self.error("field '%s' is missing" % key)
            return default
        value = self.obj[key]
        accept, name = Line.KINDS[kind]
        if not accept(value):
            raise self.error("field '%s' is %s, not %s"
                             % (key, json.dumps(value)[:40], name))
        return value

    def sub(self, obj):
        """A Line for an object nested in this one (same file and line)."""
        if not isinstance(obj, dict):
            raise self.error("%s is not an object" % json.dumps(obj)[:40])
        return Line(self.path, self.number, obj)


def read_lines(path, missing_ok=False):
    """The JSON objects of a JSON-lines file as Lines (blank lines skipped).
    A missing file is an error unless `missing_ok`, then it has no lines."""
    name = os.path.basename(path)
    if missing_ok and not os.path.exists(path):
        return []
    try:
        with open(path, encoding="utf-8") as f:
            texts = f.read().split("\n")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(name, None, "cannot read (%s)" % e) from None
    lines = []
    for number, text in enumerate(texts, 1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except ValueError as e:
            raise InputError(name, number, "not JSON (%s)" % e) from None
        if not isinstance(obj, dict):
            raise InputError(name, number, "not a JSON object")
        line = Line(name, number, obj)
        line.get("t", "number")
        lines.append(line)
    return lines


@dataclass
class Config:
    """The run's configuration (the first line of history.jsonl)."""
    t: float
    scenario: str
    seed: object
    nodes: list
    timeouts_ms: list
    repeat: int
    escalating: set
    allowed_lateness_ms: float
    ack_quiet_slack_ms: float


@dataclass
class Op:
    """One workload operation: its invocation and (maybe) its completion."""
    id: int
    process: object
    f: str
    invoke_t: float
    args: dict
    outcome: str = None        # ok, fail, info; None: never completed
    complete_t: float = None
    result: dict = field(default_factory=dict)

    @property
    def incident(self):
        """The incident it names (ack, resolve, get) or returned (trigger)."""
        return self.result.get("incident", self.args.get("incident"))


@dataclass
class Fault:
    """One nemesis fault, from its start to its end."""
    kind: str
    start: float
    end: float
    nodes: list
    majority: bool
    detail: str


@dataclass
class Page:
    """One page that arrived at the receiver."""
    t: float
    key: str
    type: str
    incident: int
    level: int
    repeat: int
    page_id: int
    line: int
    sent_t: float = None  # when the leader started sending it (its clock)


@dataclass
class Final:
    """One node's final state: its applied index and incidents by id."""
    node: int
    applied_index: int
    incidents: dict
    t: float


@dataclass
class Run:
    """Everything a chaos run recorded."""
    config: Config
    ops: list = field(default_factory=list)       # by invocation time
    faults: list = field(default_factory=list)
    leaders: list = field(default_factory=list)   # (t, node)
    pages: list = field(default_factory=list)     # by arrival
    finals: list = field(default_factory=list)    # by node
    workload_end_t: float = None
    heal_t: float = None
    converged_after_s: float = None
    last_t: float = 0.0

    @property
    def start_t(self):
        """When the run started (its configuration line)."""
        return self.config.t

    @property
    def end_t(self):
        """The last moment anything was recorded."""
        return max([self.last_t] + [p.t for p in self.pages[-1:]])


def parse_config(line):
    """The Config of the first history line."""
    if line.get("type", "str") != "config":
        raise line.error("the first line must be the config line")
    policy = line.sub(line.get("policy", "dict"))
    timeouts = [line.sub(level).get("timeout_ms", "number")
                for level in policy.get("levels", "list")]
    return Config(
        t=line.get("t", "number"),
        scenario=line.get("scenario", "str", ""),
        seed=line.obj.get("seed"),
        nodes=line.get("nodes", "list", []),
        timeouts_ms=timeouts,
        repeat=policy.get("repeat", "int", 0),
        escalating=set(line.get("escalating_services", "list")),
        allowed_lateness_ms=line.get("allowed_lateness_ms", "number"),
        ack_quiet_slack_ms=line.get("ack_quiet_slack_ms", "number"))


class HistoryParser:
    """Builds a Run from the lines of history.jsonl, one handler per type."""

    def __init__(self, config_line):
        self.run = Run(config=parse_config(config_line))
        self.ops = {}
        self.open_faults = []
        self.handlers = {
            "invoke": self.invoke, "ok": self.complete,
            "fail": self.complete, "info": self.complete,
            "nemesis": self.nemesis, "leader": self.leader,
            "workload-end": self.workload_end, "heal": self.heal,
            "converged": self.converged, "final": self.final,
        }

    def feed(self, line):
        """Takes one line; types it does not know are ignored."""
        self.run.last_t = max(self.run.last_t, line.get("t", "number"))
        handler = self.handlers.get(line.get("type", "str"))
        if handler is not None:
            handler(line)

    def invoke(self, line):
        """An operation starts."""
        op_id = line.get("id", "int")
        if op_id in self.ops:
            raise line.error("operation id %d invoked twice" % op_id)
        f = line.get("f", "str")
        if f not in FUNCTIONS:
            raise line.error("unknown operation f=%s" % json.dumps(f))
        if f == "trigger":
            line.get("service", "str")
            line.get("dedup", "str")
        else:
            line.get("incident", "int")
        self.ops[op_id] = Op(id=op_id, process=line.obj.get("process"), f=f,
                             invoke_t=line.get("t", "number"),
                             args=line.obj)

    def complete(self, line):
        """An operation ends: ok, fail or info."""
        op = self.ops.get(line.get("id", "int"))
        if op is None:
            raise line.error("completion of operation %d, never invoked"
                             % line.obj["id"])
        if op.outcome is not None:
            raise line.error("operation %d completed twice" % op.id)
        op.outcome = line.obj["type"]
        op.complete_t = line.get("t", "number")
        op.result = line.obj
        if op.outcome == "ok":
            self.check_ok_result(op, line)
        elif op.outcome == "fail":
            line.get("error", "str")

    @staticmethod
    def check_ok_result(op, line):
        """The fields a successful operation must return."""
        if op.f == "trigger":
            line.get("incident", "int")
            line.get("deduplicated", "bool")
            line.get("status", "str")
        elif op.f == "get":
            line.get("status", "str")
        else:
            line.get("status", "str", None)

    def nemesis(self, line):
        """A fault starts or ends."""
        phase = line.get("phase", "str")
        kind = line.get("fault", "str")
        t = line.get("t", "number")
        if phase == "start":
            self.open_faults.append(Fault(
                kind=kind, start=t, end=None,
                nodes=line.get("nodes", "list", []),
                majority=line.get("majority", "bool"),
                detail=line.get("detail", "str", "")))
        elif phase == "end":
            self.end_fault(line, kind, t)
        else:
            raise line.error("phase must be start or end")

    def end_fault(self, line, kind, t):
        """Closes the open fault of that kind."""
        for fault in reversed(self.open_faults):
            if fault.kind == kind:
                fault.end = t
                self.open_faults.remove(fault)
                self.run.faults.append(fault)
                return
        raise line.error("end of a %s fault that never started" % kind)

    def leader(self, line):
        """A leadership sample."""
        self.run.leaders.append((line.get("t", "number"),
                                 line.get("leader", "int")))

    def workload_end(self, line):
        """The workload stopped starting operations."""
        self.run.workload_end_t = line.get("t", "number")

    def heal(self, line):
        """Every fault ended."""
        self.run.heal_t = line.get("t", "number")

    def converged(self, line):
        """The nodes agreed this long after the heal."""
        self.run.converged_after_s = line.get("after_s", "number")

    def final(self, line):
        """One node's final state."""
        incidents = {}
        for raw in line.get("incidents", "list"):
            incident = parse_final_incident(line.sub(raw))
            incidents[incident["id"]] = incident
        self.run.finals.append(Final(
            node=line.get("node", "int"),
            applied_index=line.get("applied_index", "int"),
            incidents=incidents, t=line.get("t", "number")))

    def finish(self):
        """The Run, with faults that never ended closed at the last line."""
        for fault in self.open_faults:
            fault.end = self.run.last_t
            self.run.faults.append(fault)
        self.run.faults.sort(key=lambda f: f.start)
        self.run.ops = sorted(self.ops.values(),
                              key=lambda o: (o.invoke_t, o.id))
        self.run.leaders.sort()
        self.run.finals.sort(key=lambda f: f.node)
        return self.run


def parse_final_incident(line):
    """One incident of a final line, its fields checked."""
    for key, kind in (("id", "int"), ("service", "str"),
                      ("dedup_key", "str"), ("status", "str"),
                      ("created_ms", "number"), ("acknowledged_ms", "number"),
                      ("resolved_ms", "number")):
        line.get(key, kind)
    return line.obj


def parse_history(lines):
    """The Run described by the Lines of history.jsonl."""
    if not lines:
        raise InputError(HISTORY_FILE, None, "empty (no config line)")
    parser = HistoryParser(lines[0])
    for line in lines[1:]:
        parser.feed(line)
    return parser.finish()


def email_key(data):
    """The idempotency key in the headers of an e-mail page."""
    for header in data.split("\n"):
        if header.strip() == "":
            break
        name, _, value = header.partition(":")
        if name.strip().lower() == "x-klaxon-idempotency-key":
            return value.strip()
    return None


def page_body(line):
    """The page document of a pages.jsonl line as a Line, or None (e-mail
    pages and bodies that are not JSON objects)."""
    body = line.obj.get("body")
    return line.sub(body) if isinstance(body, dict) else None


def parse_page(line):
    """The Page of one pages.jsonl line."""
    body = page_body(line)

    def of_body(key, kind):
        return None if body is None else body.get(key, kind, None)

    incident = of_body("incident", "dict") or {}
    key = line.get("idempotency_key", "str", None)
    if key is None and line.obj.get("channel") == "email":
        key = email_key(line.get("data", "str", ""))
    sent_ms = of_body("sent_ms", "int")
    return Page(
        t=line.get("t", "number"), key=key, type=of_body("type", "str"),
        incident=incident.get("id"),
        level=of_body("level", "int"), repeat=of_body("repeat", "int"),
        page_id=of_body("page_id", "int"), line=line.number,
        sent_t=sent_ms / 1000.0 if sent_ms is not None else None)


def load_run(run_dir):
    """Reads a run directory (a pages.jsonl that does not exist: no page
    arrived, since the receiver creates it with the first one)."""
    run = parse_history(read_lines(os.path.join(run_dir, HISTORY_FILE)))
    pages = read_lines(os.path.join(run_dir, PAGES_FILE), missing_ok=True)
    run.pages = sorted((parse_page(line) for line in pages),
                       key=lambda p: (p.t, p.line))
    return run


# --- results -----------------------------------------------------------------


@dataclass
class Violation:
    """One broken guarantee, with what shows it."""
    check: str
    t: float                 # the host time it happened at, for the plot
    summary: str
    details: list = field(default_factory=list)
    incident: int = None

    def to_json(self):
        """Its summary.json form."""
        return {"check": self.check, "t": self.t, "summary": self.summary,
                "details": self.details, "incident": self.incident}


@dataclass
class CheckResult:
    """What one check found: its violations, how much it checked, and any
    figures it measured."""
    violations: list
    checked: int
    figures: dict = field(default_factory=dict)


class Clock:
    """Formats the run's times relative to its start."""

    def __init__(self, start_t):
        self.start_t = start_t

    def t(self, t):
        """A host time (s) as seconds into the run."""
        if t is None:
            return "never"
        if math.isinf(t):
            return "+inf"
        return "+%.3fs" % (t - self.start_t)

    def ms(self, ms):
        """A klaxond time (ms) as seconds into the run."""
        return self.t(ms / 1000.0)


def describe_op(op, clock):
    """One line naming an operation: id, process, what, when, outcome."""
    if op.f == "trigger":
        what = "trigger %s/%s" % (op.args.get("service"),
                                  op.args.get("dedup"))
    else:
        what = "%s incident %s" % (op.f, op.args.get("incident"))
    return "op %d (process %s) %s, %s -> %s, %s" % (
        op.id, op.process, what, clock.t(op.invoke_t), clock.t(op.complete_t),
        describe_outcome(op))


def describe_outcome(op):
    """What an operation returned."""
    if op.outcome is None:
        return "no completion"
    if op.outcome != "ok":
        return "%s %s" % (op.outcome, op.result.get("error", ""))
    if op.f == "trigger":
        how = "deduplicated" if op.result["deduplicated"] else "new"
        return "ok: incident %d (%s, %s)" % (op.result["incident"], how,
                                             op.result["status"])
    return "ok: %s" % op.result.get("status", "")


def describe_page(page, clock):
    """One line naming a page that arrived."""
    return "page %s (key %s) incident %s level %s repeat %s, arrived %s" % (
        page.page_id, page.key, page.incident, page.level, page.repeat,
        clock.t(page.t))


def describe_incident(incident, clock):
    """One line giving an incident's final record."""
    def at(key):
        return clock.ms(incident[key]) if incident[key] else "-"
    return ("incident %d %s/%s %s: created %s, acknowledged %s, resolved %s"
            % (incident["id"], incident["service"], incident["dedup_key"],
               incident["status"], at("created_ms"), at("acknowledged_ms"),
               at("resolved_ms")))


# --- final states ------------------------------------------------------------


def canonical(value):
    """A JSON text that is equal for equal values."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def canonical_incidents(final):
    """A node's incident list in a form that compares as a whole."""
    return canonical([final.incidents[i] for i in sorted(final.incidents)])


def state_groups(finals):
    """The distinct final incident lists: (label, incidents by id), the one
    most nodes hold first."""
    groups = collections.OrderedDict()
    for final in finals:
        groups.setdefault(canonical_incidents(final), []).append(final)
    ordered = sorted(groups.values(), key=lambda g: (-len(g), g[0].node))
    return [(node_label(g, len(finals)), g[0].incidents) for g in ordered]


def node_label(finals, total):
    """'all 5 nodes', 'node 3' or 'nodes 1, 2'."""
    if len(finals) == total and total > 1:
        return "all %d nodes" % total
    nodes = ", ".join(str(f.node) for f in finals)
    return ("node " if len(finals) == 1 else "nodes ") + nodes


def reference_state(run):
    """The incidents most nodes agree on (empty when no node reported)."""
    groups = state_groups(run.finals)
    return groups[0][1] if groups else {}


def ok_ops(run, f):
    """The operations of kind `f` that succeeded, by completion."""
    ops = [op for op in run.ops if op.f == f and op.outcome == "ok"]
    return sorted(ops, key=lambda o: (o.complete_t, o.id))


# --- klaxond times against host times ---------------------------------------


def creating_triggers(run):
    """The successful trigger that opened each incident, by incident."""
    creators = {}
    for op in ok_ops(run, "trigger"):
        if not op.result["deduplicated"]:
            creators.setdefault(op.incident, op)
    return creators


def creation_skew_ms(incident, creator):
    """How far klaxond's created_ms lies outside the window of the trigger
    that opened the incident (ms; 0 inside it, or when that is unknown)."""
    if creator is None:
        return 0.0
    created = incident["created_ms"]
    return max(creator.invoke_t * 1000 - created,
               created - creator.complete_t * 1000, 0.0)


def resolution_seen(run):
    """The earliest host time an operation had seen each incident resolved
    (an ok operation returning resolved, or a refusal because it was)."""
    seen = {}
    for op in run.ops:
        refused = op.f in ("ack", "resolve") and op.outcome == "fail" \
            and op.result.get("error") == "state"
        saw = refused or (op.outcome == "ok"
                          and op.result.get("status") == RESOLVED)
        if saw and op.complete_t < seen.get(op.incident, math.inf):
            seen[op.incident] = op.complete_t
    return seen


def resolved_by(incident, seen_t, t):
    """Whether the incident was resolved by host time t: klaxond's
    resolved_ms says so, or an operation had seen it resolved (seen_t),
    which holds even when the resolving leader's clock was off."""
    if incident is None or not incident["resolved_ms"]:
        return False
    return incident["resolved_ms"] <= t * 1000 or seen_t <= t


# --- durability --------------------------------------------------------------


def durability_problem(op, incidents):
    """Why the final state contradicts a successful write, or None."""
    incident = incidents.get(op.incident)
    if incident is None:
        return "incident %d is missing" % op.incident
    if op.f == "trigger":
        if (incident["service"], incident["dedup_key"]) != (
                op.args["service"], op.args["dedup"]):
            return "incident %d is %s/%s" % (
                op.incident, incident["service"], incident["dedup_key"])
    elif op.f == "ack" and not incident["acknowledged_ms"]:
        return "incident %d was never acknowledged (%s)" % (
            op.incident, incident["status"])
    elif op.f == "resolve" and incident["status"] != RESOLVED:
        return "incident %d is %s" % (op.incident, incident["status"])
    return None


def check_durability(run):
    """Every ok trigger, ack and resolve is reflected in every distinct final
    state (one violation per write and group of nodes)."""
    clock = Clock(run.start_t)
    writes = [op for op in run.ops if op.outcome == "ok" and op.f != "get"]
    violations = []
    for label, incidents in state_groups(run.finals):
        for op in writes:
            problem = durability_problem(op, incidents)
            if problem is None:
                continue
            details = [describe_op(op, clock)]
            if op.incident in incidents:
                details.append(describe_incident(incidents[op.incident],
                                                 clock))
            violations.append(Violation(
                "durability", op.complete_t,
                "%s op %d succeeded, but on %s %s" % (
                    op.f, op.id, label, problem),
                details, op.incident))
    return CheckResult(violations, len(writes) * len(run.finals))


# --- idempotency -------------------------------------------------------------


def open_interval(incident):
    """[created, resolved) in ms; an incident never resolved stays open."""
    end = incident["resolved_ms"] or math.inf
    return incident["created_ms"], end


def overlapping_incidents(incidents):
    """Pairs (earlier, later) of incidents of one dedup key open at once."""
    pairs = []
    latest = None  # the incident whose open interval reaches furthest
    for incident in sorted(incidents,
                           key=lambda i: (i["created_ms"], i["id"])):
        start, end = open_interval(incident)
        if start >= end:
            continue
        if latest is not None and start < open_interval(latest)[1]:
            pairs.append((latest, incident))
        if latest is None or end > open_interval(latest)[1]:
            latest = incident
    return pairs


def by_dedup_key(incidents):
    """Incidents with a dedup key grouped by (service, dedup key)."""
    keys = collections.defaultdict(list)
    for incident in incidents.values():
        if incident["dedup_key"]:
            keys[(incident["service"], incident["dedup_key"])].append(
                incident)
    return keys


def final_state_duplicates(run, clock):
    """Violations: two incidents of one key open at once in a final state
    (by klaxond's times, unless the workload saw the first one resolved
    before it invoked the trigger that opened the second)."""
    seen, creators = resolution_seen(run), creating_triggers(run)
    violations = []
    for label, incidents in state_groups(run.finals):
        keys = by_dedup_key(incidents)
        for (service, dedup) in sorted(keys):
            for first, second in overlapping_incidents(keys[(service, dedup)]):
                creator = creators.get(second["id"])
                if creator is not None and seen.get(
                        first["id"], math.inf) <= creator.invoke_t:
                    continue
                violations.append(Violation(
                    "idempotency", second["created_ms"] / 1000.0,
                    "%s/%s has two open incidents, %d and %d, on %s" % (
                        service, dedup, first["id"], second["id"], label),
                    [describe_incident(first, clock),
                     describe_incident(second, clock)], second["id"]))
    return violations


def history_duplicates(run, clock):
    """Violations: two successful triggers of one key that each opened an
    incident, where neither order lets one incident be resolved before the
    other trigger took effect."""
    incidents, seen = reference_state(run), resolution_seen(run)

    def open_at(incident_id, t):
        return not resolved_by(incidents.get(incident_id),
                               seen.get(incident_id, math.inf), t)

    creators = collections.defaultdict(list)
    for op in ok_ops(run, "trigger"):
        if op.args["dedup"] and not op.result["deduplicated"]:
            creators[(op.args["service"], op.args["dedup"])].append(op)
    violations = []
    for key in sorted(creators):
        ops = creators[key]
        for i, first in enumerate(ops):
            for second in ops[i + 1:]:
                if (first.incident != second.incident
                        and open_at(first.incident, second.complete_t)
                        and open_at(second.incident, first.complete_t)):
                    violations.append(Violation(
                        "idempotency", second.complete_t,
                        "%s/%s: triggers %d and %d both opened an incident "
                        "(%d, %d) while the other was open" % (
                            key[0], key[1], first.id, second.id,
                            first.incident, second.incident),
                        [describe_op(first, clock),
                         describe_op(second, clock)], second.incident))
    return violations


def check_idempotency(run):
    """No dedup key has two incidents open at the same time, in any final
    state or as seen by the workload's triggers."""
    clock = Clock(run.start_t)
    violations = (final_state_duplicates(run, clock)
                  + history_duplicates(run, clock))
    keys = by_dedup_key(reference_state(run))
    return CheckResult(violations, len(keys))


# --- ack means quiet ---------------------------------------------------------


def quieting_ops(run):
    """The earliest confirmed ack or resolve of each incident."""
    first = {}
    for op in sorted(ok_ops(run, "ack") + ok_ops(run, "resolve"),
                     key=lambda o: (o.complete_t, o.id)):
        first.setdefault(op.incident, op)
    return first


def clocks_moved(run):
    """Did a fault move a node's wall clock (so its sent_ms lies)?"""
    return any(f.kind == "clock-jump" for f in run.faults)


def check_ack_quiet(run):
    """No incident page arrives later than the slack after the incident's
    acknowledgement (or resolution) was confirmed to the client, unless
    the leader had started sending it by then (its sent_ms) and it was
    held up on the way: a page on the wire cannot be called back. With
    moved clocks only the arrival counts."""
    clock = Clock(run.start_t)
    slack_s = run.config.ack_quiet_slack_ms / 1000.0
    quiet = quieting_ops(run)
    trust_sent = not clocks_moved(run)
    violations = []
    for page in run.pages:
        op = quiet.get(page.incident) if page.type == "incident" else None
        if op is None or page.t <= op.complete_t + slack_s:
            continue
        if (trust_sent and page.sent_t is not None
                and page.sent_t <= op.complete_t + slack_s):
            continue
        late_ms = (page.t - op.complete_t) * 1000
        violations.append(Violation(
            "ack-quiet", page.t,
            "incident %d paged (page %s, level %s, repeat %s) %.0f ms after "
            "its %s was confirmed" % (page.incident, page.page_id, page.level,
                                      page.repeat, late_ms, op.f),
            [describe_op(op, clock), describe_page(page, clock)],
            page.incident))
    return CheckResult(violations, len(quiet))


# --- liveness ----------------------------------------------------------------


def due_levels(config, created_ms):
    """(repeat, level, due ms) of every escalation step, in order: level 1
    at creation, each next one at the previous due time plus the previous
    level's timeout, all levels again `repeat` more times."""
    due = created_ms
    for repeat in range(config.repeat + 1):
        for level, timeout in enumerate(config.timeouts_ms, 1):
            yield repeat, level, due
            due += timeout


def quiet_since_ms(incident, acks, resolves, quiet_op):
    """When escalation had to stop (ms; inf: never), as early as the
    evidence allows: the recorded ack and resolve times, the invocations of
    the acks and resolves that may have made them (klaxond keeps only the
    last ack's time, and a leader's clock may be off), and the first
    confirmed ack or resolve."""
    times = []
    for key, ops in (("acknowledged_ms", acks), ("resolved_ms", resolves)):
        if incident[key]:
            times.append(incident[key])
            times += [op.invoke_t * 1000 for op in ops
                      if op.outcome != "fail"]
    if quiet_op is not None:
        times.append(quiet_op.complete_t * 1000)
    return min(times, default=math.inf)


def ops_by_incident(run, f):
    """The operations of kind `f` grouped by the incident they name."""
    grouped = collections.defaultdict(list)
    for op in run.ops:
        if op.f == f:
            grouped[op.incident].append(op)
    return grouped


def excused_windows(run):
    """Stretches (ms) when no majority was up and connected, each followed
    by the allowed lateness as grace."""
    grace = run.config.allowed_lateness_ms
    return [(f.start * 1000, f.end * 1000 + grace)
            for f in run.faults if not f.majority]


def first_pages(run):
    """The earliest arrival (s) of each (incident, level, repeat) page."""
    first = {}
    for page in run.pages:
        if page.type == "incident":
            first.setdefault((page.incident, page.level, page.repeat), page.t)
    return first


def escalation_steps(run, incidents):
    """(incident, repeat, level, due ms, quiet ms, excuse) of every
    escalation step due before the incident was acknowledged or resolved
    (quiet ms, see quiet_since_ms) and early enough to be seen before the
    history ends. `excuse` is None when the cluster was bound to page it,
    "fault" near a fault without a majority, "clock" when the incident was
    stamped by a leader whose clock was off by more than the allowed
    lateness (its due times are not host times)."""
    allowed = run.config.allowed_lateness_ms
    windows = excused_windows(run)
    horizon = run.last_t * 1000
    quiet = quieting_ops(run)
    acks = ops_by_incident(run, "ack")
    resolves = ops_by_incident(run, "resolve")
    creators = creating_triggers(run)
    for incident_id in sorted(incidents):
        incident = incidents[incident_id]
        if incident["service"] not in run.config.escalating:
            continue
        stop = quiet_since_ms(incident, acks.get(incident_id, []),
                              resolves.get(incident_id, []),
                              quiet.get(incident_id))
        skewed = creation_skew_ms(incident,
                                  creators.get(incident_id)) > allowed
        for repeat, level, due in due_levels(run.config,
                                             incident["created_ms"]):
            if due >= stop or due + allowed > horizon:
                break
            near_fault = any(due <= end and start <= due + allowed
                             for start, end in windows)
            excuse = "clock" if skewed else "fault" if near_fault else None
            yield incident, repeat, level, due, stop, excuse


class LivenessTally:
    """The outcome of every escalation step: violations, lateness of the
    paged ones, and how many were missing, overtaken by an ack or resolve,
    or excused (by a fault without a majority, or a skewed clock)."""

    def __init__(self, run):
        self.clock = Clock(run.start_t)
        self.allowed = run.config.allowed_lateness_ms
        self.violations = []
        self.lateness = []
        self.missing = 0
        self.overtaken = 0
        self.excused = collections.Counter()

    def what(self, incident, repeat, level, due):
        """'incident 4 level 2 repeat 0, due +5.020s'."""
        return "incident %d level %d repeat %d, due %s" % (
            incident["id"], level, repeat, self.clock.ms(due))

    def unpaged(self, incident, repeat, level, due, stop):
        """A step never paged: fine when the ack or resolve came within the
        allowed lateness (the cluster may cancel a page it has not sent
        yet), a violation otherwise."""
        if stop < due + self.allowed:
            self.overtaken += 1
            return
        self.missing += 1
        self.violations.append(Violation(
            "liveness", due / 1000.0,
            self.what(incident, repeat, level, due) + ", was never paged",
            [describe_incident(incident, self.clock)], incident["id"]))

    def paged(self, incident, repeat, level, due, arrived):
        """A step paged at `arrived` (s): a violation when too late."""
        late = arrived * 1000 - due
        self.lateness.append(late)
        if late > self.allowed:
            self.violations.append(Violation(
                "liveness", arrived,
                "%s, paged %s: %.0f ms late (allowed %.0f)" % (
                    self.what(incident, repeat, level, due),
                    self.clock.t(arrived), late, self.allowed),
                [describe_incident(incident, self.clock)], incident["id"]))

    def result(self):
        """The CheckResult, with the lateness distribution."""
        expected = len(self.lateness) + self.missing + self.overtaken
        figures = {"expected": expected, "missing": self.missing,
                   "late": len(self.violations) - self.missing,
                   "overtaken_by_ack": self.overtaken,
                   "excused_by_fault": self.excused["fault"],
                   "excused_by_clock": self.excused["clock"],
                   "lateness_ms": distribution(self.lateness)}
        return CheckResult(self.violations, expected, figures)


def check_liveness(run):
    """Every expected escalation step is paged no later than its due time
    plus the allowed lateness; measures the lateness of all of them."""
    tally = LivenessTally(run)
    first = first_pages(run)
    for incident, repeat, level, due, stop, excuse in escalation_steps(
            run, reference_state(run)):
        arrived = first.get((incident["id"], level, repeat))
        if excuse is not None:
            tally.excused[excuse] += 1
        elif arrived is None:
            tally.unpaged(incident, repeat, level, due, stop)
        else:
            tally.paged(incident, repeat, level, due, arrived)
    return tally.result()


def percentile(values, p):
    """The nearest-rank p-th percentile of sorted values."""
    return values[max(0, math.ceil(p / 100.0 * len(values)) - 1)]


def distribution(values):
    """count, p50, p99 and max of a list of numbers (None when empty)."""
    values = sorted(values)
    if not values:
        return {"count": 0, "p50": None, "p99": None, "max": None}
    return {"count": len(values), "p50": round(percentile(values, 50), 1),
            "p99": round(percentile(values, 99), 1),
            "max": round(values[-1], 1)}


# --- linearizability ---------------------------------------------------------


@dataclass
class RegisterOp:
    """One operation on an incident's status register: `kind` is create,
    attach (a deduplicated trigger), ack, resolve or read; `value` the status
    it returned or observed (None: not known); `ret` is inf when it may
    take effect at any time after `call`, or never."""
    kind: str
    value: str
    call: float
    ret: float
    op: Op


def step(state, kind, value):
    """The state after applying an operation, or None if the model forbids
    it in `state` or it would not return `value`."""
    if kind == "create":
        new = TRIGGERED if state == NONE else None
    elif kind == "attach":
        new = state if state in OPEN_STATES else None
    elif kind == "ack":
        new = ACKNOWLEDGED if state in OPEN_STATES else None
    elif kind == "resolve":
        new = RESOLVED if state in OPEN_STATES else None
    else:
        new = state
    if new is None or (value is not None and value != new):
        return None
    return new


def register_op(op):
    """The RegisterOp of a history operation, or None when it says nothing
    about the incident's status."""
    if op.f == "trigger":
        if op.outcome != "ok":
            return None
        kind = "attach" if op.result["deduplicated"] else "create"
        return RegisterOp(kind, op.result["status"], op.invoke_t,
                          op.complete_t, op)
    if op.outcome == "ok":
        kind = "read" if op.f == "get" else op.f
        return RegisterOp(kind, op.result.get("status"), op.invoke_t,
                          op.complete_t, op)
    if op.f == "get":
        return None
    if op.outcome == "fail":
        if op.result.get("error") != "state":
            return None
        return RegisterOp("read", RESOLVED, op.invoke_t, op.complete_t, op)
    return RegisterOp(op.f, None, op.invoke_t, math.inf, op)


def register_histories(run):
    """The RegisterOps of each incident, by incident id."""
    histories = collections.defaultdict(list)
    for op in run.ops:
        reg = register_op(op)
        if reg is not None and op.incident is not None:
            histories[op.incident].append(reg)
    return histories


def initial_state(ops):
    """`none` when the history has the trigger that created the incident;
    otherwise an unrecorded trigger (one that timed out) created it before
    anything observed it, which is the same as starting triggered."""
    return NONE if any(r.kind == "create" for r in ops) else TRIGGERED


def event_list(ops):
    """Call and return events in time order (calls before returns at equal
    times, so that touching operations count as concurrent): a list of
    (is_return, op index). Indeterminate operations have no return."""
    events = [(r.call, 0, i) for i, r in enumerate(ops)]
    events += [(r.ret, 1, i) for i, r in enumerate(ops)
               if not math.isinf(r.ret)]
    events.sort()
    return [(kind == 1, i) for _, kind, i in events]


def twin_predecessors(ops):
    """For each indeterminate operation, the previous indeterminate one of
    the same kind (by call), or None. Such twins are interchangeable, so
    the search only linearizes them in call order."""
    previous = [None] * len(ops)
    last = {}
    order = sorted(range(len(ops)), key=lambda i: (ops[i].call, i))
    for i in order:
        if math.isinf(ops[i].ret):
            twin = (ops[i].kind, ops[i].value)
            previous[i] = last.get(twin)
            last[twin] = i
    return previous


class LinkedEvents:
    """The event list as a doubly linked list whose entries can be lifted
    out and put back in last-out-first-in order (Lowe's WGL variant)."""

    END = -1

    def __init__(self, events, n_ops):
        n = len(events)
        self.events = events
        self.head = n
        self.next = [i + 1 if i + 1 < n else LinkedEvents.END
                     for i in range(n)] + [0 if n else LinkedEvents.END]
        self.prev = [i - 1 if i > 0 else n for i in range(n)] + [None]
        self.call_at = [None] * n_ops
        self.return_at = [None] * n_ops
        for entry, (is_return, i) in enumerate(events):
            if is_return:
                self.return_at[i] = entry
            else:
                self.call_at[i] = entry

    def first(self):
        """The first entry still in the list (END when empty)."""
        return self.next[self.head]

    def unlink(self, entry):
        """Takes an entry out of the list."""
        after = self.next[entry]
        self.next[self.prev[entry]] = after
        if after != LinkedEvents.END:
            self.prev[after] = self.prev[entry]

    def relink(self, entry):
        """Puts a taken-out entry back where it was."""
        after = self.next[entry]
        self.next[self.prev[entry]] = entry
        if after != LinkedEvents.END:
            self.prev[after] = entry

    def lift(self, i):
        """Takes operation i's call and return out."""
        self.unlink(self.call_at[i])
        if self.return_at[i] is not None:
            self.unlink(self.return_at[i])

    def unlift(self, i):
        """Puts operation i's call and return back."""
        if self.return_at[i] is not None:
            self.relink(self.return_at[i])
        self.relink(self.call_at[i])


class Linearizer:
    """Wing and Gong's search for a linearization of one incident's
    RegisterOps, as improved by Lowe: operations are taken out of a linked
    event list as they are linearized, and a configuration (set of
    linearized operations, state) already explored is not explored again.

    Two reductions keep it small without losing a linearization:
      - an enabled operation that leaves the state as it is (a read, a
        deduplicated trigger, an ack of an acknowledged incident) can always
        be linearized first, so it is the only choice tried there;
      - an indeterminate operation is only linearized when it changes the
        state (otherwise leaving it out is the same), and twins only in
        call order (see twin_predecessors).
    """

    def __init__(self, ops, initial):
        self.ops = ops
        self.events = LinkedEvents(event_list(ops), len(ops))
        self.twins = twin_predecessors(ops)
        self.determinate = [not math.isinf(r.ret) for r in ops]
        self.remaining = sum(self.determinate)
        self.seen = set()
        self.stack = []          # (op index, state before, forced)
        self.state = initial
        self.done = 0            # bit set of linearized operations

    def successor(self, i):
        """The state after linearizing operation i now, or None when that
        is not allowed or not worth trying."""
        twin = self.twins[i]
        if twin is not None and not (self.done >> twin) & 1:
            return None
        new = step(self.state, self.ops[i].kind, self.ops[i].value)
        if new == self.state and not self.determinate[i]:
            return None
        return new

    def enabled(self):
        """The operations whose call precedes every remaining return."""
        entry = self.events.first()
        while entry != LinkedEvents.END:
            is_return, i = self.events.events[entry]
            if is_return:
                return
            yield i
            entry = self.events.next[entry]

    def forced(self):
        """An enabled determinate operation that keeps the state, or None."""
        for i in self.enabled():
            if self.determinate[i] and self.successor(i) == self.state:
                return i
        return None

    def take(self, i, new, forced):
        """Linearizes operation i, leading to state `new`; False (and
        nothing done) when that configuration was explored already."""
        done = self.done | (1 << i)
        if (done, new) in self.seen:
            return False
        self.seen.add((done, new))
        self.stack.append((i, self.state, forced))
        self.state, self.done = new, done
        self.remaining -= self.determinate[i]
        self.events.lift(i)
        return True

    def backtrack(self):
        """Undoes linearizations up to and including the last free choice;
        returns the entry after that choice's call, where the search goes
        on, or None when there is nothing left to undo."""
        while self.stack:
            i, self.state, forced = self.stack.pop()
            self.done &= ~(1 << i)
            self.remaining += self.determinate[i]
            self.events.unlift(i)
            if not forced:
                return self.events.next[self.events.call_at[i]]
        return None

    def arrive(self):
        """Takes the forced operations of a configuration just reached.
        Returns the entry where the free choices are scanned or, when a
        forced step leads to an explored configuration, the entry where the
        search resumes after backtracking (None: nowhere)."""
        while self.remaining:
            i = self.forced()
            if i is None:
                break
            if not self.take(i, self.state, True):
                return self.backtrack()
        return self.events.first()

    def search(self):
        """Whether a linearization exists."""
        entry = self.arrive()
        while self.remaining:
            if entry is None:
                return False
            is_return, i = self.events.events[entry]
            if is_return:
                entry = self.backtrack()
                continue
            new = self.successor(i)
            if new is not None and self.take(i, new, False):
                entry = self.arrive()
            else:
                entry = self.events.next[entry]
        return True


def linearizable(ops, initial):
    """Whether the RegisterOps have a linearization from state `initial`
    (indeterminate ones may take effect after their call, or never)."""
    return Linearizer(ops, initial).search()


def truncated(ops, t):
    """The history as it stood at host time t: operations called by then,
    those still running then being indeterminate (reads among them say
    nothing and are left out)."""
    history = []
    for r in ops:
        if r.ret <= t:
            history.append(r)
        elif r.call <= t and r.kind not in ("read", "attach"):
            history.append(RegisterOp(r.kind, None, r.call, math.inf, r.op))
    return history


def first_unexplained(ops, initial):
    """The operation whose completion made a non-linearizable history so:
    the history cut at its return is not linearizable, cut at the return
    before it is (cuts of a linearizable history are, so a binary search
    finds it)."""
    returned = sorted((r for r in ops if not math.isinf(r.ret)),
                      key=lambda r: (r.ret, r.op.id))
    low, high = 0, len(returned) - 1
    while low < high:
        middle = (low + high) // 2
        if linearizable(truncated(ops, returned[middle].ret), initial):
            low = middle + 1
        else:
            high = middle
    return returned[low]


def check_linearizability(run):
    """Each incident's history of status operations is linearizable; a
    violation names the first operation no order explains and lists all."""
    clock = Clock(run.start_t)
    violations = []
    histories = register_histories(run)
    for incident_id in sorted(histories):
        ops = histories[incident_id]
        initial = initial_state(ops)
        if linearizable(ops, initial):
            continue
        culprit = first_unexplained(ops, initial)
        ordered = sorted(ops, key=lambda r: (r.call, r.op.id))
        violations.append(Violation(
            "linearizability", culprit.ret,
            "incident %d: no order of its operations explains the %s of "
            "op %d (%s) and what came before" % (
                incident_id, culprit.op.f, culprit.op.id,
                describe_outcome(culprit.op)),
            [("=> " if r is culprit else "   ") + describe_op(r.op, clock)
             for r in ordered], incident_id))
    return CheckResult(violations, len(histories))


# --- convergence -------------------------------------------------------------


def first_difference(groups):
    """The lowest incident id whose record differs between node groups,
    with each group's version (None when a group lacks it)."""
    ids = sorted(set().union(*(g[0].incidents for g in groups)))
    for incident_id in ids:
        versions = [g[0].incidents.get(incident_id) for g in groups]
        if len(set(canonical(v) for v in versions)) > 1:
            return incident_id, versions
    return None, None


def differing_fields(versions):
    """Each version of a record reduced to the fields that differ between
    them, as 'key=value, ...' ('absent' for a missing record)."""
    present = [v for v in versions if v is not None]
    keys = sorted(k for k in set().union(*present)
                  if len(set(canonical(v.get(k)) for v in present)) > 1)
    return ["absent" if v is None else ", ".join(
        "%s=%s" % (k, canonical(v.get(k))) for k in keys) or "identical"
        for v in versions]


def missing_finals(run):
    """Violations: nodes of the configuration that reported no final state."""
    reported = {f.node for f in run.finals}
    t = run.last_t
    return [Violation("convergence", t,
                      "node %s reported no final state" % node)
            for node in run.config.nodes if node not in reported]


def check_convergence(run):
    """Every node ends with the same incidents and applied index."""
    violations = missing_finals(run)
    groups = collections.OrderedDict()
    for final in run.finals:
        key = (final.applied_index, canonical_incidents(final))
        groups.setdefault(key, []).append(final)
    if len(groups) > 1:
        groups = list(groups.values())
        details = ["%s: applied index %d, %d incidents" % (
            node_label(g, 0), g[0].applied_index, len(g[0].incidents))
            for g in groups]
        incident_id, versions = first_difference(groups)
        if incident_id is not None:
            details.append("first differing incident: %d" % incident_id)
            details += ["  %s: %s" % (node_label(g, 0), fields)
                        for g, fields in zip(groups,
                                             differing_fields(versions))]
        violations.append(Violation(
            "convergence", max(f.t for f in run.finals),
            "the nodes disagree: %s" % "; ".join(
                node_label(g, 0) for g in groups), details, incident_id))
    return CheckResult(violations, len(run.finals))


# --- figures -----------------------------------------------------------------


def operation_counts(run):
    """Operations by function and outcome (never completed counts as info)."""
    counts = {f: {o: 0 for o in OUTCOMES} for f in FUNCTIONS}
    for op in run.ops:
        counts[op.f][op.outcome or "info"] += 1
    return counts


def page_counts(run):
    """Pages received, distinct idempotency keys, duplicates and share."""
    keys = [p.key if p.key is not None else ("line", p.line)
            for p in run.pages]
    distinct = len(set(keys))
    duplicates = len(keys) - distinct
    return {"received": len(keys), "distinct": distinct,
            "duplicates": duplicates,
            "duplicate_share": round(duplicates / len(keys), 4)
            if keys else 0.0}


def failover_gaps(leaders):
    """Stretches (start, end, before, after) without a ready leader: from
    the last sample of one leader to the first sample of the next, when
    samples without a leader came between or the leader changed; `after`
    is None when the run ended without one."""
    gaps = []
    last_t, last_node, gap = None, None, False
    for t, node in leaders:
        if node == 0:
            gap = last_node is not None
            continue
        if last_node is not None and (gap or node != last_node):
            gaps.append((last_t, t, last_node, node))
        last_t, last_node, gap = t, node, False
    if gap:
        gaps.append((last_t, leaders[-1][0], last_node, None))
    return gaps


def gap_figures(gaps):
    """count, min, median and max duration (s) of failover gaps."""
    durations = [end - start for start, end, _, _ in gaps]
    if not durations:
        return {"count": 0, "min_s": None, "median_s": None, "max_s": None}
    return {"count": len(durations), "min_s": round(min(durations), 3),
            "median_s": round(statistics.median(durations), 3),
            "max_s": round(max(durations), 3)}


def clock_skew(run):
    """How far klaxond's clock was from the host's when incidents opened:
    how many incidents were stamped outside the window of the trigger that
    opened them, and the largest distance (ms)."""
    incidents = reference_state(run)
    skews = [creation_skew_ms(incidents[i], op)
             for i, op in creating_triggers(run).items() if i in incidents]
    skews = [skew for skew in skews if skew > 1]  # created_ms: whole ms
    return {"incidents": len(skews),
            "max_ms": round(max(skews), 1) if skews else None}


def figures(run, results):
    """The run's numbers for summary.json and the report."""
    faults = collections.Counter(f.kind for f in run.faults)
    return {
        "operations": operation_counts(run),
        "operations_total": len(run.ops),
        "faults": dict(sorted(faults.items())),
        "faults_without_majority": sum(1 for f in run.faults
                                       if not f.majority),
        "pages": page_counts(run),
        "failover_gaps": gap_figures(failover_gaps(run.leaders)),
        "converged_after_s": run.converged_after_s,
        "clock_skew": clock_skew(run),
        "liveness": results["liveness"].figures,
        "checked": {name: results[name].checked for name in CHECKS},
        "violations": {name: len(results[name].violations)
                       for name in CHECKS},
    }


# --- checking and reporting --------------------------------------------------


CHECK_FUNCTIONS = {
    "durability": check_durability,
    "idempotency": check_idempotency,
    "ack-quiet": check_ack_quiet,
    "liveness": check_liveness,
    "linearizability": check_linearizability,
    "convergence": check_convergence,
}


def run_checks(run):
    """Every check's CheckResult by name, violations in a stable order."""
    results = {}
    for name in CHECKS:
        result = CHECK_FUNCTIONS[name](run)
        result.violations.sort(key=lambda v: (v.t, v.summary))
        results[name] = result
    return results


def all_violations(results):
    """Every violation, check by check."""
    return [v for name in CHECKS for v in results[name].violations]


def verdict(results):
    """The first line of the report: PASS or FAIL with counts."""
    counts = [(name, len(results[name].violations)) for name in CHECKS]
    total = sum(n for _, n in counts)
    if total == 0:
        return "PASS: no violation in %d checks" % len(CHECKS)
    return "FAIL: %d violation%s (%s)" % (
        total, "" if total == 1 else "s",
        ", ".join("%s %d" % c for c in counts if c[1]))


def summary(run, results, fig, run_dir):
    """The content of summary.json."""
    violations = all_violations(results)
    return {
        "verdict": "FAIL" if violations else "PASS",
        "run": {"dir": os.path.abspath(run_dir),
                "scenario": run.config.scenario, "seed": run.config.seed,
                "duration_s": round(run.last_t - run.start_t, 3),
                "nodes": run.config.nodes},
        "figures": fig,
        "violations": [v.to_json() for v in violations],
    }


def excerpt(details):
    """At most DETAIL_LIMIT lines of a violation's details, centred on the
    one marked '=>' if any (summary.json has them all)."""
    if len(details) <= DETAIL_LIMIT:
        return details
    marked = [n for n, d in enumerate(details) if d.startswith("=>")]
    centre = marked[0] if marked else 0
    start = max(0, min(centre - DETAIL_LIMIT // 2,
                       len(details) - DETAIL_LIMIT))
    lines = details[start:start + DETAIL_LIMIT]
    if start > 0:
        lines = ["... %d earlier lines" % start] + lines
    after = len(details) - start - DETAIL_LIMIT
    if after > 0:
        lines.append("... %d later lines" % after)
    return lines


def report_violations(results):
    """The report's violation section, at most REPORT_LIMIT per check."""
    lines = []
    for name in CHECKS:
        violations = results[name].violations
        if not violations:
            continue
        lines += ["", "%s (%d)" % (name, len(violations))]
        for n, v in enumerate(violations[:REPORT_LIMIT], 1):
            lines.append("  %d. %s" % (n, v.summary))
            lines += ["       " + d for d in excerpt(v.details)]
        if len(violations) > REPORT_LIMIT:
            lines.append("  ... %d more in %s" % (
                len(violations) - REPORT_LIMIT, SUMMARY_FILE))
    return lines


def report_operations(ops):
    """The table of operations by function and outcome."""
    lines = ["  %-18s %8s %8s %8s" % ("operations", "ok", "fail", "info")]
    for f in FUNCTIONS:
        c = ops[f]
        lines.append("    %-16s %8d %8d %8d" % (f, c["ok"], c["fail"],
                                                c["info"]))
    return lines


def seconds(value):
    """'1.234 s' or '-'."""
    return "-" if value is None else "%.3f s" % value


def millis(value):
    """'123 ms' or '-'."""
    return "-" if value is None else "%.0f ms" % value


def report_figures(fig):
    """The report's figure section."""
    pages, gaps, live = fig["pages"], fig["failover_gaps"], fig["liveness"]
    skew = fig["clock_skew"]
    late = live["lateness_ms"]
    faults = ", ".join("%s %d" % kv for kv in fig["faults"].items())
    converged = ("%s after heal" % seconds(fig["converged_after_s"])
                 if fig["converged_after_s"] is not None
                 else "no converged line")
    lines = ["  %-18s %8s %10s" % ("check", "checked", "violations")]
    for name in CHECKS:
        lines.append("    %-16s %8d %10d" % (name, fig["checked"][name],
                                             fig["violations"][name]))
    lines += report_operations(fig["operations"])
    lines += [
        "  %-18s %s" % ("faults", "%s (%d without a majority)" % (
            faults, fig["faults_without_majority"]) if faults else "none"),
        "  %-18s %d received, %d distinct, %d duplicates (%.1f%%)" % (
            "pages", pages["received"], pages["distinct"],
            pages["duplicates"], 100 * pages["duplicate_share"]),
        "  %-18s %s" % ("failover gaps", "%d: min %s, median %s, max %s" % (
            gaps["count"], seconds(gaps["min_s"]), seconds(gaps["median_s"]),
            seconds(gaps["max_s"])) if gaps["count"] else "none"),
        "  %-18s %s" % ("convergence", converged),
        "  %-18s %d incidents stamped outside their trigger's window%s" % (
            "klaxond clock", skew["incidents"],
            ", up to %s" % millis(skew["max_ms"]) if skew["incidents"]
            else ""),
        "  %-18s %d levels expected: %d late, %d missing, %d overtaken "
        "by an ack or resolve; not checked: %d near faults without a "
        "majority, %d of incidents stamped by a skewed clock" % (
            "escalation", live["expected"], live["late"], live["missing"],
            live["overtaken_by_ack"], live["excused_by_fault"],
            live["excused_by_clock"]),
        "  %-18s p50 %s, p99 %s, max %s (%d paged)" % (
            "lateness", millis(late["p50"]), millis(late["p99"]),
            millis(late["max"]), late["count"]),
    ]
    return lines


def report(run, results, fig, run_dir):
    """report.txt: verdict, violations, figures."""
    lines = [verdict(results),
             "run %s: scenario %s, seed %s, %.1f s, nodes %s, %d operations, "
             "%d pages" % (os.path.abspath(run_dir), run.config.scenario,
                           run.config.seed, run.last_t - run.start_t,
                           ",".join(map(str, run.config.nodes)),
                           len(run.ops), len(run.pages)),
             "times are seconds since the run started, %s" % time.strftime(
                 "%Y-%m-%d %H:%M:%S UTC", time.gmtime(run.start_t))]
    if all_violations(results):
        lines += ["", "VIOLATIONS"] + report_violations(results)
    lines += ["", "FIGURES"] + report_figures(fig)
    outputs = ", ".join((SUMMARY_FILE, REPORT_FILE, PLOT_FILE))
    lines += ["", "files: " + outputs]
    return "\n".join(lines) + "\n"


def write_outputs(run, results, run_dir):
    """Writes summary.json, report.txt and plot.svg; returns the report."""
    fig = figures(run, results)
    text = report(run, results, fig, run_dir)
    outputs = {
        SUMMARY_FILE: json.dumps(summary(run, results, fig, run_dir),
                                 indent=2, sort_keys=True) + "\n",
        REPORT_FILE: text,
        PLOT_FILE: plot.render(run, all_violations(results),
                               failover_gaps(run.leaders)),
    }
    for name, content in outputs.items():
        with open(os.path.join(run_dir, name), "w", encoding="utf-8") as f:
            f.write(content)
    return text


def main(argv=None):
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        description="Check a klaxon chaos run (chaos/HISTORY.md).")
    parser.add_argument("run_dir", metavar="RUN_DIR")
    parser.add_argument("--quiet", action="store_true",
                        help="print only the verdict")
    args = parser.parse_args(argv)
    try:
        run = load_run(args.run_dir)
    except InputError as e:
        print("checker: %s: %s" % (args.run_dir, e), file=sys.stderr)
        return 2
    results = run_checks(run)
    text = write_outputs(run, results, args.run_dir)
    print(text.split("\n")[0] if args.quiet else text.rstrip("\n"))
    return 1 if all_violations(results) else 0


if __name__ == "__main__":
    sys.exit(main())
