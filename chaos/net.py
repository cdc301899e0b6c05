"""Hosts for chaos runs: one network namespace per klaxond node, joined by a
bridge in the harness's own namespace, and partitions made of nftables
drops inside the nodes' namespaces.

Addresses: the bridge (the harness, its clients and the page receiver) is
10.77.0.1/24; node i is 10.77.0.(10+i). Every name the harness creates
starts with "kx" so that leftovers are easy to find and remove.
"""

import subprocess

PREFIX = "kx"
BRIDGE = PREFIX + "br0"
SUBNET = "10.77.0"
HOST_IP = SUBNET + ".1"


def node_ip(i):
    return "%s.%d" % (SUBNET, 10 + i)


def netns(i):
    return "%sn%d" % (PREFIX, i)


def _veth(i):
    return "%sv%d" % (PREFIX, i)


def sh(*args, check=True):
    """Run a command and return its output; when it fails, raise with its
    stderr (check) or return None."""
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        if check:
            raise RuntimeError("%s: %s" % (" ".join(args), r.stderr.strip()))
        return None
    return r.stdout


# The source name of every data-dir tmpfs the harness mounts, so that an
# interrupted run's mounts can be found again.
DISK_SOURCE = "klaxon-chaos"


def _disk_mounts():
    found = []
    with open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) > 1 and parts[0] == DISK_SOURCE:
                found.append(parts[1].replace("\\040", " "))
    return found


def leftovers():
    """Namespaces, links and data mounts of an earlier run still there."""
    found = ["mount " + m for m in _disk_mounts()]
    out = sh("ip", "netns", "list", check=False) or ""
    for line in out.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(PREFIX):
            found.append("netns " + name)
    out = sh("ip", "-o", "link", "show", check=False) or ""
    for line in out.splitlines():
        parts = line.split(":")
        if len(parts) > 1:
            name = parts[1].strip().split("@")[0]
            if name.startswith(PREFIX):
                found.append("link " + name)
    return found


def cleanup():
    """Remove everything named kx* (namespaces, veths, the bridge) and
    unmount the data filesystems."""
    for item in leftovers():
        kind, name = item.split(" ", 1)
        if kind == "mount":
            sh("umount", "-l", name, check=False)
        elif kind == "netns":
            sh("ip", "netns", "del", name, check=False)
        else:
            sh("ip", "link", "del", name, check=False)


def create(nodes):
    """The bridge and one namespace per node, all up."""
    sh("ip", "link", "add", BRIDGE, "type", "bridge")
    sh("ip", "addr", "add", HOST_IP + "/24", "dev", BRIDGE)
    sh("ip", "link", "set", BRIDGE, "up")
    for i in nodes:
        ns, veth = netns(i), _veth(i)
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", veth, "type", "veth", "peer", "name",
           veth + "p")
        sh("ip", "link", "set", veth + "p", "netns", ns)
        sh("ip", "link", "set", veth, "master", BRIDGE)
        sh("ip", "link", "set", veth, "up")
        inside = ("ip", "netns", "exec", ns)
        sh(*inside, "ip", "link", "set", "lo", "up")
        sh(*inside, "ip", "link", "set", veth + "p", "name", "eth0")
        sh(*inside, "ip", "addr", "add", node_ip(i) + "/24", "dev", "eth0")
        sh(*inside, "ip", "link", "set", "eth0", "up")
        sh(*inside, "nft", "add", "table", "inet", "kx")
        for chain, hook in (("in", "input"), ("out", "output")):
            sh(*inside, "nft", "add", "chain", "inet", "kx", chain,
               "{ type filter hook %s priority 0 ; policy accept ; }" % hook)


def cut(i, peers):
    """Node i drops all traffic to and from the given peer nodes."""
    if not peers:
        return
    ips = ", ".join(node_ip(p) for p in sorted(peers))
    inside = ("ip", "netns", "exec", netns(i), "nft")
    sh(*inside, "add", "rule", "inet", "kx", "in", "ip", "saddr",
       "{ %s }" % ips, "drop")
    sh(*inside, "add", "rule", "inet", "kx", "out", "ip", "daddr",
       "{ %s }" % ips, "drop")


def heal(nodes):
    """Every node talks to every other again."""
    for i in nodes:
        inside = ("ip", "netns", "exec", netns(i), "nft")
        sh(*inside, "flush", "chain", "inet", "kx", "in")
        sh(*inside, "flush", "chain", "inet", "kx", "out")


def partition(nodes, groups):
    """Only nodes in the same group talk to each other. A node may be in
    several groups (a bridge node): it then talks to all their members."""
    for i in nodes:
        reach = set()
        for g in groups:
            if i in g:
                reach |= set(g)
        cut(i, [p for p in nodes if p not in reach])
