"""Pegasus against etcd on this machine, in one run (./run.sh bench compare).

Starts a onebox (1 meta server, 3 replica servers, the log synced on every
group commit) in a temporary directory and a 3-member etcd cluster on
loopback, then for each system and each concurrency (1 and 64 clients):
puts of 1 KB values (pegasus_bench's load phase), then linearizable gets of
them (workload c). Prints throughput and p99 latency of both, and the
ratios. Every process it starts is stopped by its pid at the end.

  compare.py --bench=BIN --onebox_bin=DIR [--puts=N] [--gets=N] [--rounds=5]
             [--json=F]
"""

import argparse
import json
import os
import shutil
import subprocess
import tempfile

from local_cluster import LocalCluster, wait_for

ETCD_MEMBERS = [("m1", 23790, 23800), ("m2", 23791, 23801),
                ("m3", 23792, 23802)]


def start_etcd(cluster, root):
    initial = ",".join(f"{name}=http://127.0.0.1:{peer}"
                       for name, _, peer in ETCD_MEMBERS)
    for name, client, peer in ETCD_MEMBERS:
        log = open(f"{root}/etcd-{name}.log", "ab")
        cluster.spawn([
            "etcd", "--name", name, "--data-dir", f"{root}/etcd-{name}",
            "--listen-client-urls", f"http://127.0.0.1:{client}",
            "--advertise-client-urls", f"http://127.0.0.1:{client}",
            "--listen-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", initial, "--initial-cluster-state", "new",
            "--initial-cluster-token", "pegasus-compare",
            "--log-level", "warn"
        ], stdout=log, stderr=subprocess.STDOUT)
        log.close()
    endpoints = ",".join(f"127.0.0.1:{client}" for _, client, _ in
                         ETCD_MEMBERS)

    def healthy():
        result = subprocess.run(
            ["etcdctl", "--endpoints", endpoints, "endpoint", "health"],
            capture_output=True, text=True,
            env=dict(os.environ, ETCDCTL_API="3"))
        return result.returncode == 0
    wait_for(healthy, "etcd")
    return endpoints


def bench(binary, target_args, threads, puts, gets, root, label):
    """Puts (the load phase) then linearizable gets; the JSON report."""
    out = f"{root}/{label}-{threads}.json"
    args = [binary] + target_args + [
        "--workload=c", f"--records={puts}", f"--operations={gets}",
        f"--threads={threads}", "--value_size=1000", f"--json={out}"]
    print(f"  {label}, {threads} clients ...", flush=True)
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        return json.load(f)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", required=True)
    parser.add_argument("--onebox_bin", required=True)
    parser.add_argument("--puts", type=int, default=20000)
    parser.add_argument("--gets", type=int, default=50000)
    parser.add_argument("--json", default="")
    parser.add_argument("--rounds", type=int, default=5,
                        help="runs of each system, alternated; the medians "
                        "are reported (the machine is noisy)")
    args = parser.parse_args()
    if shutil.which("etcd") is None:
        raise SystemExit("compare: etcd is not installed (Debian's "
                         "etcd-server; ./run.sh installs it)")
    root = tempfile.mkdtemp(prefix="pegasus-compare-")
    cluster = LocalCluster(root, args.onebox_bin)
    results = {}
    try:
        cluster.start(replicas=3, table="bench", partitions=8)
        meta = cluster.meta
        endpoints = start_etcd(cluster, root)
        for round_ in range(args.rounds):
            for threads in (1, 64):
                # Fewer operations at one client: it is latency-bound.
                puts = args.puts if threads > 1 else max(1, args.puts // 10)
                gets = args.gets if threads > 1 else max(1, args.gets // 10)
                results.setdefault(("pegasus", threads), []).append(bench(
                    args.bench, ["--target=daemons", f"--meta={meta}",
                                 "--table=bench"],
                    threads, puts, gets, root, "pegasus"))
                results.setdefault(("etcd", threads), []).append(bench(
                    args.bench, ["--target=etcd", f"--etcd={endpoints}"],
                    threads, puts, gets, root, "etcd"))
    finally:
        cluster.stop_all()
        shutil.rmtree(root, ignore_errors=True)

    def median(system, threads, phase, op):
        """The run with the median throughput, of the rounds."""
        runs = sorted((r["phases"][phase]["ops"][op]
                       for r in results[(system, threads)]),
                      key=lambda o: o["ops_per_s"])
        return runs[len(runs) // 2]

    rows = []
    summary = {}
    for threads in (1, 64):
        for phase, op, name in (("load", "insert", "put"),
                                ("run", "read", "get")):
            p = median("pegasus", threads, phase, op)
            e = median("etcd", threads, phase, op)
            rows.append((name, threads, p, e))
            summary[f"{name}_{threads}"] = {"pegasus": p, "etcd": e}
    print()
    print(f"{'op':<4} {'clients':>7} {'pegasus ops/s':>14} {'etcd ops/s':>11} "
          f"{'ratio':>6} {'pegasus p99 ms':>15} {'etcd p99 ms':>12} "
          f"{'p99 ratio':>9}")
    for name, threads, p, e in rows:
        ratio = p["ops_per_s"] / max(e["ops_per_s"], 1e-9)
        p99_ratio = p["p99_us"] / max(e["p99_us"], 1e-9)
        print(f"{name:<4} {threads:>7} {p['ops_per_s']:>14.0f} "
              f"{e['ops_per_s']:>11.0f} {ratio:>5.2f}x "
              f"{p['p99_us'] / 1000:>15.2f} {e['p99_us'] / 1000:>12.2f} "
              f"{p99_ratio:>8.2f}x")
    print(f"\nThe median of {args.rounds} alternated runs of each. ratio: "
          "Pegasus's throughput over etcd's (higher is better); p99 ratio: "
          "Pegasus's p99 over etcd's (lower is better).")
    for name, _, p, e in rows:
        if p["failed"] or e["failed"]:
            print(f"note: failed {name}s: pegasus {p['failed']}, "
                  f"etcd {e['failed']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
