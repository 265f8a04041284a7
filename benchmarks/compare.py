"""Pegasus against etcd on this machine, in one run (./run.sh bench compare).

Starts a onebox (1 meta server, 3 replica servers, the log synced on every
group commit) in a temporary directory and a 3-member etcd cluster on
loopback, then for each system and each concurrency (1 and 64 clients):
puts of 1 KB values (pegasus_bench's load phase), then linearizable gets of
them (workload c). Prints throughput and p99 latency of both, and the
ratios. Every process it starts is stopped by its pid at the end.

  compare.py --bench=BIN --onebox_bin=DIR [--puts=N] [--gets=N] [--json=F]
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ETCD_MEMBERS = [("m1", 23790, 23800), ("m2", 23791, 23801),
                ("m3", 23792, 23802)]


def wait_for(predicate, what, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise SystemExit(f"compare: timed out waiting for {what}")


class Processes:
    """Processes started here, stopped by pid (SIGTERM, then SIGKILL)."""

    def __init__(self):
        self.started = []

    def start(self, args, log_path):
        with open(log_path, "ab") as log:
            process = subprocess.Popen(args, stdout=log,
                                       stderr=subprocess.STDOUT)
        self.started.append(process)
        return process

    def stop_all(self):
        for process in reversed(self.started):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(self.started):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start_onebox(processes, root, bin_dir):
    meta_port = 35601
    meta = ["--listen=127.0.0.1:%d" % meta_port, "--http_port=-1",
            f"--data_dir={root}/meta/data", "--min_live_nodes=3",
            f"--ready_file={root}/meta/ready", "--log_level=warn"]
    os.makedirs(f"{root}/meta", exist_ok=True)
    processes.start([f"{bin_dir}/meta_server"] + meta, f"{root}/meta/log")
    wait_for(lambda: os.path.exists(f"{root}/meta/ready"), "the meta server")
    for i in range(1, 4):
        d = f"{root}/replica{i}"
        os.makedirs(d, exist_ok=True)
        processes.start([
            f"{bin_dir}/replica_server", f"--listen=127.0.0.1:{35800 + i}",
            f"--meta=127.0.0.1:{meta_port}", f"--data_dir={d}/data",
            "--http_port=-1", f"--ready_file={d}/ready", "--log_level=warn"
        ], f"{d}/log")
        wait_for(lambda: os.path.exists(f"{d}/ready"), f"replica server {i}")
    shell = [f"{bin_dir}/pegasus_shell", f"--meta=127.0.0.1:{meta_port}",
             "-e", "create bench -p 8 -r 3; wait_healthy --timeout_s 60"]
    subprocess.run(shell, check=True, stdout=subprocess.DEVNULL)
    return f"127.0.0.1:{meta_port}"


def start_etcd(processes, root):
    cluster = ",".join(f"{name}=http://127.0.0.1:{peer}"
                       for name, _, peer in ETCD_MEMBERS)
    for name, client, peer in ETCD_MEMBERS:
        processes.start([
            "etcd", "--name", name, "--data-dir", f"{root}/etcd-{name}",
            "--listen-client-urls", f"http://127.0.0.1:{client}",
            "--advertise-client-urls", f"http://127.0.0.1:{client}",
            "--listen-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", cluster, "--initial-cluster-state", "new",
            "--initial-cluster-token", "pegasus-compare",
            "--log-level", "warn"
        ], f"{root}/etcd-{name}.log")
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
    args = parser.parse_args()
    if shutil.which("etcd") is None:
        raise SystemExit("compare: etcd is not installed (Debian's "
                         "etcd-server; ./run.sh installs it)")
    root = tempfile.mkdtemp(prefix="pegasus-compare-")
    processes = Processes()
    results = {}
    try:
        meta = start_onebox(processes, root, args.onebox_bin)
        endpoints = start_etcd(processes, root)
        for threads in (1, 64):
            # Fewer operations at one client: it is latency-bound.
            puts = args.puts if threads > 1 else max(1, args.puts // 10)
            gets = args.gets if threads > 1 else max(1, args.gets // 10)
            results[("pegasus", threads)] = bench(
                args.bench, ["--target=daemons", f"--meta={meta}",
                             "--table=bench"],
                threads, puts, gets, root, "pegasus")
            results[("etcd", threads)] = bench(
                args.bench, ["--target=etcd", f"--etcd={endpoints}"],
                threads, puts, gets, root, "etcd")
    finally:
        processes.stop_all()
        shutil.rmtree(root, ignore_errors=True)

    rows = []
    summary = {}
    for threads in (1, 64):
        for phase, op, name in (("load", "insert", "put"),
                                ("run", "read", "get")):
            p = results[("pegasus", threads)]["phases"][phase]["ops"][op]
            e = results[("etcd", threads)]["phases"][phase]["ops"][op]
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
    print("\nratio: Pegasus's throughput over etcd's (higher is better); "
          "p99 ratio: Pegasus's p99 over etcd's (lower is better).")
    for name, _, p, e in rows:
        if p["failed"] or e["failed"]:
            print(f"note: failed {name}s: pegasus {p['failed']}, "
                  f"etcd {e['failed']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
