#!/usr/bin/env python3
"""How fast the simulator's checkers catch each planted bug.

Runs `simulate --planted_bug=NAME` over a range of seeds for every planted
bug of the cluster and prints, per bug, how many seeds caught it, the first
seed that did, and the median seeds-to-catch: the median gap between
consecutive catching seeds (counting from the start of the range), that is,
how many seeds one runs on average before the bug shows.

  planted_bugs.py SIMULATE_BINARY [--seeds=1..300] [--duration_s=10]
                  [--jobs=2] [--bugs=a,b]
"""

import argparse
import re
import statistics
import subprocess
import sys

CLUSTER_BUGS = [
    "majority_commit",
    "secondary_read",
    "lease_ge_grace",
    "ack_before_durable",
    "skip_reconciliation",
    "stale_ballot_prepare",
    "early_learner_upgrade",
    "promote_removed",
]


def seeds_to_catch(first_seed, caught):
    gaps = []
    previous = first_seed - 1
    for seed in sorted(caught):
        gaps.append(seed - previous)
        previous = seed
    return statistics.median(gaps) if gaps else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("simulate")
    parser.add_argument("--seeds", default="1..300")
    parser.add_argument("--duration_s", default="10")
    parser.add_argument("--jobs", default="2")
    parser.add_argument("--bugs", default=",".join(CLUSTER_BUGS))
    args = parser.parse_args()
    match = re.fullmatch(r"(\d+)\.\.(\d+)", args.seeds)
    if not match:
        sys.exit(f"--seeds={args.seeds}: expected A..B")
    first, last = int(match.group(1)), int(match.group(2))
    total = last - first + 1

    print(f"{'planted bug':<24}{'caught':>12}{'first':>8}"
          f"{'median seeds-to-catch':>24}")
    missed = []
    for bug in args.bugs.split(","):
        run = subprocess.run(
            [args.simulate, f"--seeds={args.seeds}",
             f"--duration_s={args.duration_s}", f"--jobs={args.jobs}",
             "--quiet", f"--planted_bug={bug}"],
            capture_output=True, text=True, check=False)
        if "seeds:" not in run.stdout:
            sys.exit(f"{bug}: simulate did not finish:\n{run.stderr[-2000:]}")
        caught = [int(seed) for seed in
                  re.findall(r"^FAIL seed=(\d+)", run.stdout, re.MULTILINE)]
        median = seeds_to_catch(first, caught)
        print(f"{bug:<24}{len(caught):>6} / {total:<4}"
              f"{min(caught) if caught else '-':>8}"
              f"{median if median is not None else '-':>24}")
        if not caught:
            missed.append(bug)
    if missed:
        print("never caught: " + ", ".join(missed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
