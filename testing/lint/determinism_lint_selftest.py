#!/usr/bin/env python3
"""Tests determinism_lint.py, so that a broken lint cannot pass silently.

Run from the workspace root (Bazel's sh_test does). Checks that:
  - testdata/violations.cc.txt yields exactly the violations its
    "// expect:" markers name, on those lines, in the documented format, and
    exits 1;
  - every rule has at least one example there;
  - testdata/clean.cc.txt, full of look-alikes, yields nothing and exits 0;
  - ALLOWED exempts a file from every rule or only from the rules listed;
  - the completeness check finds files the lint was not given.
"""

import os
import re
import subprocess
import sys
import tempfile

LINT = "testing/lint/determinism_lint.py"
VIOLATIONS = "testing/lint/testdata/violations.cc.txt"
CLEAN = "testing/lint/testdata/clean.cc.txt"

sys.path.insert(0, os.path.dirname(LINT))
import determinism_lint  # noqa: E402

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def run_lint(*args):
    result = subprocess.run([sys.executable, LINT, *args],
                            capture_output=True, text=True, check=False)
    return result.returncode, result.stdout, result.stderr


def expected_violations(path):
    """{(line, rule)} from the fixture's "// expect: a, b" markers."""
    expected = set()
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f.read().split("\n"), start=1):
            marker = re.search(r"// expect: (.+)$", line)
            if marker:
                for rule in marker.group(1).split(", "):
                    expected.add((number, rule.strip()))
    return expected


def test_violations_fixture():
    code, out, err = run_lint(VIOLATIONS)
    check(code == 1, f"violations fixture: exit {code}, want 1 ({err})")
    with open(VIOLATIONS, encoding="utf-8") as f:
        raw_lines = f.read().split("\n")
    line_format = re.compile(
        "^" + re.escape(VIOLATIONS) + r":(\d+): forbidden (.+?): (.*)$")
    reported = set()
    for line in out.splitlines():
        match = line_format.match(line)
        if not match:
            check(False, f"badly formatted report line: {line!r}")
            continue
        number, rule, source = int(match[1]), match[2], match[3]
        check(source == raw_lines[number - 1].strip(),
              f"line {number}: reported source {source!r} is not the line")
        check((number, rule) not in reported,
              f"line {number}: {rule} reported twice")
        reported.add((number, rule))
    expected = expected_violations(VIOLATIONS)
    for number, rule in sorted(expected - reported):
        check(False, f"{VIOLATIONS}:{number}: {rule} expected, not reported")
    for number, rule in sorted(reported - expected):
        check(False, f"{VIOLATIONS}:{number}: {rule} reported, not expected")

    code, out, _ = run_lint("--list-rules")
    rules = set(out.split("\n")) - {""}
    check(code == 0 and len(rules) == len(determinism_lint.RULES),
          "--list-rules does not list every rule once")
    exercised = {rule for _, rule in expected}
    for rule in sorted(rules - exercised):
        check(False, f"rule {rule!r} has no example in {VIOLATIONS}")
    for rule in sorted(exercised - rules):
        check(False, f"{VIOLATIONS} expects {rule!r}, which is no rule")


def test_clean_fixture():
    code, out, err = run_lint(CLEAN)
    check(code == 0, f"clean fixture: exit {code}, want 0 ({err})")
    check(out == "", f"clean fixture reported:\n{out}")


def test_allowed_entries():
    lint_text = determinism_lint.lint_text
    code = "std::thread t;\nstd::this_thread::sleep_for(d);\n"
    check(lint_text("pegasus/runtime/thread_pool.cc", code) == [],
          "a fully allowed file was reported")
    rules = {rule for _, rule, _ in lint_text("pegasus/core/x.cc", code)}
    check(rules == {"std::thread", "std::this_thread", "sleep_for"},
          f"an ordinary file got {sorted(rules)}")
    partly = "pegasus/storage/rocksdb/rocksdb_engine_test.cc"
    rules = {rule for _, rule, _ in lint_text(partly, code)}
    check(rules == {"std::thread"},
          f"a file allowed some rules got {sorted(rules)}, want std::thread")
    for path, (reason, _) in determinism_lint.ALLOWED.items():
        check(bool(reason and reason.strip()), f"{path}: allowed, no reason")


def test_completeness_check():
    with tempfile.TemporaryDirectory() as root:
        for path in ("pegasus/a/x.cc", "pegasus/b/y.h", "pegasus/b/notes.md"):
            os.makedirs(os.path.join(root, os.path.dirname(path)),
                        exist_ok=True)
            open(os.path.join(root, path), "w").close()
        missing = determinism_lint.find_unlinted("pegasus", ["pegasus/a/x.cc"],
                                                 root)
        check(missing == ["pegasus/b/y.h"],
              f"find_unlinted found {missing}, want ['pegasus/b/y.h']")
        missing = determinism_lint.find_unlinted(
            "pegasus", ["pegasus/a/x.cc", "pegasus/b/y.h"], root)
        check(missing == [], f"find_unlinted found {missing} in a full set")


def test_usage_errors():
    code, _, _ = run_lint("no/such/path.cc")
    check(code == 2, f"missing path: exit {code}, want 2")
    with tempfile.TemporaryDirectory() as empty:
        code, out, _ = run_lint(empty)
        check(code == 1 and "no files" in out,
              f"empty input: exit {code}, want 1 with 'no files'")


def main():
    test_violations_fixture()
    test_clean_fixture()
    test_allowed_entries()
    test_completeness_check()
    test_usage_errors()
    for failure in failures:
        print("FAIL:", failure)
    if failures:
        return 1
    print("determinism lint self-test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
