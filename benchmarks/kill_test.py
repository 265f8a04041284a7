"""./run.sh kill_test: writers and readers against a cluster of daemons
while random meta and replica servers are killed (SIGKILL) and started
again; at the end every partition must be healthy, no acknowledged write
may be lost, and the client history must be linearizable.

Starts 1 meta server and 3 replica servers (a table of 8 partitions) in a
temporary directory and kill_test_client. Every 2-5 s one server, the meta
server among them, is killed; 1-3 s later it is started again (with its
data and address). After --duration_s the faults stop, the cluster heals,
the client reads every key back and reports lost writes, and
check_history judges the history (kept with --history=FILE).

  kill_test.py --bin=DAEMONS_DIR --client=BIN --checker=BIN
               [--duration_s=60] [--seed=N] [--history=FILE]
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

from local_cluster import LocalCluster


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--client", required=True)
    parser.add_argument("--checker", required=True)
    parser.add_argument("--duration_s", type=float, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--history", default="")
    args = parser.parse_args()
    seed = args.seed or int(time.time())
    rng = random.Random(seed)
    root = tempfile.mkdtemp(prefix="pegasus-kill-test-")
    history = args.history or os.path.join(root, "history.jsonl")
    done = os.path.join(root, "done")
    cluster = LocalCluster(root, args.bin, base_port=38600)
    kills = 0
    # Until the run gets through: a cluster that fails to start keeps its
    # directory too (and `finally` never meets an unset `failed`).
    failed = True
    try:
        cluster.start(replicas=3, table="kill", partitions=8)
        print(f"kill test: seed {seed}, {args.duration_s:.0f} s, data in "
              f"{root}", flush=True)
        client = cluster.spawn([
            args.client, f"--meta={cluster.meta}", "--table=kill",
            f"--duration_s={args.duration_s}", f"--done_file={done}",
            f"--history={history}"], stdout=subprocess.PIPE, text=True)
        end = time.monotonic() + args.duration_s
        while time.monotonic() + 2 < end:
            time.sleep(rng.uniform(2, 5))
            victim = rng.choice(sorted(cluster.instances))
            cluster.kill(victim)
            kills += 1
            down = rng.uniform(1, 3)
            print(f"  {time.monotonic() - end + args.duration_s:6.1f} s: "
                  f"killed {victim}, back in {down:.1f} s", flush=True)
            time.sleep(down)
            cluster.restart(victim)
        cluster.shell("wait_healthy --timeout_s 120")
        with open(done, "w"):
            pass
        out, _ = client.communicate(timeout=600)
        print(out, end="")
        health = cluster.shell("app kill").splitlines()[-1]
        print(f"{kills} kills; at the end: {health}")
        check = subprocess.run([args.checker, history], capture_output=True,
                               text=True)
        print("linearizability: " + (check.stdout.strip().splitlines() or
                                     ["(no output)"])[0])
        if args.history:
            print(f"history: {history}")
        failed = client.returncode != 0 or check.returncode != 0
    finally:
        cluster.stop_all()
        if not failed:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"kept for inspection: {root}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
