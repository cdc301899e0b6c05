#!/usr/bin/env python3
"""klaxon's chaos harness: real klaxond nodes as hosts in network
namespaces, a workload from outside the faults, a nemesis that kills,
pauses, partitions, loses datacenters, fills disks and moves clocks, a page
receiver, and the checker (chaos/checker.py) on the history.

  chaos/harness.py run SCENARIO [--seed N] [--duration S] [--results DIR]
  chaos/harness.py all [--seed N] [--duration S]    every scenario
  chaos/harness.py smoke                            the short CI runs
  chaos/harness.py list                             the scenarios
  chaos/harness.py cleanup                          remove leftovers

Needs root (namespaces, nftables, tmpfs). Each run writes its files under
RESULTS/<scenario>-<seed>-<time>/ (chaos/HISTORY.md). Exit status: 0 when
every run passed the checker, 1 when a run found a violation, 2 for bad
usage or a harness failure (the environment, not klaxon).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import net  # noqa: E402
import nemesis  # noqa: E402
import nodes  # noqa: E402

HEARTBEAT_MS = 100
ELECTION_MS = 1000
LEVEL_MS = 4000
LEVELS = 3
REPEAT = 1
SERVICES = ["svc0", "svc1", "svc2"]
UNATTENDED = "unattended"  # incidents nobody acknowledges: full escalations
RECEIVER_PORT = 9099
PROCESSES = 8
CONVERGE_TIMEOUT_S = 60


class History:
    """The harness's own lines (faults, milestones), one JSON per line."""

    def __init__(self, path):
        self.f = open(path, "a")
        self.lock = threading.Lock()

    def write(self, event):
        event = dict(event)
        event.setdefault("t", time.time())
        with self.lock:
            self.f.write(json.dumps(event, sort_keys=True) + "\n")
            self.f.flush()

    def close(self):
        self.f.close()


class LeaderWatch:
    """Follows the workload's leader samples (the last one wins)."""

    def __init__(self, path):
        self.path = path
        self.leader = 0
        self.stop = False
        self.thread = threading.Thread(target=self._follow, daemon=True)
        self.thread.start()

    def _follow(self):
        while not os.path.exists(self.path) and not self.stop:
            time.sleep(0.05)
        with open(self.path) as f:
            while not self.stop:
                line = f.readline()
                if not line:
                    time.sleep(0.05)
                    continue
                if '"leader"' in line:
                    try:
                        self.leader = json.loads(line).get("leader", 0)
                    except ValueError:
                        pass

    def current(self):
        return self.leader


def build_paths():
    build = os.environ.get("BUILD", "build")
    if not os.path.isabs(build):
        build = os.path.join(ROOT, build)
    return {
        "klaxond": os.path.join(build, "klaxond"),
        "klaxonctl": os.path.join(build, "klaxonctl"),
        "workload": os.path.join(build, "chaos-workload"),
        "gen_certs": os.path.join(ROOT, "deploy", "gen-certs.sh"),
        "receiver": os.path.join(ROOT, "deploy", "page-receiver.py"),
        "checker": os.path.join(HERE, "checker.py"),
    }


def oncall_yaml():
    users, levels = [], []
    for u in range(1, LEVELS + 1):
        users.append("  - id: u%d\n    contacts: [{type: webhook, url: "
                     "\"http://%s:%d/u%d\"}]\n"
                     % (u, net.HOST_IP, RECEIVER_PORT, u))
        levels.append("      - {timeout: %dms, targets: [{type: user, "
                      "id: u%d}]}\n" % (LEVEL_MS, u))
    services = "".join("  - {name: %s, escalation_policy: chaos}\n" % s
                       for s in SERVICES + [UNATTENDED])
    return ("users:\n" + "".join(users) +
            "escalation_policies:\n  - id: chaos\n    repeat: %d\n"
            "    levels:\n" % REPEAT + "".join(levels) +
            "services:\n" + services +
            "notifications:\n  timeout: 2s\n  retry_base: 250ms\n"
            "  max_attempts: 4\n")


class Run:
    """One scenario with one seed."""

    def __init__(self, scenario, seed, duration, results, paths, settle):
        self.scenario = scenario
        self.settle = settle
        self.seed = seed
        self.duration = duration
        self.paths = paths
        stamp = time.strftime("%Y%m%dT%H%M%S")
        self.dir = os.path.join(results, "%s-%d-%s" % (scenario, seed, stamp))
        os.makedirs(self.dir)
        sizes = nemesis.SCENARIOS[scenario][0]
        self.dcs = nemesis.datacenters(sizes)
        ids = [i for dc in self.dcs for i in dc]
        self.cluster = nodes.Cluster(self.dir, ids, paths["klaxond"],
                                     fake_clock=scenario == "clock-jump")
        self.history = History(os.path.join(self.dir, "harness.jsonl"))
        self.procs = []
        self.interrupted = False

    # --- setting up ---------------------------------------------------------

    def client_env(self):
        tls = os.path.join(self.dir, "tls")
        env = dict(os.environ)
        env.update({
            "KLAXON_ENDPOINTS": self.cluster.endpoints(),
            "KLAXON_CA": os.path.join(tls, "ca.pem"),
            "KLAXON_CERT": os.path.join(tls, "client-admin.pem"),
            "KLAXON_KEY": os.path.join(tls, "client-admin-key.pem"),
        })
        return env

    def tls_args(self):
        env = self.client_env()
        return ["--ca", env["KLAXON_CA"], "--cert", env["KLAXON_CERT"],
                "--key", env["KLAXON_KEY"]]

    def write_config_line(self):
        levels = [{"timeout_ms": LEVEL_MS} for _ in range(LEVELS)]
        self.history.write({
            "type": "config", "scenario": self.scenario, "seed": self.seed,
            "duration_s": self.duration, "nodes": self.cluster.ids(),
            "dcs": self.dcs, "heartbeat_ms": HEARTBEAT_MS,
            "election_ms": ELECTION_MS,
            "policy": {"repeat": REPEAT, "levels": levels},
            "escalating_services": SERVICES + [UNATTENDED],
            "allowed_lateness_ms": 3 * ELECTION_MS + 1000,
            "ack_quiet_slack_ms": 100,
        })

    def start_receiver(self):
        out = open(os.path.join(self.dir, "receiver.out"), "w")
        p = subprocess.Popen(
            [sys.executable, self.paths["receiver"], "--host", net.HOST_IP,
             "--http-port", str(RECEIVER_PORT), "--smtp-port", "0",
             "--out", os.path.join(self.dir, "pages.jsonl")],
            stdout=out, stderr=subprocess.STDOUT)
        out.close()
        self.procs.append(p)

    def ctl(self, *args, timeout=60):
        return subprocess.run([self.paths["klaxonctl"], *args],
                              env=self.client_env(), capture_output=True,
                              text=True, timeout=timeout)

    def wait_ready(self, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            if self.ctl("list", "--limit", "1", timeout=15).returncode == 0:
                return
            time.sleep(0.5)
        raise RuntimeError("the cluster did not answer within %ds" % timeout)

    def apply_config(self):
        path = os.path.join(self.dir, "oncall.yaml")
        with open(path, "w") as f:
            f.write(oncall_yaml())
        r = self.ctl("apply", "-f", path)
        if r.returncode != 0:
            raise RuntimeError("apply: " + r.stderr.strip())

    def setup(self):
        net.create(self.cluster.ids())
        self.cluster.prepare(HEARTBEAT_MS, ELECTION_MS,
                             self.paths["gen_certs"])
        self.write_config_line()
        self.start_receiver()
        self.cluster.start()
        self.wait_ready()
        self.apply_config()

    # --- running ------------------------------------------------------------

    def start_workload(self):
        out = open(os.path.join(self.dir, "workload.out"), "w")
        p = subprocess.Popen(
            [self.paths["workload"], "run", "--endpoints",
             self.cluster.endpoints(), *self.tls_args(),
             "--out", os.path.join(self.dir, "workload.jsonl"),
             "--duration", str(self.duration), "--processes", str(PROCESSES),
             "--seed", str(self.seed), "--services", ",".join(SERVICES),
             "--timeout-ms", "2000", "--max-ops", "10000000",
             "--unattended", UNATTENDED,
             "--sample-leader"],
            stdout=out, stderr=subprocess.STDOUT)
        out.close()
        return p

    def exercise(self):
        workload = self.start_workload()
        self.procs.append(workload)
        watch = LeaderWatch(os.path.join(self.dir, "workload.jsonl"))
        nem = nemesis.Nemesis(self.scenario, self.seed, self.cluster,
                              self.dcs, self.history, watch.current)
        stop_at = time.time() + self.duration
        try:
            nem.run(stop_at, lambda: self.interrupted)
        finally:
            nem.heal()
        if workload.wait(timeout=self.duration + 120) != 0:
            raise RuntimeError("the workload failed; see workload.out")
        watch.stop = True

    def heal(self):
        net.heal(self.cluster.ids())
        for n in self.cluster.nodes.values():
            n.free_disk()
            n.set_clock(0)
            if n.paused:
                n.resume()
            n.revive()
        self.history.write({"type": "heal"})

    def read_final(self, i):
        path = os.path.join(self.dir, "final-%d.tmp" % i)
        if os.path.exists(path):
            os.unlink(path)
        r = subprocess.run(
            [self.paths["workload"], "final", "--endpoint",
             nodes.api_addr(i), "--node", str(i), *self.tls_args(),
             "--out", path], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            return None
        with open(path) as f:
            return json.loads(f.readline())

    def status(self):
        """Every node's status, by id (those that answered)."""
        r = self.ctl("--json", "--timeout", "2s", "status", timeout=30)
        try:
            found = json.loads(r.stdout).get("nodes", [])
        except ValueError:
            return {}
        return {n["id"]: n for n in found if "applied_index" in n}

    def catch_up(self, healed):
        """How long after healing every node has applied all that the
        leader had committed when the faults ended."""
        target = None
        while time.time() < healed + CONVERGE_TIMEOUT_S:
            st = self.status()
            leaders = [n for n in st.values() if n.get("role") == "leader"]
            if target is None and leaders:
                target = max(n["commit_index"] for n in leaders)
            if target is not None and len(st) == len(self.cluster.ids()) and \
                    all(n["applied_index"] >= target for n in st.values()):
                return time.time() - healed
            time.sleep(0.2)
        return None

    def same_state(self):
        """Every node's final line when they all hold the same state, or
        the last ones read (None for a node that did not answer)."""
        finals = {}
        end = time.time() + CONVERGE_TIMEOUT_S
        while time.time() < end:
            finals = {i: self.read_final(i) for i in self.cluster.ids()}
            states = {json.dumps([f["applied_index"], f["incidents"]],
                                 sort_keys=True)
                      for f in finals.values() if f is not None}
            if None not in finals.values() and len(states) == 1:
                break
            time.sleep(1.0)
        return finals

    def converge(self):
        """Record how long the nodes took to catch up after healing; let the
        escalations that are still running play out (for `settle` seconds
        after healing); then record what every node holds, once they all
        hold the same."""
        healed = time.time()
        after = self.catch_up(healed)
        if after is not None:
            self.history.write({"type": "converged", "after_s": after})
        time.sleep(max(0.0, healed + self.settle - time.time()))
        for i, f in sorted(self.same_state().items()):
            if f is not None:
                self.history.write(f)

    # --- tearing down -------------------------------------------------------

    def teardown(self):
        statuses = self.cluster.stop()
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        self.cluster.teardown()
        net.cleanup()
        self.history.close()
        return statuses

    def merge(self):
        """history.jsonl: the config line, then every line by time."""
        lines = []
        for name in ("harness.jsonl", "workload.jsonl"):
            path = os.path.join(self.dir, name)
            if os.path.exists(path):
                with open(path) as f:
                    lines += [json.loads(x) for x in f if x.strip()]
        config = [x for x in lines if x.get("type") == "config"]
        rest = sorted((x for x in lines if x.get("type") != "config"),
                      key=lambda x: x["t"])
        with open(os.path.join(self.dir, "history.jsonl"), "w") as f:
            for x in config + rest:
                f.write(json.dumps(x, sort_keys=True) + "\n")

    def check(self):
        return subprocess.run([sys.executable, self.paths["checker"],
                               self.dir]).returncode

    def run(self):
        print("=== chaos: %s, seed %d, %ds, in %s" %
              (self.scenario, self.seed, self.duration, self.dir), flush=True)
        try:
            self.setup()
            self.exercise()
            self.history.write({"type": "workload-end"})
            self.heal()
            self.converge()
        finally:
            statuses = self.teardown()
        self.merge()
        bad = {i: s for i, s in statuses.items() if s not in (0, None)}
        if bad:
            print("chaos: nodes did not stop cleanly: %s" % bad, flush=True)
        return self.check()


def require_root():
    if os.geteuid() != 0:
        sys.exit("chaos: needs root (network namespaces, nftables, tmpfs)")


def refuse_leftovers():
    left = net.leftovers()
    if left:
        sys.exit("chaos: a previous run left these behind: %s\n"
                 "remove them with: sudo python3 %s cleanup"
                 % (", ".join(left), os.path.relpath(__file__)))


# Long enough after healing for every escalation to play out.
FULL_SETTLE_S = LEVELS * LEVEL_MS * (REPEAT + 1) / 1000.0 + 5


def run_many(scenarios, seed, duration, results, settle):
    require_root()
    refuse_leftovers()
    paths = build_paths()
    for p in ("klaxond", "klaxonctl", "workload"):
        if not os.access(paths[p], os.X_OK):
            sys.exit("chaos: %s not built (run make first)" % paths[p])
    worst = 0
    current = []

    def interrupt(signum, frame):
        for r in current:
            r.interrupted = True
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)
    summary = []
    try:
        for sc in scenarios:
            r = Run(sc, seed, duration, results, paths, settle)
            current[:] = [r]
            try:
                rc = r.run()
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                print("chaos: %s: the harness failed: %s" % (sc, e),
                      flush=True)
                net.cleanup()
                rc = 2
            summary.append((sc, rc, r.dir))
            worst = max(worst, 1 if rc == 1 else (2 if rc else 0))
    except KeyboardInterrupt:
        print("chaos: interrupted; everything was torn down", flush=True)
        net.cleanup()
        return 2
    print("\n=== chaos summary (seed %d, %ds per scenario)" % (seed, duration))
    for sc, rc, d in summary:
        print("  %-20s %s  %s" % (sc, {0: "PASS", 1: "FAIL"}.get(rc, "ERROR"),
                                  d))
    return worst


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.split("\n")[1:]))
    sub = ap.add_subparsers(dest="cmd", required=True)
    results = os.path.join(HERE, "results")
    for name in ("run", "all", "smoke"):
        p = sub.add_parser(name)
        if name == "run":
            p.add_argument("scenario", choices=sorted(nemesis.SCENARIOS))
        p.add_argument("--seed", type=int, default=1)
        p.add_argument("--duration", type=int,
                       default=40 if name == "smoke" else 90)
        p.add_argument("--results", default=results)
        p.add_argument("--settle", type=float,
                       default=10 if name == "smoke" else FULL_SETTLE_S,
                       help="seconds to let escalations play out after "
                       "healing (default: all of them, %gs; smoke 10s)"
                       % FULL_SETTLE_S)
    sub.add_parser("list")
    sub.add_parser("cleanup")
    a = ap.parse_args()
    if a.cmd == "list":
        for name, (sizes, _, what) in sorted(nemesis.SCENARIOS.items()):
            print("%-20s %s nodes (%s): %s" %
                  (name, sum(sizes), "+".join(map(str, sizes)), what))
        return 0
    if a.cmd == "cleanup":
        require_root()
        left = net.leftovers()
        net.cleanup()
        print("chaos: removed %s" % (", ".join(left) or "nothing"))
        return 0
    if a.duration < 10:
        ap.error("--duration: at least 10 seconds")
    scenarios = {"run": lambda: [a.scenario],
                 "all": lambda: sorted(nemesis.SCENARIOS),
                 "smoke": lambda: nemesis.SMOKE}[a.cmd]()
    try:
        return run_many(scenarios, a.seed, a.duration, a.results, a.settle)
    except RuntimeError as e:
        net.cleanup()
        print("chaos: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
