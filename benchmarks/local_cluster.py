"""A cluster of daemons on loopback for the benchmark and test scripts: a
meta server and replica servers, each a process started here and stopped by
its pid, their data in a directory of their own.

  cluster = LocalCluster(root, bin_dir, base_port=35600)
  cluster.start(replicas=3, table="bench", partitions=8)
  ...
  cluster.kill("replica2")          # SIGKILL, as a crash
  cluster.restart("replica2")       # same address, same data
  cluster.stop_all()
"""

import os
import signal
import subprocess
import sys
import time


def wait_for(predicate, what, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


class Instance:
    def __init__(self, name, args, directory):
        self.name = name
        self.args = args
        self.dir = directory
        self.process = None

    def running(self):
        return self.process is not None and self.process.poll() is None


class LocalCluster:
    def __init__(self, root, bin_dir, base_port=35600, log_level="warn"):
        # A SIGTERM to the script unwinds it like Ctrl-C does, so the
        # caller's `finally: stop_all()` stops every process it started.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        self.root = root
        self.bin = bin_dir
        self.meta_port = base_port + 1
        self.replica_base = base_port + 200
        self.log_level = log_level
        self.instances = {}
        self.other = []  # Other processes started with spawn().

    @property
    def meta(self):
        return f"127.0.0.1:{self.meta_port}"

    def _add(self, name, args):
        directory = os.path.join(self.root, name)
        os.makedirs(directory, exist_ok=True)
        ready = os.path.join(directory, "ready")
        args = args + [f"--data_dir={directory}/data", "--http_port=-1",
                       f"--ready_file={ready}",
                       f"--log_level={self.log_level}"]
        self.instances[name] = Instance(name, args, directory)

    def start(self, replicas=3, table="temp", partitions=8,
              meta_args=()):
        self._add("meta", [f"{self.bin}/meta_server",
                           f"--listen={self.meta}",
                           f"--min_live_nodes={min(replicas, 3)}"] +
                  list(meta_args))
        self.restart("meta")
        # The replica servers split the machine's cores, as the onebox's do.
        threads = max(1, len(os.sched_getaffinity(0)) // replicas)
        for i in range(1, replicas + 1):
            self._add(f"replica{i}", [
                f"{self.bin}/replica_server",
                f"--listen=127.0.0.1:{self.replica_base + i}",
                f"--meta={self.meta}", f"--threads={threads}"])
            self.restart(f"replica{i}")
        self.shell(f"create {table} -p {partitions} -r {min(replicas, 3)}"
                   " --success_if_exist; wait_healthy --timeout_s 60")

    def restart(self, name):
        instance = self.instances[name]
        if instance.running():
            return
        ready = os.path.join(instance.dir, "ready")
        if os.path.exists(ready):
            os.remove(ready)
        with open(os.path.join(instance.dir, "log"), "ab") as log:
            instance.process = subprocess.Popen(
                instance.args, stdout=log, stderr=subprocess.STDOUT)

        def is_ready():
            if instance.process.poll() is not None:
                raise SystemExit(f"{name} exited at start; see "
                                 f"{instance.dir}/log")
            return os.path.exists(ready)
        wait_for(is_ready, name)

    def kill(self, name, sig=signal.SIGKILL):
        instance = self.instances[name]
        if instance.running():
            instance.process.send_signal(sig)
            instance.process.wait(timeout=30)

    def spawn(self, args, **kwargs):
        process = subprocess.Popen(args, **kwargs)
        self.other.append(process)
        return process

    def shell(self, commands, check=True):
        result = subprocess.run(
            [f"{self.bin}/pegasus_shell", f"--meta={self.meta}", "-e",
             commands], capture_output=True, text=True, timeout=180)
        if check and result.returncode != 0:
            raise SystemExit(f"`{commands}` failed:\n{result.stdout}"
                             f"{result.stderr}")
        return result.stdout

    def primaries(self, table):
        """Partition index -> the primary's address, from `app`."""
        out = self.shell(f"app {table}")
        primaries = {}
        for line in out.splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 3 and fields[0].isdigit():
                primaries[int(fields[0])] = fields[2]
        return primaries

    def name_of(self, address):
        for name, instance in self.instances.items():
            if f"--listen={address}" in instance.args:
                return name
        return None

    def stop_all(self):
        for process in self.other:
            if process.poll() is None:
                process.kill()
                process.wait()
        for instance in reversed(list(self.instances.values())):
            if instance.running():
                instance.process.send_signal(signal.SIGTERM)
        for instance in self.instances.values():
            if instance.process is not None:
                try:
                    instance.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    instance.process.kill()
                    instance.process.wait()
