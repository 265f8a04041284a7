#!/usr/bin/env python3
"""Engine/raw throughput ratios from storage_benchmark's output.

    python3 benchmarks/ratios.py RESULTS.json     (--benchmark_format=json)
    python3 benchmarks/ratios.py RESULTS.txt      (console output)
    python3 benchmarks/ratios.py --cpu RESULTS.json

With --cpu (JSON only), throughput is taken per CPU second of the benchmark
thread instead of per wall-clock second: it leaves out time spent waiting
for background flushes (write stalls) and so isolates the foreground cost.

Benchmarks come in pairs, BM_<op>/engine and BM_<op>/raw (Google Benchmark
may append /real_time and the like). Each pair may run several rounds; a
side's throughput is the median of its rounds' items_per_second. For each op
this prints

    ratio BM_<op> engine/raw = X.XX

where X.XX = throughput(engine) / throughput(raw): 1.00 is parity and higher
is better for the engine. Other sides of an op (the raw_meta* variants) are
printed against raw the same way. Stdlib only.
"""

import json
import re
import statistics
import sys

# Minimum engine/raw ratio per kind of op.
TARGETS = [("Put", 0.85), ("Get", 0.90), ("MultiGet", 0.90)]

_SUFFIX_SCALE = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


def split_name(name):
    """'BM_Put100B_Batch1/engine/real_time' -> ('BM_Put100B_Batch1', 'engine')."""
    parts = name.split("/")
    if len(parts) < 2 or not parts[0].startswith("BM_"):
        return None
    return parts[0], parts[1]


def parse_json(text, cpu=False):
    runs = []
    for bench in json.loads(text).get("benchmarks", []):
        if bench.get("run_type", "iteration") != "iteration" or bench.get("error_occurred"):
            continue
        if "items_per_second" not in bench:
            continue
        value = float(bench["items_per_second"])
        if cpu and bench.get("cpu_time", 0) > 0:
            # items_per_second is per wall-clock second under UseRealTime().
            value *= float(bench["real_time"]) / float(bench["cpu_time"])
        runs.append((bench["name"], value))
    return runs


_CONSOLE_LINE = re.compile(r"^(BM_\S+)\s.*\bitems_per_second=([0-9.]+)([kMGT]?)/s")


def parse_console(text):
    runs = []
    for line in text.splitlines():
        match = _CONSOLE_LINE.match(line)
        if match:
            value = float(match.group(2)) * _SUFFIX_SCALE[match.group(3)]
            runs.append((match.group(1), value))
    return runs


def parse(text, cpu=False):
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return parse_json(stripped, cpu)
    if cpu:
        raise SystemExit("ratios.py: --cpu needs JSON output")
    return parse_console(text)


def target_for(op):
    for prefix, target in TARGETS:
        if op.startswith("BM_" + prefix):
            return target
    return None


def main(argv):
    args = argv[1:]
    cpu = "--cpu" in args
    args = [a for a in args if a != "--cpu"]
    if len(args) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8") as f:
        runs = parse(f.read(), cpu)

    # op -> side -> [items_per_second per round], in first-seen order.
    throughput = {}
    for name, value in runs:
        split = split_name(name)
        if split is None:
            continue
        op, side = split
        throughput.setdefault(op, {}).setdefault(side, []).append(value)

    misses = []
    printed = 0
    for op, sides in throughput.items():
        if "raw" not in sides:
            continue
        raw = statistics.median(sides["raw"])
        for side, values in sides.items():
            if side == "raw" or raw <= 0:
                continue
            ratio = statistics.median(values) / raw
            line = f"ratio {op} {side}/raw = {ratio:.2f}"
            target = target_for(op)
            # Judged as printed, so that "0.90" never reads as a miss of 0.90.
            if side == "engine" and target is not None and round(ratio, 2) < target:
                line += " (below target)"
                misses.append(op)
            print(line)
            printed += 1
    if printed == 0:
        print("ratios.py: no BM_<op>/engine and BM_<op>/raw pairs found", file=sys.stderr)
        return 1
    print("targets: put >= 0.85, get >= 0.90 (engine/raw throughput; "
          "MultiGetRange10 counts as a get); "
          + (f"{len(misses)} below target: {', '.join(misses)}" if misses
             else "all met"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
