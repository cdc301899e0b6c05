#!/usr/bin/env python3
"""Turn the JSON lines of klaxon-bench (and etcd-bench, page-bench and
bench/restart.sh) into a readable table and one JSON document with the
settings of the run.

    bench/report.py LINES.jsonl OUT.json SECONDS OPEN_INCIDENTS HWM:ANON:FILE...
"""
import json
import os
import platform
import subprocess
import sys
import time


def version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


def package(name):
    return version(["dpkg-query", "-W", "-f=${Version}", name])


def settings(seconds, open_incidents, rss_kb):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "cpu": cpu,
                    "kernel": platform.release()},
        "klaxond": version(["build/klaxond", "--version"]),
        "libraft": package("libraft2"),
        "etcd": version(["etcd", "--version"]),
        "cluster": "3 nodes on 127.0.0.1, TLS 1.3 mutual, fsync on, data on "
                   "the normal disk, heartbeat 500ms, election 3s, "
                   "snapshot threshold 8192",
        "seconds_per_level": seconds,
        "warmup_seconds": 1,
        "open_incidents_at_end": open_incidents,
        "memory_kib_per_node": rss_kb,
    }


def table(results):
    rows = ["%-7s %-8s %8s %12s %9s %9s %9s %7s" % (
        "system", "op", "inflight", "ops/s", "p50 ms", "p99 ms", "p999 ms",
        "errors")]
    for r in results:
        rows.append("%-7s %-8s %8d %12.0f %9.2f %9.2f %9.2f %7d" % (
            r["system"], r["op"], r["concurrency"], r["ops_per_s"],
            r["p50_ms"], r["p99_ms"], r["p999_ms"], r["errors"]))
    return "\n".join(rows)


def ratios(results):
    etcd = {r["concurrency"]: r for r in results if r["system"] == "etcd"}
    out = []
    for r in results:
        e = etcd.get(r["concurrency"])
        if r["system"] != "klaxon" or r["op"] != "trigger" or e is None:
            continue
        out.append({
            "concurrency": r["concurrency"],
            "klaxon_triggers_per_s": r["ops_per_s"],
            "etcd_puts_per_s": e["ops_per_s"],
            "throughput_ratio": round(r["ops_per_s"] / e["ops_per_s"], 2)
            if e["ops_per_s"] else None,
            "p99_ratio": round(r["p99_ms"] / e["p99_ms"], 2)
            if e["p99_ms"] else None,
        })
    return out


def failover(results):
    out = {}
    for r in results:
        if "gap_ms" in r:
            out.setdefault(r["profile"], []).append(r["gap_ms"])
    return {p: {"kills_gaps_ms": sorted(g, reverse=True),
                "max_ms": max(g), "median_ms": sorted(g)[len(g) // 2]}
            for p, g in out.items()}


def restart(results):
    """The lines of bench/restart.sh, grouped; None if it did not run."""
    out = {"load": None, "memory": {}, "disk": {}, "stop_ms": {},
           "restarts": {}}
    for r in results:
        kind = r.get("bench", "")
        if kind == "restart_load":
            out["load"] = r
        elif kind == "restart_memory":
            out["memory"].setdefault(r["phase"], []).append(r)
        elif kind == "restart_disk":
            out["disk"]["node%d" % r["node"]] = r  # the last one counts
        elif kind == "restart_stop":
            out["stop_ms"][r["label"]] = r["stop_ms"]
        elif kind == "restart":
            run = out["restarts"].setdefault(r["label"], {"nodes": []})
            if "read_ms" in r:
                run["read_ms"] = r["read_ms"]
            else:
                run["nodes"].append(r)
    return out if out["load"] is not None else None


def mib(kib):
    return kib / 1024


def print_page(p):
    print("\ntrigger-to-page at %.0f triggers/s (%.0f/s achieved, %d "
          "threads) for %.1f s: %d/%d pages arrived (%d duplicates, %d "
          "trigger errors); p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms, max "
          "%.1f ms (the trigger call alone: p50 %.1f ms, p99 %.1f ms; calls "
          "started up to %.1f ms after their slot, p99 %.1f ms)" % (
              p["rate"], p["achieved_rate"], p["threads"], p["seconds"],
              p["pages_arrived"], p["pages_expected"], p["duplicates"],
              p["trigger_errors"], p["p50_ms"], p["p99_ms"], p["p999_ms"],
              p["max_ms"], p["trigger_p50_ms"], p["trigger_p99_ms"],
              p["start_lag_max_ms"], p["start_lag_p99_ms"]))


def print_memory(title, nodes):
    print("  %s (MiB): %s" % (title, "; ".join(
        "node%d peak RSS %.0f, heap %.0f + file pages %.0f" % (
            m["node"], mib(m["vmhwm_kib"]), mib(m["rss_anon_kib"]),
            mib(m["rss_file_kib"])) for m in nodes)))


def print_restart(rs):
    load = rs["load"]
    print("\nrestart with %d incidents stored (%d resolved, %d open; "
          "loaded in %.0f s: %.0f incidents/s, %.0f writes/s, %d errors%s)"
          % (load["incidents"], load["resolved"], load["open"],
             load["seconds"], load["incidents_per_s"], load["writes_per_s"],
             load["errors"], ", stopped at the time limit"
             if load["timed_out"] else ""))
    after = rs["memory"].get("after_load", [])
    mapped = after[0].get("state_mapped_mb", -1) if after else -1
    print("  limits.state_mapped_mb: %s" % (
        "klaxond's default" if mapped < 0 else "%d" % mapped))
    print_memory("memory after the load", after)
    for name, d in sorted(rs["disk"].items()):
        print("  %s on disk: LMDB %.0f MiB (%.0f MiB allocated), Raft log "
              "and snapshots %.0f MiB (%d snapshot(s), the latest at index "
              "%d, %.0f MiB; closed log segments hold entries %d..%d)" % (
                  name, d["state_bytes"] / 2**20,
                  d["state_alloc_bytes"] / 2**20, d["raft_bytes"] / 2**20,
                  d["snapshots"], d.get("snapshot_index", 0),
                  d.get("snapshot_bytes", 0) / 2**20,
                  d.get("log_first_index", 0), d.get("log_last_index", 0)))
    for label, run in rs["restarts"].items():
        stop = rs["stop_ms"].get(label)
        print("  %s: %s%s" % (
            label, "stopped in %.0f ms" % stop if stop is not None
            else "SIGKILLed",
            "; first linearizable read after %.2f s" % (run["read_ms"] / 1000)
            if "read_ms" in run else ""))
        for n in run["nodes"]:
            print("    %s ready after %.2f s (client port after %.2f s, %s); "
                  "peak RSS %.0f MiB, heap %.0f + file pages %.0f MiB" % (
                      n["endpoint"], n["ready_ms"] / 1000, n["api_ms"] / 1000,
                      n["role"], mib(n["vmhwm_kib"]), mib(n["rss_anon_kib"]),
                      mib(n["rss_file_kib"])))
    print_memory("memory 2 s after all three restarted",
                 rs["memory"].get("after_restart", []))


def main():
    lines, out, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    open_incidents = sys.argv[4]
    rss = []
    for node in sys.argv[5:]:
        hwm, anon, filep = (int(x) for x in node.split(":"))
        rss.append({"peak_rss": hwm, "rss_anon_at_end": anon,
                    "rss_file_at_end": filep})
    with open(lines) as f:
        results = [json.loads(line) for line in f if line.strip()]
    levels = [r for r in results if "concurrency" in r]
    pages = [r for r in results if r.get("bench") == "page"]
    doc = {"settings": settings(seconds, open_incidents, rss),
           "results": levels,
           "failover": failover(results),
           "ratios": ratios(levels),
           "trigger_to_page": pages[0] if pages else None,
           "restart": restart(results)}
    with open(out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print(table(levels))
    print("\nmemory per node (MiB): " + "; ".join(
        "peak RSS %.1f, at the end heap %.1f + file pages %.1f" % (
            m["peak_rss"] / 1024, m["rss_anon_at_end"] / 1024,
            m["rss_file_at_end"] / 1024) for m in rss) +
        " (%s open incidents)" % open_incidents)
    for p, f in doc["failover"].items():
        print("failover gaps (%s timeouts), longest stretch without a "
              "committed trigger around each leader kill: %s ms (median "
              "%.0f, max %.0f)" % (p, ", ".join("%.0f" % g for g in
                                             f["kills_gaps_ms"]),
                                  f["median_ms"], f["max_ms"]))
    if doc["trigger_to_page"] is not None:
        print_page(doc["trigger_to_page"])
    if doc["restart"] is not None:
        print_restart(doc["restart"])
    for r in doc["ratios"]:
        print("klaxon/etcd at %d in flight: %.2fx throughput "
              "(%.0f vs %.0f/s), p99 ratio %s" % (
                  r["concurrency"], r["throughput_ratio"] or 0,
                  r["klaxon_triggers_per_s"], r["etcd_puts_per_s"],
                  r["p99_ratio"]))


if __name__ == "__main__":
    main()
