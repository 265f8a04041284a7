#!/usr/bin/env python3
"""Counts test cases from a Bazel build-event file and the test.xml files it names.

Usage: test_summary.py BUILD_EVENTS.json BAZEL_EXIT_CODE

Prints the failing cases, a line for skipped cases, and last the plain line
"N passed, N failed". Only the last attempt of each test run and shard counts
(with --flaky_test_attempts). A test target that failed without a readable
test.xml, and any target that failed to build, count as one failed case each;
tests left out by filters are not counted. Disabled and skipped cases count as
skipped. Exits non-zero when anything failed.
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
        elif (case.get("status") == "notrun" or
              case.get("result") in ("skipped", "suppressed") or
              case.find("skipped") is not None):
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def last_attempts(events):
    """The testResult events that count: the last attempt of each run/shard."""
    latest = {}
    for event in events:
        event_id = event.get("id", {}).get("testResult")
        if event_id is None or "testResult" not in event:
            continue
        key = (event_id["label"], event_id.get("run", 1), event_id.get("shard", 1))
        attempt = event_id.get("attempt", 1)
        if key not in latest or attempt >= latest[key][0]:
            latest[key] = (attempt, event)
    return [event for _, event in latest.values()]


def failed_builds(events):
    """Labels of targets that failed to build."""
    labels = []
    for event in events:
        target = event.get("id", {}).get("targetCompleted")
        if target is None:
            continue
        if "aborted" in event or not event.get("completed", {}).get("success", False):
            labels.append(target["label"])
    return labels


def main():
    events = read_events(sys.argv[1])
    bazel_exit = int(sys.argv[2])
    passed, failed, skipped = 0, [], 0
    for event in last_attempts(events):
        label = event["id"]["testResult"]["label"]
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
    for label in sorted(set(failed_builds(events))):
        failed.append("%s: failed to build" % label)
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
