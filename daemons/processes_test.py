"""The daemons as real processes on loopback: a meta server and three
replica servers on ephemeral ports, driven through pegasus_shell's
non-interactive mode. A replica server is killed with SIGKILL and started
again; every acknowledged write must read back. /metrics is scraped and
checked with promtool. Every process is stopped by its pid at the end.

Run by Bazel (daemons:processes_test) with the binaries as data.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

BIN = "daemons"
DEADLINE_S = 60


def wait_for(predicate, what, timeout_s=DEADLINE_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Daemon:
    """One daemon process; its address and HTTP port from its ready file."""

    def __init__(self, root, name, args):
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir, exist_ok=True)
        self.name = name
        self.args = args
        self.process = None
        self.address = None
        self.http_port = None

    def start(self, listen="127.0.0.1:0"):
        ready = os.path.join(self.dir, "ready")
        if os.path.exists(ready):
            os.remove(ready)
        with open(os.path.join(self.dir, "log"), "ab") as log:
            self.process = subprocess.Popen(
                self.args + [f"--listen={listen}", f"--ready_file={ready}",
                             f"--data_dir={self.dir}/data", "--http_port=0"],
                stdout=log, stderr=subprocess.STDOUT)

        def is_ready():
            if self.process.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited with {self.process.returncode}: "
                    + self.log_tail())
            return os.path.exists(ready)

        wait_for(is_ready, f"{self.name} to serve")
        with open(ready) as f:
            address, http = f.read().split()
        self.address, self.http_port = address, int(http)

    def stop(self, sig=signal.SIGTERM):
        if self.process is None or self.process.poll() is not None:
            return None
        self.process.send_signal(sig)
        code = self.process.wait(timeout=30)
        return code

    def log_tail(self):
        with open(os.path.join(self.dir, "log"), "rb") as f:
            return f.read()[-2000:].decode(errors="replace")


class ProcessesTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        cls.meta = Daemon(cls.root, "meta", [
            f"{BIN}/meta_server", "--min_live_nodes=3", "--log_level=warn"])
        cls.meta.start()
        cls.servers = []
        for i in range(3):
            server = Daemon(cls.root, f"replica{i}", [
                f"{BIN}/replica_server", f"--meta={cls.meta.address}",
                "--threads=2", "--log_level=warn"])
            server.start()
            cls.servers.append(server)
        cls.shell_ok("create temp -p 8 -r 3; wait_healthy --timeout_s 60")

    @classmethod
    def tearDownClass(cls):
        for daemon in cls.servers + [cls.meta]:
            daemon.stop(signal.SIGKILL)
        shutil.rmtree(cls.root, ignore_errors=True)

    @classmethod
    def shell(cls, commands, stdin=None):
        args = [f"{BIN}/pegasus_shell", f"--meta={cls.meta.address}"]
        if commands is not None:
            args.append(f"-e={commands}")
        return subprocess.run(args, input=stdin, capture_output=True,
                              text=True, timeout=120)

    @classmethod
    def shell_ok(cls, commands):
        result = cls.shell(commands)
        if result.returncode != 0:
            raise AssertionError(
                f"`{commands}` failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def test_a_killed_server_loses_no_acknowledged_write(self):
        acknowledged = {}
        for i in range(40):
            self.shell_ok(f"use temp; set k{i} s before{i}")
            acknowledged[f"k{i}"] = f"before{i}"
        victim = self.servers[1]
        address = victim.address
        self.assertIsNone(victim.process.poll())
        victim.stop(signal.SIGKILL)
        # Writes go on; one sent to the killed server gets no answer and is
        # not resent by the client, so its outcome is unknown: such keys are
        # left out of the check.
        for i in range(40):
            result = self.shell(f"use temp; set k{i} s during{i}")
            if result.returncode == 0:
                acknowledged[f"k{i}"] = f"during{i}"
            else:
                del acknowledged[f"k{i}"]
        self.assertGreater(len(acknowledged), 20)
        # Back only once the meta server has declared it dead, so its
        # partitions moved and it returns to learn what it missed.
        wait_for(lambda: any(address in line and "UNALIVE" in line
                             for line in self.shell_ok("nodes").splitlines()),
                 f"{address} to be declared dead")
        victim.start(listen=address)
        self.shell_ok("wait_healthy --timeout_s 60")
        for key, value in acknowledged.items():
            out = self.shell_ok(f"use temp; get {key} s")
            self.assertEqual(out, f'OK\n"{value}"\n', key)
        nodes = self.shell_ok("nodes")
        self.assertIn("3 replica servers, 3 alive", nodes)
        # The meta server says so in its log, one line.
        self.assertIn(f"replica server {address} is declared dead",
                      self.meta.log_tail())

    def test_scripts_on_standard_input_and_wrong_commands(self):
        result = self.shell(None, stdin="use temp\nset a b c\nget a b\n")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(result.stdout, "OK\nOK\n\"c\"\n")
        result = self.shell("use temp; frobnicate; get a b")
        self.assertEqual(result.returncode, 1)
        self.assertIn("unknown command 'frobnicate'", result.stdout)
        self.assertIn('"c"', result.stdout)  # Later commands still run.

    def test_metrics_pass_promtool(self):
        promtool = shutil.which("promtool")
        for daemon in [self.meta] + self.servers:
            url = f"http://127.0.0.1:{daemon.http_port}/metrics"
            text = urllib.request.urlopen(url, timeout=10).read()
            self.assertIn(b"pegasus_link_messages_sent_total", text)
            if promtool is None:
                self.skipTest("promtool is not installed (Debian's "
                              "prometheus package; ./run.sh installs it)")
            check = subprocess.run([promtool, "check", "metrics"],
                                   input=text, capture_output=True)
            self.assertEqual(check.returncode, 0,
                             check.stdout + check.stderr)

    def test_a_second_daemon_on_a_used_port_fails_clearly(self):
        clash = Daemon(self.root, "clash", [f"{BIN}/meta_server"])
        with self.assertRaises(AssertionError) as failed:
            clash.start(listen=self.meta.address)
        self.assertIn("in use", str(failed.exception))

    def test_sigterm_stops_cleanly(self):
        # A meta server of its own: stopping it leaves the cluster alone.
        extra = Daemon(self.root, "extra", [f"{BIN}/meta_server"])
        extra.start()
        self.assertEqual(extra.stop(signal.SIGTERM), 0)
        self.assertIn("stopped", extra.log_tail())


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
