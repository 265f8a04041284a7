#!/usr/bin/env python3
"""The determinism lint: no clocks, threads, sleeps or unseeded randomness.

Code in pegasus/ reaches time, concurrency and randomness only through the
injected seams (Clock, Executor, Random; see DESIGN.md section 2), so that the
simulator can run it deterministically. This lint fails on direct uses of the
forbidden facilities anywhere except in the seams' production
implementations, which are listed in ALLOWED with the reason for each.

Comments, string literals and character literals are blanked before
matching, so prose and log messages may mention anything.

Usage:
  determinism_lint.py [--check-complete] PATH...
    Lints each file PATH (whatever its name) and every .h/.cc/.hpp/.cpp file
    under each directory PATH. Paths are reported, and matched against
    ALLOWED, relative to the current directory. Prints one line per
    violation, "path:line: forbidden <what>: <source line>", and exits 1 if
    there is any.
    --check-complete: also fail for any C++ file in the source tree under a
    PATH directory that was not among the files linted (see
    find_unlinted below).
  determinism_lint.py --list-rules
    Prints the name of every rule, one per line.

Standard library only: runs on Debian's python3 with nothing installed.
"""

import os
import re
import sys

CPP_SUFFIXES = (".h", ".cc", ".hpp", ".cpp")


def _free_call(name):
    """A call of the free function `name`: `name(`, `::name(` or `std::name(`.

    Not a member call (`x.name(`, `p->name(`), not a qualified name of ours
    (`Foo::name(`), and not an identifier that merely ends in `name`
    (`expire_time(`, `runtime(`).
    """
    return (r"(?:(?<![\w.:>$])|(?<![\w:])::|(?<![\w:])std::)" + name +
            r"\s*\(")


def _word(text):
    """`text` as a whole token: not part of a longer identifier."""
    return r"(?<![\w])" + re.escape(text) + r"(?![\w])"


# (name printed in reports, pattern). Each rule should have an example in
# testdata/violations.cc.txt; the self-test checks that every one does.
RULES = [
    # Clocks. Any mention of a std::chrono clock is a way to read it.
    ("std::chrono::system_clock", _word("system_clock")),
    ("std::chrono::steady_clock", _word("steady_clock")),
    ("std::chrono::high_resolution_clock", _word("high_resolution_clock")),
    ("std::chrono::utc_clock", _word("utc_clock")),
    ("std::chrono::tai_clock", _word("tai_clock")),
    ("std::chrono::gps_clock", _word("gps_clock")),
    ("std::chrono::file_clock", _word("file_clock")),
    ("time()", _free_call("time")),
    ("gettimeofday", _word("gettimeofday")),
    ("clock_gettime", _word("clock_gettime")),
    ("timespec_get", _word("timespec_get")),
    ("absl::Now", _word("absl::Now")),
    ("absl::GetCurrentTimeNanos", _word("absl::GetCurrentTimeNanos")),
    # Randomness that no seed controls.
    ("std::random_device", _word("random_device")),
    ("rand()", _free_call("rand")),
    ("srand()", _free_call("srand")),
    ("random()", _free_call("random")),
    ("srandom()", _free_call("srandom")),
    ("drand48()", _free_call("drand48")),
    ("lrand48()", _free_call("lrand48")),
    ("absl::BitGen", _word("absl::BitGen")),
    ("absl::InsecureBitGen", _word("absl::InsecureBitGen")),
    # Threads.
    ("std::thread", _word("std::thread")),
    ("std::jthread", _word("std::jthread")),
    ("pthread_create", _word("pthread_create")),
    ("std::async", _word("std::async")),
    # Sleeping.
    ("sleep()", _free_call("sleep")),
    ("usleep()", _free_call("usleep")),
    ("nanosleep", _word("nanosleep")),
    ("clock_nanosleep", _word("clock_nanosleep")),
    ("sleep_for", _word("sleep_for")),
    ("sleep_until", _word("sleep_until")),
    ("std::this_thread", _word("this_thread")),
    ("absl::SleepFor", _word("absl::SleepFor")),
]

_COMPILED_RULES = [(name, re.compile(pattern)) for name, pattern in RULES]

# path -> (reason, rules allowed there; None means every rule). Paths are
# relative to the workspace root. Keep each entry as narrow as it can be.
ALLOWED = {
    "pegasus/runtime/real_clock.cc": (
        "RealClock(): the production Clock reads steady_clock and "
        "system_clock", None),
    "pegasus/runtime/posix_file_system.cc": (
        "the production FileSystem: real system calls", None),
    "pegasus/runtime/thread_pool.h": (
        "ThreadPool: the production Executor owns its threads", None),
    "pegasus/runtime/thread_pool.cc": (
        "ThreadPool: the production Executor creates threads and waits on "
        "steady_clock", None),
    "pegasus/runtime/in_process_transport.h": (
        "InProcessNetwork: a production Transport; thread-safe across "
        "executors", None),
    "pegasus/runtime/in_process_transport.cc": (
        "InProcessNetwork: a production Transport; identifies the thread "
        "inside a receiver (std::this_thread::get_id)", None),
    "pegasus/storage/rocksdb/rocksdb_engine_test.cc": (
        "tests the real RocksDB engine, whose flushes run on RocksDB's own "
        "background threads: the test polls for one with a deadline",
        {"std::chrono::steady_clock", "sleep_for", "std::this_thread"}),
}


def _blank(chars, start, end):
    """Replaces chars[start:end] with spaces, keeping line breaks."""
    for k in range(start, end):
        if chars[k] != "\n":
            chars[k] = " "


def _blank_literal(chars, text, start, end):
    """Blanks a literal's contents between its quotes at start and end - 1
    (when it is unterminated, up to end)."""
    closed = end - 1 > start and text[end - 1] == text[start]
    _blank(chars, start + 1, end - 1 if closed else end)


def _identifier_before(text, i):
    """The identifier that ends right before position i, or ''."""
    j = i
    while j > 0 and (text[j - 1].isalnum() or text[j - 1] == "_"):
        j -= 1
    return text[j:i]


def _skip_quoted(text, i, quote):
    """Position just past the literal whose opening quote is at i.

    Stops at an unescaped line break too, so a stray quote cannot swallow
    the rest of the file.
    """
    n = len(text)
    k = i + 1
    while k < n:
        if text[k] == "\\":
            k += 2
            continue
        if text[k] == quote:
            return k + 1
        if text[k] == "\n":
            return k
        k += 1
    return n


def _skip_raw_string(text, i):
    """Position just past the raw string literal whose '"' is at i."""
    open_paren = text.find("(", i + 1)
    if open_paren < 0 or open_paren - i - 1 > 16:
        return _skip_quoted(text, i, '"')  # Not a well-formed raw string.
    delimiter = text[i + 1:open_paren]
    close = text.find(")" + delimiter + '"', open_paren + 1)
    if close < 0:
        return len(text)
    return close + len(delimiter) + 2


def strip_code(text):
    """`text` with comments and literal contents blanked, line breaks kept.

    Quotes stay so that the result still reads as code. Handles // and /* */
    comments (and // comments continued by a trailing backslash), string
    literals with escapes, raw string literals R"d(...)d" with any encoding
    prefix, character literals with prefixes, and digit separators
    (1'000'000), which are not character literals.
    """
    chars = list(text)
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "/":
            end = i
            while end < n and text[end] != "\n":
                end += 2 if text[end] == "\\" and end + 1 < n else 1
            _blank(chars, i, end)
            i = end
        elif c == "/" and nxt == "*":
            close = text.find("*/", i + 2)
            end = n if close < 0 else close + 2
            _blank(chars, i, end)
            i = end
        elif c == '"':
            prefix = _identifier_before(text, i)
            if prefix in ("R", "u8R", "uR", "UR", "LR"):
                end = _skip_raw_string(text, i)
            else:
                end = _skip_quoted(text, i, '"')
            _blank_literal(chars, text, i, end)
            i = end
        elif c == "'":
            prefix = _identifier_before(text, i)
            if prefix and prefix not in ("u8", "u", "U", "L"):
                i += 1  # A digit separator inside a number.
                continue
            end = _skip_quoted(text, i, "'")
            _blank_literal(chars, text, i, end)
            i = end
        else:
            i += 1
    return "".join(chars)


def lint_text(path, text):
    """Violations in one file: a list of (line number, rule name, line)."""
    reason, allowed_rules = ALLOWED.get(path, (None, set()))
    if reason is not None and allowed_rules is None:
        return []
    raw_lines = text.split("\n")
    violations = []
    for number, code in enumerate(strip_code(text).split("\n"), start=1):
        for name, pattern in _COMPILED_RULES:
            if name in allowed_rules:
                continue
            if pattern.search(code):
                violations.append((number, name, raw_lines[number - 1].strip()))
    return violations


def _cpp_files_under(directory):
    """Every C++ source under `directory`, as paths that begin with it."""
    found = []
    for parent, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "bazel-")))
        for name in sorted(files):
            if name.endswith(CPP_SUFFIXES):
                found.append(os.path.normpath(os.path.join(parent, name)))
    return found


def _source_root():
    """The workspace this script lives in, following symlinks out of Bazel's
    runfiles to the real source tree; None if there is none."""
    directory = os.path.dirname(os.path.realpath(__file__))
    while True:
        if os.path.isfile(os.path.join(directory, "WORKSPACE")):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def find_unlinted(directory, linted, source_root):
    """Files under `directory` in the source tree that are not in `linted`.

    Under Bazel the lint sees only the files its data brought into the
    runfiles, one filegroup per package; a new package whose filegroup
    nobody added would go unlinted without this comparison with the real
    source tree.
    """
    linted = set(linted)
    missing = []
    for path in _cpp_files_under(os.path.join(source_root, directory)):
        relative = os.path.relpath(path, source_root)
        if relative not in linted:
            missing.append(relative)
    return missing


def stale_allowances(linted):
    """ALLOWED entries naming files that were not linted (renamed or gone)."""
    linted = set(linted)
    return sorted(path for path in ALLOWED if path not in linted)


def main(argv):
    if argv == ["--list-rules"]:
        for name, _ in RULES:
            print(name)
        return 0
    check_complete = "--check-complete" in argv
    paths = [arg for arg in argv if arg != "--check-complete"]
    if not paths or any(p.startswith("--") for p in paths):
        print(__doc__, file=sys.stderr)
        return 2
    files = []
    directories = []
    for path in paths:
        if os.path.isdir(path):
            directories.append(os.path.normpath(path))
            files.extend(_cpp_files_under(path))
        elif os.path.isfile(path):
            files.append(os.path.normpath(path))
        else:
            print(f"{path}: no such file or directory", file=sys.stderr)
            return 2
    failed = False
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for number, name, line in lint_text(path, text):
            print(f"{path}:{number}: forbidden {name}: {line}")
            failed = True
    if check_complete:
        root = _source_root()
        if root is None:
            print("cannot find the source tree (no WORKSPACE above "
                  f"{os.path.realpath(__file__)})")
            return 1
        for directory in directories:
            for path in find_unlinted(directory, files, root):
                print(f"{path}: not linted: add its package's :lint_sources "
                      "filegroup to _LINTED_PACKAGES in "
                      "testing/lint/BUILD.bazel")
                failed = True
        for path in stale_allowances(files):
            print(f"{path}: allowed in determinism_lint.py but not linted: "
                  "remove or fix the ALLOWED entry")
            failed = True
    if not files:
        print("no files to lint: the lint's inputs are missing")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
