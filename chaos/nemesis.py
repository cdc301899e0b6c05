"""Faults and scenarios.

A scenario names its cluster (nodes grouped into datacenters) and the
faults it draws from. The schedule (which fault, when, for how long, and
any random choice inside a fault) comes from a random generator seeded
with the run's seed, so a seed replays the same schedule; targets that
depend on the cluster ("the leader") are resolved when the fault starts.
Every fault is recorded with a start and an end, and faults never
overlap: each one is healed before the next starts.
"""

import random
import time

import net

# name: (nodes per datacenter, faults, description)
SCENARIOS = {
    "leader-kill": ([1, 1, 1], ["kill-leader"],
                    "SIGKILL the leader, restart it a few seconds later"),
    "pause": ([1, 1, 1], ["pause-leader"],
              "SIGSTOP the leader (it must not page when it comes back), "
              "then SIGCONT"),
    "minority-partition": ([1, 1, 1], ["partition-one"],
                           "cut one node off from the others"),
    "partition": ([1, 1, 1, 1, 1], ["partition-random"],
                  "split 5 nodes into a majority and a minority"),
    "isolate-leader": ([1, 1, 1], ["isolate-leader"],
                       "cut the leader off from every other node"),
    "bridge": ([1, 1, 1, 1, 1], ["bridge"],
               "two sides that only one bridge node sees both of"),
    "dc-loss": ([2, 2, 1], ["kill-dc", "isolate-dc"],
                "lose a whole datacenter (killed or cut off), bring it back"),
    "disk-full": ([1, 1, 1], ["disk-full"],
                  "fill a node's disk (the leader's, often), free it"),
    "clock-jump": ([1, 1, 1], ["clock-jump"],
                   "a node's wall clock jumps minutes forward or back"),
}

SMOKE = ["leader-kill", "minority-partition", "dc-loss"]

# The kind of fault each step records (HISTORY.md).
KIND = {
    "kill-leader": "kill",
    "pause-leader": "pause",
    "partition-one": "partition",
    "partition-random": "partition",
    "isolate-leader": "isolate-leader",
    "bridge": "bridge",
    "kill-dc": "dc-loss",
    "isolate-dc": "dc-loss",
    "disk-full": "disk-full",
    "clock-jump": "clock-jump",
}


def datacenters(sizes):
    """[2, 2, 1] -> [[1, 2], [3, 4], [5]]"""
    dcs, n = [], 0
    for s in sizes:
        dcs.append(list(range(n + 1, n + s + 1)))
        n += s
    return dcs


class Nemesis:
    """Injects the faults of a scenario into a cluster, recording them."""

    def __init__(self, scenario, seed, cluster, dcs, history, leader):
        self.faults = SCENARIOS[scenario][1]
        self.rng = random.Random(seed)
        self.cluster = cluster
        self.dcs = dcs
        self.history = history
        self.leader = leader  # callable: current leader id or 0
        self.active = None  # (name, nodes, heal function)
        self.count = 0

    # --- the schedule ---------------------------------------------------

    def run(self, stop_at, stopping):
        """Alternate quiet periods and faults until stop_at."""
        while time.time() < stop_at and not stopping():
            self._sleep(self.rng.uniform(3.0, 6.0), stop_at, stopping)
            if time.time() >= stop_at - 2 or stopping():
                break
            fault = self.rng.choice(self.faults)
            hold = self.rng.uniform(4.0, 9.0)
            self.start(fault)
            self._sleep(hold, stop_at, stopping)
            self.heal()

    @staticmethod
    def _sleep(seconds, stop_at, stopping):
        end = min(time.time() + seconds, stop_at)
        while time.time() < end and not stopping():
            time.sleep(0.05)

    # --- starting and healing -------------------------------------------

    def start(self, fault):
        nodes, majority, detail, heal, extra = getattr(
            self, "_" + fault.replace("-", "_"))()
        name = KIND[fault]
        event = {"type": "nemesis", "phase": "start", "fault": name,
                 "nodes": nodes, "majority": majority, "detail": detail}
        event.update(extra)
        self.history.write(event)
        self.active = (name, nodes, heal)
        self.count += 1

    def heal(self):
        if self.active is None:
            return
        name, nodes, heal = self.active
        detail = heal()
        self.history.write({"type": "nemesis", "phase": "end",
                            "fault": name, "nodes": nodes, "detail": detail})
        self.active = None

    def _target(self):
        """The leader if there is one, else a random node."""
        lead = self.leader()
        return lead if lead else self.rng.choice(self.cluster.ids())

    def _kill_leader(self):
        n = self._target()
        self.cluster.nodes[n].kill()

        def heal():
            self.cluster.nodes[n].revive()
            return "node %d restarted" % n
        return [n], True, "SIGKILL node %d" % n, heal, {}

    def _pause_leader(self):
        n = self._target()
        self.cluster.nodes[n].pause()

        def heal():
            self.cluster.nodes[n].resume()
            return "SIGCONT node %d" % n
        return [n], True, "SIGSTOP node %d" % n, heal, {}

    def _partition(self, groups, detail, majority=True, nodes=None):
        """Cut the network into groups; `nodes` are the ones the fault is
        about (default: every node)."""
        net.partition(self.cluster.ids(), groups)

        def heal():
            net.heal(self.cluster.ids())
            return "network healed"
        if nodes is None:
            nodes = sorted({i for g in groups for i in g})
        return nodes, majority, detail, heal, {"groups": groups}

    def _partition_one(self):
        ids = self.cluster.ids()
        n = self.rng.choice(ids)
        rest = [i for i in ids if i != n]
        return self._partition([rest, [n]], "node %d cut off" % n,
                               nodes=[n])

    def _partition_random(self):
        ids = list(self.cluster.ids())
        self.rng.shuffle(ids)
        small = self.rng.randint(1, (len(ids) - 1) // 2)
        groups = [sorted(ids[small:]), sorted(ids[:small])]
        return self._partition(groups, "partition %s | %s" % tuple(groups))

    def _isolate_leader(self):
        n = self._target()
        rest = [i for i in self.cluster.ids() if i != n]
        return self._partition([rest, [n]], "leader %d cut off" % n,
                               nodes=[n])

    def _bridge(self):
        ids = list(self.cluster.ids())
        self.rng.shuffle(ids)
        mid = len(ids) // 2
        b = ids[mid]
        left, right = sorted(ids[:mid] + [b]), sorted(ids[mid + 1:] + [b])
        return self._partition([left, right],
                               "node %d bridges %s and %s" % (b, left, right))

    def _dc(self):
        return self.rng.choice(self.dcs)

    def _kill_dc(self):
        dc = self._dc()
        for n in dc:
            self.cluster.nodes[n].kill()
        ids = self.cluster.ids()
        majority = len(ids) - len(dc) > len(ids) // 2

        def heal():
            for n in dc:
                self.cluster.nodes[n].revive()
            return "datacenter %s restarted" % dc
        return dc, majority, "datacenter %s killed" % dc, heal, {}

    def _isolate_dc(self):
        dc = self._dc()
        rest = [i for i in self.cluster.ids() if i not in dc]
        return self._partition([rest, dc], "datacenter %s cut off" % dc,
                               len(rest) > len(self.cluster.ids()) // 2,
                               nodes=dc)

    def _disk_full(self):
        n = self._target() if self.rng.random() < 0.7 else \
            self.rng.choice(self.cluster.ids())
        node = self.cluster.nodes[n]
        node.fill_disk()

        def heal():
            node.free_disk()
            return "disk of node %d freed" % n
        return [n], True, "disk of node %d full" % n, heal, {}

    def _clock_jump(self):
        n = self._target() if self.rng.random() < 0.5 else \
            self.rng.choice(self.cluster.ids())
        offset = self.rng.choice([-1, 1]) * self.rng.randint(60, 300)
        node = self.cluster.nodes[n]
        node.set_clock(offset)

        def heal():
            node.set_clock(0)
            return "clock of node %d back" % n
        # klaxond keeps its own time through a step (server/clock.h), so
        # the cluster is held to its deadlines all the same.
        return [n], True, "clock of node %d %+ds" % (n, offset), heal, \
            {"offset_s": offset}
