#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Fleet selection: -e EXE (every process running a file, now and started later, in any mount or
PID namespace) and -a (TLS and socket HTTP of every process), with --exclude-exe/--exclude-pid.
bedtrace is started first and told nothing about the processes it must find; the tests check the
spans, their per-process resources, that unselected processes produce nothing, and that ended
processes leave nothing behind in the BPF maps.
Run as root: /usr/bin/python3 tests/integration/test_fleet.py"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from harness import (BEDTRACE, TARGETS, check, check_eq, make_certs, read_spans, run,  # noqa: E402
                     start_bedtrace_logged, start_tls_server, stop_process, test,
                     wait_for_text)
from bedrock_rig import (SharedServers, all_cassettes, cassette_name, client_argv,  # noqa: E402
                         secret_env)

TARGET = os.path.join(TARGETS, "bt_target")
FUNCS = ["level1", "level2", "level3"]
SPANS_PER_NESTED = 15  # bt_target nested: 3 threads x level1 (1 + 2 level2 + 2 level3)

WORK = None
CASSETTE = [p for p in all_cassettes() if cassette_name(p) == "test_converse_with_content"][0]


def copy_target(name):
    """A private copy of bt_target (its own inode) named @name under WORK."""
    path = os.path.join(WORK, name)
    shutil.copy2(TARGET, path)
    for lib in ("libbtlib.so.1", "libbtlib.so"):  # found through $ORIGIN
        if not os.path.exists(os.path.join(WORK, lib)):
            shutil.copy2(os.path.join(TARGETS, lib), os.path.join(WORK, lib))
    return path


class Fleet:
    """bedtrace with @args in the background; spans and -v log under WORK."""

    def __init__(self, tag, args):
        self.out = os.path.join(WORK, tag + ".jsonl")
        self.log = os.path.join(WORK, tag + ".log")
        self.proc = start_bedtrace_logged(["-v"] + args, self.out, self.log)
        wait_for_text(self.log, "ready in", timeout=30, proc=self.proc)

    def stop(self):
        rc = stop_process(self.proc, signal.SIGINT)
        with open(self.log) as f:
            self.stderr = f.read()
        self.spans = read_spans(self.out) if os.path.exists(self.out) else []
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def describe(self):
        return self.stderr[-3000:]


def run_target(path, *args, env=None):
    return subprocess.run([path] + list(args), capture_output=True, text=True, timeout=30,
                          env=env)


def by_pid(spans):
    out = {}
    for s in spans:
        out.setdefault(s.resource.get("process.pid"), []).append(s)
    return out


def bpf_map_entries(owner_pid, name):
    """Entries of BPF map @name that process @owner_pid holds open, or None if it holds none.
    The map ids come from /proc/PID/fdinfo (bpftool 7.1 shows no owner pids). Task-local storage
    (the per-thread stacks) cannot be listed: its entries go with their threads, so none can be
    left behind, and it reads as empty."""
    fdinfo = "/proc/%d/fdinfo" % owner_pid
    for fd in os.listdir(fdinfo):
        try:
            with open(os.path.join(fdinfo, fd)) as f:
                info = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        except OSError:
            continue
        if "map_id" not in info:
            continue
        mid = info["map_id"].strip()
        shown = json.loads(subprocess.run(["bpftool", "-j", "map", "show", "id", mid],
                                          capture_output=True, text=True, check=True).stdout)
        if shown.get("name") != name:
            continue
        if shown.get("type") == "task_storage":
            return []
        dump = subprocess.run(["bpftool", "-j", "map", "dump", "id", mid],
                              capture_output=True, text=True, check=True).stdout
        return json.loads(dump)
    return None


@test
def exe_traces_processes_started_later_and_nothing_else():
    exe = copy_target("bt_fleet_app")
    other = copy_target("bt_other_app")  # same code, another file: not selected
    f = Fleet("exe", ["-e", exe, "-f", "level*"])
    try:
        check("waiting for one to start" in open(f.log).read(), "no 'waiting' line with -v")
        # two concurrent processes of the selected file, one of the other file
        procs = [subprocess.Popen([exe, "nested"], stdout=subprocess.DEVNULL) for _ in range(2)]
        o = subprocess.Popen([other, "nested"], stdout=subprocess.DEVNULL)
        for p in procs + [o]:
            check_eq(p.wait(timeout=30), 0, "target exit")
        pids = sorted(p.pid for p in procs)
        time.sleep(0.5)
    finally:
        rc = f.stop()
    check_eq(rc, 0, "bedtrace exit (%s)" % f.describe())
    got = by_pid(f.spans)
    check_eq(sorted(k for k in got if k is not None), pids, "traced pids (%s)" % f.describe())
    for pid in pids:
        spans = got[pid]
        check_eq(len(spans), SPANS_PER_NESTED, "spans of process %d" % pid)
        check_eq(sorted({s.name for s in spans}), FUNCS, "functions of %d" % pid)
        res = spans[0].resource
        check_eq(res.get("process.executable.path"), exe, "executable path")
        check(res.get("service.name"), "service.name missing: %r", res)
        tids = {s.attrs.get("thread.id") for s in spans}
        check_eq(len(tids), 3, "threads of %d" % pid)
    check("selected: 2 process(es) traced, 2 of them ended" in f.stderr,
          "fleet summary missing: %s", f.describe())


@test
def exe_children_traced_and_exec_of_another_program_leaves():
    # bt_fork fork 3: its children run the same file (traced); exec of another program is not
    fork = os.path.join(WORK, "bt_fleet_fork")
    shutil.copy2(os.path.join(TARGETS, "bt_fork"), fork)
    f = Fleet("fork", ["-e", fork, "-f", "work"])
    try:
        p = subprocess.run([fork, "fork", "3"], capture_output=True, text=True, timeout=30)
        check("children=3" in p.stdout, "bt_fork: %r", p.stdout)
        q = subprocess.run([fork, "exec", "/bin/true"], capture_output=True, timeout=30)
        check_eq(q.returncode, 0, "exec run")
        time.sleep(0.5)
    finally:
        rc = f.stop()
    check_eq(rc, 0, "bedtrace exit (%s)" % f.describe())
    got = by_pid(f.spans)
    counts = sorted(len(v) for v in got.values())
    # parent: work() before and after; 3 children: twice each; the exec run: once, before exec
    check_eq(counts, [1, 2, 2, 2, 2], "work spans per process (%s)" % f.describe())


@test
def exe_library_function_probed_when_the_library_is_mapped():
    # libbtlib.so.1 is not mapped by anything when bedtrace starts: the first process that maps
    # it is held until its functions are probed, so its first call is seen
    exe = copy_target("bt_lib_app")
    f = Fleet("lib", ["-e", exe, "-f", "libbtlib:lib_*"])
    try:
        for _ in range(2):
            r = run_target(exe, "lib")
            check_eq(r.returncode, 0, "target exit (%s)" % r.stderr)
        time.sleep(0.5)
    finally:
        rc = f.stop()
    check_eq(rc, 0, "bedtrace exit (%s)" % f.describe())
    got = by_pid(f.spans)
    check_eq(len(got), 2, "processes (%s)" % f.describe())
    for spans in got.values():
        check_eq([s.name for s in spans], ["lib_add"], "library function spans")


@test
def exe_process_in_its_own_mount_and_pid_namespace():
    exe = copy_target("bt_ns_app")
    f = Fleet("ns", ["-e", exe, "-f", "level1"])
    try:
        # the same file, bind-mounted at another path in a private mount namespace, run as
        # PID 1 of a new PID namespace
        script = ("mkdir -p /tmp/bt-ns-view && mount --bind %s /tmp/bt-ns-view && "
                  "exec /tmp/bt-ns-view/bt_ns_app nested" % WORK)
        r = subprocess.run(["unshare", "--mount", "--pid", "--fork", "--mount-proc", "sh", "-c",
                            script], capture_output=True, text=True, timeout=30)
        check_eq(r.returncode, 0, "namespaced run (%s)" % r.stderr)
        time.sleep(0.5)
    finally:
        rc = f.stop()
        shutil.rmtree("/tmp/bt-ns-view", ignore_errors=True)
    check_eq(rc, 0, "bedtrace exit (%s)" % f.describe())
    spans = [s for s in f.spans if s.name == "level1"]
    check_eq(len(spans), 3, "level1 spans (%s)" % f.describe())
    res = spans[0].resource
    pid = res.get("process.pid")
    check(isinstance(pid, int) and pid > 1, "process.pid is the host pid: %r", res)
    check_eq(res.get("process.executable.path"), "/tmp/bt-ns-view/bt_ns_app",
             "path as the process sees it")
    check_eq(res.get("process.vpid"), 1, "pid inside its namespace (%r)" % res)


@test
def exe_running_at_start_and_exclude_pid():
    exe = copy_target("bt_running_app")
    ready = os.path.join(WORK, "go-running")
    a = subprocess.Popen([exe, "wait", ready], stdout=subprocess.PIPE, text=True)
    b = subprocess.Popen([exe, "wait", ready], stdout=subprocess.PIPE, text=True)
    try:
        for p in (a, b):
            check(p.stdout.readline().startswith("ready"), "target did not start")
        f = Fleet("running", ["-e", exe, "-f", "level1", "--exclude-pid", str(b.pid)])
        try:
            open(ready, "w").close()
            for p in (a, b):
                check_eq(p.wait(timeout=30), 0, "target exit")
            time.sleep(0.5)
        finally:
            rc = f.stop()
    finally:
        for p in (a, b):
            stop_process(p)
    check_eq(rc, 0, "bedtrace exit (%s)" % f.describe())
    check_eq(sorted(by_pid(f.spans)), [a.pid], "only the process not excluded (%s)" %
             f.describe())


@test
def exe_churn_leaves_no_map_entries():
    exe = copy_target("bt_churn_app")
    f = Fleet("churn", ["-e", exe, "-f", "level3"])
    n = 60
    try:
        kids = [subprocess.Popen([exe, "nested"], stdout=subprocess.DEVNULL) for _ in range(n)]
        for k in kids:
            check_eq(k.wait(timeout=60), 0, "target exit")
        time.sleep(1.0)
        procs = bpf_map_entries(f.proc.pid, "procs")
        check(procs is not None, "procs map of bedtrace not found")
        check_eq(len(procs), 0, "procs entries left after the processes ended")
        stacks = bpf_map_entries(f.proc.pid, "stacks")
        check_eq(len(stacks or []), 0, "stacks entries left")
    finally:
        rc = f.stop()
    check_eq(rc, 0, "bedtrace exit (%s)" % f.describe())
    pids = by_pid(f.spans)
    check_eq(len(pids), n, "processes traced")
    check(all(len(v) == 6 for v in pids.values()), "6 level3 spans each: %r",
          {k: len(v) for k, v in pids.items() if len(v) != 6})
    check("selected: %d process(es) traced, %d of them ended" % (n, n) in f.stderr,
          "summary: %s", f.describe())


SERVERS = SharedServers()


def replay():
    return SERVERS.replay()


def tls_server():
    return SERVERS.tls(WORK)


def curl_argv(tls, curl, path):
    """@curl GETting /fleet/@path from the TLS server @tls."""
    _, port, ca = tls
    return [curl, "-sS", "--cacert", ca, "-o", "/dev/null",
            "https://127.0.0.1:%d/fleet/%s" % (port, path)]


def run_clients(srv, tls, kinds):
    """Runs each client kind once; returns {kind: pid}."""
    pids = {}
    for kind in kinds:
        if kind == "curl":
            p = subprocess.Popen(curl_argv(tls, "curl", "curl"))
        else:
            srv.reset([cassette_name(CASSETTE)])
            p = subprocess.Popen(client_argv(kind, srv, CASSETTE),
                                 env=secret_env(), stdout=subprocess.DEVNULL)
        check_eq(p.wait(timeout=60), 0, "%s exit" % kind)
        pids[kind] = p.pid
    return pids


@test
def all_captures_https_of_processes_never_named():
    srv, tls = replay(), tls_server()
    f = Fleet("all", ["-a"])
    try:
        pids = run_clients(srv, tls, ["curl", "boto3", "node-h2"])
        time.sleep(1.0)
    finally:
        rc = f.stop()
    check_eq(rc, 0, "bedtrace exit (%s)" % f.describe())
    got = by_pid(f.spans)
    curl = [s for s in got.get(pids["curl"], [])
            if s.attrs.get("url.full", "").endswith("/fleet/curl")]
    check_eq(len(curl), 1, "curl's HTTPS span (%s)" % f.describe())
    check_eq(curl[0].resource.get("process.executable.path"), shutil.which("curl"),
             "curl's resource")
    for kind in ("boto3", "node-h2"):
        bedrock = [s for s in got.get(pids[kind], [])
                   if s.attrs.get("gen_ai.provider.name") == "aws.bedrock"]
        check_eq(len(bedrock), 1, "%s Bedrock span (%s)" % (kind, f.describe()))
        check_eq(bedrock[0].attrs.get("gen_ai.operation.name"), "chat", "%s operation" % kind)


@test
def all_names_the_program_of_a_process_gone_before_it_is_read():
    # bedtrace stopped while curl runs and ends: its resource cannot come from /proc, so the
    # executable's path is the one BPF read when curl executed it, across a mount (a copy of
    # curl on the /dev/shm tmpfs) as well as on the root file system
    tls = tls_server()
    shm = tempfile.mkdtemp(prefix="bt-fleet-", dir="/dev/shm")
    copy = os.path.join(shm, "curl-copy")
    shutil.copy2(shutil.which("curl"), copy)
    f = Fleet("gone", ["-a"])
    pids = {}
    try:
        os.kill(f.proc.pid, signal.SIGSTOP)
        try:
            for path in (shutil.which("curl"), copy):
                p = subprocess.Popen(curl_argv(tls, path, "gone"))
                check_eq(p.wait(timeout=60), 0, "%s exit" % path)
                pids[path] = p.pid
        finally:
            os.kill(f.proc.pid, signal.SIGCONT)
        time.sleep(1.0)
    finally:
        rc = f.stop()
        shutil.rmtree(shm, ignore_errors=True)
    check_eq(rc, 0, "bedtrace exit (%s)" % f.describe())
    got = by_pid(f.spans)
    for path, pid in pids.items():
        check("process %d (%s) selected; it ended before it could be read"
              % (pid, os.path.basename(path)[:15]) in f.stderr, "%s read late: %s"
              % (path, f.describe()))
        spans = [s for s in got.get(pid, []) if s.attrs.get("url.full", "").endswith("/gone")]
        check_eq(len(spans), 1, "%s's HTTPS span (%s)" % (path, f.describe()))
        check_eq(spans[0].resource.get("process.executable.path"), path, "%s's resource" % path)


@test
def exe_python_bedrock_calls_and_node_left_out():
    # -e through a symbolic link (python3 -> python3.11): the file it names is selected; TLS
    # probes are per libssl file and the BPF filter leaves Node's calls out
    srv, tls = replay(), tls_server()
    # this test is a python3 process too, and talks TLS to the replay server
    f = Fleet("exepy", ["-e", "/usr/bin/python3", "--exclude-pid", str(os.getpid())])
    try:
        pids = run_clients(srv, tls, ["boto3", "node-h2"])
        time.sleep(1.0)
    finally:
        rc = f.stop()
    check_eq(rc, 0, "bedtrace exit (%s)" % f.describe())
    got = by_pid(f.spans)
    check_eq(sorted(got), [pids["boto3"]], "traced processes (%s)" % f.describe())
    bedrock = [s for s in got[pids["boto3"]]
               if s.attrs.get("gen_ai.provider.name") == "aws.bedrock"]
    check_eq(len(bedrock), 1, "Bedrock span")
    check_eq(bedrock[0].resource.get("process.executable.path"),
             os.path.realpath("/usr/bin/python3"), "resource")


@test
def all_exclude_exe_leaves_a_program_out():
    srv, tls = replay(), tls_server()
    f = Fleet("allx", ["-a", "--exclude-exe", shutil.which("curl")])
    try:
        pids = run_clients(srv, tls, ["curl", "boto3"])
        time.sleep(1.0)
    finally:
        rc = f.stop()
    check_eq(rc, 0, "bedtrace exit (%s)" % f.describe())
    got = by_pid(f.spans)
    check(pids["curl"] not in got, "excluded curl traced: %r", got.get(pids["curl"]))
    check(pids["boto3"] in got, "boto3 not traced (%s)", f.describe())


@test
def selection_options_are_checked():
    for args, text in ((["-a", "-f", "main"], "-f needs"),
                       (["-a", "-p", "1"], "use one of"),
                       (["--exclude-pid", "1", "-p", "1"], "go with -a or -e"),
                       (["-e", "/nonexistent/bin"], "/nonexistent/bin"),
                       ([], "-e EXE or -a")):
        r = subprocess.run([BEDTRACE] + args, capture_output=True, text=True, timeout=30)
        check(r.returncode != 0, "%r accepted", args)
        check(text in r.stderr and len(r.stderr.strip().splitlines()) == 1,
              "%r: one line naming the problem, got %r", args, r.stderr)


def main():
    global WORK
    WORK = tempfile.mkdtemp(prefix="bt-fleet-")
    try:
        run()
    finally:
        SERVERS.stop()
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
