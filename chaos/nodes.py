"""The klaxond nodes of a chaos run: configuration, certificates, a small
filesystem per node for its data, the processes (started inside their
network namespaces), and the faults that act on a process: kill, pause,
a full disk, a clock that jumps.

The harness is the nodes' supervisor, as systemd would be: a node that
exits on its own (klaxond exits with status 1 after a disk failure) is
started again a second later. A node the nemesis killed or paused stays
down until the nemesis brings it back.
"""

import glob
import os
import signal
import subprocess
import threading
import time

import net

RAFT_PORT = 7001
API_PORT = 7101
DISK_MB = 512  # tmpfs: only what is written uses memory
FAKETIME = (glob.glob("/usr/lib/*/faketime/libfaketime.so.1") or
            ["libfaketime.so.1"])[0]


def raft_addr(i):
    return "%s:%d" % (net.node_ip(i), RAFT_PORT)


def api_addr(i):
    return "%s:%d" % (net.node_ip(i), API_PORT)


class Node:
    """One klaxond: its directory, process and state."""

    def __init__(self, cluster, i):
        self.cluster = cluster
        self.id = i
        self.dir = os.path.join(cluster.dir, "node%d" % i)
        self.data = os.path.join(self.dir, "data")
        self.proc = None
        self.down = False  # held down by the nemesis
        self.paused = False
        self.restarts = 0

    def config_path(self):
        return os.path.join(self.dir, "klaxond.yaml")

    def clock_file(self):
        return os.path.join(self.dir, "faketime")

    def write_config(self, members, heartbeat_ms, election_ms):
        lines = [
            "node:",
            "  id: %d" % self.id,
            "  data_dir: data",
            "  raft_address: %s" % raft_addr(self.id),
            "  api_address: %s" % api_addr(self.id),
            "tls:",
            "  ca: ../tls/ca.pem",
            "  cert: ../tls/node%d.pem" % self.id,
            "  key: ../tls/node%d-key.pem" % self.id,
            "cluster:",
            "  members:",
        ]
        for j in members:
            lines.append("    - { id: %d, raft_address: %s, api_address: %s }"
                         % (j, raft_addr(j), api_addr(j)))
        lines += [
            "raft:",
            "  heartbeat_timeout: %dms" % heartbeat_ms,
            "  election_timeout: %dms" % election_ms,
            "log:",
            "  level: info",
        ]
        with open(self.config_path(), "w") as f:
            f.write("\n".join(lines) + "\n")

    def mount_disk(self):
        """A tmpfs of DISK_MB for the data, so that it can be filled."""
        os.makedirs(self.data, exist_ok=True)
        net.sh("mount", "-t", "tmpfs", "-o", "size=%dm" % DISK_MB,
               net.DISK_SOURCE, self.data)

    def unmount_disk(self):
        net.sh("umount", "-l", self.data, check=False)

    def start(self):
        env = dict(os.environ)
        if self.cluster.fake_clock:
            env.update({
                "LD_PRELOAD": FAKETIME,
                "FAKETIME_TIMESTAMP_FILE": self.clock_file(),
                "FAKETIME_NO_CACHE": "1",
                "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            })
        log = open(os.path.join(self.dir, "klaxond.log"), "ab")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", net.netns(self.id), self.cluster.klaxond,
             "--config", self.config_path()],
            stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True)
        log.close()
        self.paused = False

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.running():
            os.kill(self.proc.pid, sig)

    def kill(self):
        """SIGKILL and wait; the node stays down until revive()."""
        self.down = True
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def revive(self):
        self.down = False
        if not self.running():
            self.start()

    def pause(self):
        self.paused = True
        self.signal(signal.SIGSTOP)

    def resume(self):
        self.signal(signal.SIGCONT)
        self.paused = False

    def stop(self, timeout=20):
        """SIGTERM (SIGCONT first if paused), SIGKILL after the timeout."""
        self.down = True
        if not self.running():
            return None
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            return self.proc.wait()

    def fill_disk(self):
        """Take every free byte (as close as the filesystem allows)."""
        st = os.statvfs(self.data)
        size = st.f_bavail * st.f_frsize
        with open(os.path.join(self.data, "filler"), "wb") as f:
            while size > 0:
                try:
                    os.posix_fallocate(f.fileno(), 0, size)
                    return
                except OSError:
                    size -= 256 << 10

    def free_disk(self):
        try:
            os.unlink(os.path.join(self.data, "filler"))
        except FileNotFoundError:
            pass

    def set_clock(self, offset_s):
        """Move the node's wall clock by offset_s (libfaketime)."""
        tmp = self.clock_file() + ".tmp"
        with open(tmp, "w") as f:
            f.write("%+ds\n" % offset_s)
        os.replace(tmp, self.clock_file())


class Cluster:
    """The nodes of a run and their supervisor."""

    def __init__(self, run_dir, ids, klaxond, fake_clock=False):
        self.dir = run_dir
        self.klaxond = klaxond
        self.fake_clock = fake_clock
        self.nodes = {i: Node(self, i) for i in ids}
        self.stopping = False
        self.supervisor = None

    def ids(self):
        return sorted(self.nodes)

    def prepare(self, heartbeat_ms, election_ms, gen_certs):
        tls = os.path.join(self.dir, "tls")
        net.sh(gen_certs, "--dir", tls, "--nodes", str(len(self.nodes)),
               "--client", "admin",
               "--hosts", ",".join(net.node_ip(i) for i in self.ids()))
        for n in self.nodes.values():
            os.makedirs(n.dir, exist_ok=True)
            n.write_config(self.ids(), heartbeat_ms, election_ms)
            n.set_clock(0)
            n.mount_disk()

    def start(self):
        for n in self.nodes.values():
            n.start()
        self.supervisor = threading.Thread(target=self._supervise,
                                           daemon=True)
        self.supervisor.start()

    def _supervise(self):
        while not self.stopping:
            for n in self.nodes.values():
                if not n.down and not n.running() and n.proc is not None:
                    time.sleep(1.0)
                    if not self.stopping and not n.down and not n.running():
                        n.restarts += 1
                        n.start()
            time.sleep(0.2)

    def stop(self):
        """Stop every node; returns {id: exit status}."""
        self.stopping = True
        return {i: n.stop() for i, n in self.nodes.items()}

    def teardown(self):
        for n in self.nodes.values():
            if n.running():
                n.signal(signal.SIGCONT)
                n.signal(signal.SIGKILL)
            n.unmount_disk()

    def endpoints(self):
        return ",".join(api_addr(i) for i in self.ids())
