#!/usr/bin/env python3
"""Counts test cases from a Bazel build-event file and the test.xml files it names.

Usage: test_summary.py BUILD_EVENTS.json BAZEL_EXIT_CODE

Prints the failing cases, a line for skipped cases, and last the plain line
"N passed, N failed". A test target that failed without a readable test.xml,
and a test target that never ran because its build failed, count as one failed
case each. Exits non-zero when anything failed.
"""

import json
import sys
import urllib.parse
import xml.etree.ElementTree as ElementTree


def read_events(path):
    events = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                events.append(json.loads(line))
    return events


def xml_path(test_result):
    for output in test_result.get("testActionOutput", []):
        if output.get("name") == "test.xml":
            uri = output.get("uri", "")
            if uri.startswith("file://"):
                return urllib.parse.unquote(uri[len("file://"):])
    return None


def count_cases(path):
    """Returns (passed, failed names, skipped) for one gtest XML file."""
    root = ElementTree.parse(path).getroot()
    passed, failed, skipped = 0, [], 0
    for case in root.iter("testcase"):
        name = "%s.%s" % (case.get("classname", ""), case.get("name", ""))
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(name)
        elif case.get("result") == "skipped" or case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def main():
    events = read_events(sys.argv[1])
    bazel_exit = int(sys.argv[2])
    passed, failed, skipped = 0, [], 0
    ran = set()
    test_targets = set()
    for event in events:
        event_id = event.get("id", {})
        if "testResult" in event_id and "testResult" in event:
            label = event_id["testResult"]["label"]
            ran.add(label)
            result = event["testResult"]
            status = result.get("status", "")
            path = xml_path(result)
            try:
                p, f, s = count_cases(path) if path else (0, [], 0)
            except (OSError, ElementTree.ParseError):
                p, f, s = 0, [], 0
            if status != "PASSED" and not f:
                f = ["%s (%s)" % (label, status)]
            passed, skipped = passed + p, skipped + s
            failed += ["%s: %s" % (label, name) for name in f]
        if "targetConfigured" in event_id:
            kind = event.get("configured", {}).get("targetKind", "")
            if kind.endswith("_test rule"):
                test_targets.add(event_id["targetConfigured"]["label"])
    for label in sorted(test_targets - ran):
        failed.append("%s: did not run (build failed)" % label)
    if bazel_exit != 0 and not failed:
        failed.append("bazel exited with code %d" % bazel_exit)
    for name in failed:
        print("FAILED " + name)
    if skipped:
        print("%d skipped" % skipped)
    print("%d passed, %d failed" % (passed, len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
