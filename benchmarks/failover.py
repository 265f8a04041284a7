"""How long writes stop when the server holding a primary is killed
(./run.sh bench failover).

Starts a cluster of daemons (1 meta server, 3 replica servers, a table of 8
partitions) in a temporary directory and, each round, runs failover_probe
(a writer per partition without pause), kills with SIGKILL the replica
server holding the most primaries, and measures for each of its partitions
the longest time without an acknowledged write that reaches past the kill,
counted from the kill at the earliest: the unavailability window. (Not
simply the time to the first acknowledgement after the kill: the killed
primary may still acknowledge a write in the instant before it dies.) The
server is then started again and the cluster left to heal before the next
round.

  failover.py --bin=DAEMONS_DIR --probe=FAILOVER_PROBE [--rounds=3]
"""

import argparse
import json
import os
import shutil
import signal
import tempfile
import time

from local_cluster import LocalCluster


def unavailability_s(acked, kill_ns):
    """The longest silence between acknowledgements that ends after the
    kill, from the kill or the acknowledgement before the silence, whichever
    is later; infinite when no write was acknowledged after the kill."""
    times = sorted(acked)
    if not times or times[-1] <= kill_ns:
        return float("inf")
    worst = 0
    previous = kill_ns
    for t in times:
        if t > kill_ns:
            worst = max(worst, t - max(previous, kill_ns))
        previous = t
    return worst / 1e9


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--probe", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="pegasus-failover-")
    cluster = LocalCluster(root, args.bin, base_port=37600)
    windows = []
    try:
        cluster.start(replicas=3, table="failover", partitions=8)
        for round_ in range(1, args.rounds + 1):
            out = os.path.join(root, f"probe{round_}.json")
            probe = cluster.spawn([
                args.probe, f"--meta={cluster.meta}", "--table=failover",
                "--duration_s=12", f"--out={out}"])
            time.sleep(3)
            primaries = cluster.primaries("failover")
            counts = {}
            for address in primaries.values():
                counts[address] = counts.get(address, 0) + 1
            victim_address = max(counts, key=counts.get)
            victim = cluster.name_of(victim_address)
            theirs = sorted(p for p, a in primaries.items()
                            if a == victim_address)
            kill_ns = time.monotonic_ns()
            cluster.kill(victim, signal.SIGKILL)
            probe.wait(timeout=60)
            with open(out) as f:
                acked = json.load(f)["acked_ns"]
            worst = 0.0
            per_partition = []
            for p in theirs:
                window = unavailability_s(acked[str(p)], kill_ns)
                per_partition.append(f"{p}: {window:.2f} s")
                worst = max(worst, window)
            windows.append(worst)
            print(f"round {round_}: killed {victim} ({victim_address}), "
                  f"primary of partitions {theirs}; longest time without a "
                  f"write to them: {', '.join(per_partition)}", flush=True)
            cluster.restart(victim)
            cluster.shell("wait_healthy --timeout_s 60")
    finally:
        cluster.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    print(f"\nunavailability window (the longest time any of the killed "
          f"server's partitions took no write): " +
          ", ".join(f"{w:.2f} s" for w in windows) +
          f"; worst {max(windows):.2f} s")


if __name__ == "__main__":
    main()
