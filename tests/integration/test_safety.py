# SPDX-License-Identifier: MIT
"""Do no harm, tell the truth: credentials in the traced command line never reach the output,
-o never follows a symbolic link nor writes into a device, and refusals (a kernel thread,
bedtrace itself, a bad --prices file) are one clear line each."""
import os
import shutil
import stat
import subprocess
import sys
import tempfile

from harness import BEDTRACE, TARGETS, check, check_eq, one, read_spans, run, test

TARGET = os.path.join(TARGETS, "bt_target")

# (argument, secret it carries) for `bt_target sleep ARGS...`, which ignores extra arguments
SECRET_ARGS = [
    ("-H", None), ("Authorization: Bearer SeCrEt-bearer-1", "SeCrEt-bearer-1"),
    ("-H", None), ("Cookie: session=SeCrEt-cookie-2", "SeCrEt-cookie-2"),
    ("-H", None), ("x-api-key: SeCrEt-apikey-3", "SeCrEt-apikey-3"),
    ("https://api.example/v1?X-Amz-Signature=SeCrEt-sig-4&token=SeCrEt-token-5&page=2",
     "SeCrEt-sig-4"),
    ("https://alice:SeCrEt-userinfo-6@git.example/repo.git", "SeCrEt-userinfo-6"),
    ("--password", None), ("SeCrEt-password-7", "SeCrEt-password-7"),
    ("--api-key=SeCrEt-option-8", "SeCrEt-option-8"),
    ("-u", None), ("bob:SeCrEt-user-9", "SeCrEt-user-9"),
    ("AWS_SECRET_ACCESS_KEY=SeCrEt-aws-10", "SeCrEt-aws-10"),
    ("AWS_SESSION_TOKEN=SeCrEt-aws-11", "SeCrEt-aws-11"),
    ("Accept: text/html", None), ("--verbose", None),
]
SECRETS = [s for _, s in SECRET_ARGS if s] + ["SeCrEt-token-5"]


def bedtrace(args, timeout=60):
    """Runs bedtrace with @args as given (no -o added); returns (rc, stdout, stderr)."""
    p = subprocess.run([BEDTRACE] + args, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def warn_lines(stderr):
    return [line for line in stderr.splitlines() if line.strip()]


def traced_sleep(out, extra=()):
    return ["-o", out] + list(extra) + ["-f", "sleep_50ms", "--", TARGET, "sleep"]


@test
def command_line_secrets_are_redacted():
    d = tempfile.mkdtemp(prefix="bt-safety-")
    try:
        out = os.path.join(d, "out.jsonl")
        rc, stdout, stderr = bedtrace(traced_sleep(out) + [a for a, _ in SECRET_ARGS])
        check_eq(rc, 0, "bedtrace exit code (stderr: %s)" % stderr)
        with open(out) as f:
            text = f.read()
        everything = text + stdout + stderr
        for s in SECRETS:
            check(s not in everything, "secret %s in the output", s)
        span = one(read_spans(out), "sleep_50ms")
        cmd = span.resource["process.command_line"]
        # the command and every non-secret part are still there
        for part in ("bt_target sleep -H Authorization: REDACTED -H Cookie: REDACTED",
                     "X-Amz-Signature=REDACTED&token=REDACTED&page=2",
                     "https://REDACTED:REDACTED@git.example/repo.git",
                     "--password REDACTED --api-key=REDACTED -u bob:REDACTED",
                     "AWS_SECRET_ACCESS_KEY=REDACTED AWS_SESSION_TOKEN=REDACTED",
                     "Accept: text/html --verbose"):
            check(part in cmd, "%r not in process.command_line %r", part, cmd)
    finally:
        shutil.rmtree(d)


@test
def output_symlink_is_refused():
    d = tempfile.mkdtemp(prefix="bt-safety-")
    try:
        victim = os.path.join(d, "victim")
        with open(victim, "w") as f:
            f.write("precious\n")
        os.chmod(victim, 0o644)
        link = os.path.join(d, "trace.jsonl")
        os.symlink(victim, link)
        rc, _, stderr = bedtrace(traced_sleep(link), timeout=20)
        check(rc != 0, "bedtrace wrote through a symbolic link (rc 0)")
        check_eq(warn_lines(stderr),
                 ["bedtrace: refusing to write to %s: it is a symbolic link" % link], "stderr")
        st = os.stat(victim)
        check_eq(stat.S_IMODE(st.st_mode), 0o644, "mode of the link's target")
        with open(victim) as f:
            check_eq(f.read(), "precious\n", "content of the link's target")
        # a dangling link does not create its target either
        os.unlink(victim)
        rc, _, stderr = bedtrace(traced_sleep(link), timeout=20)
        check(rc != 0 and not os.path.exists(victim), "dangling link followed")
    finally:
        shutil.rmtree(d)


@test
def output_non_regular_file_is_refused():
    d = tempfile.mkdtemp(prefix="bt-safety-")
    try:
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo, 0o644)
        rc, _, stderr = bedtrace(traced_sleep(fifo), timeout=20)
        check(rc != 0, "bedtrace wrote into a FIFO (rc 0)")
        check_eq(warn_lines(stderr),
                 ["bedtrace: refusing to write to %s: not a regular file" % fifo], "stderr")
        check_eq(stat.S_IMODE(os.stat(fifo).st_mode), 0o644, "FIFO mode")
    finally:
        shutil.rmtree(d)


@test
def output_existing_regular_file_is_replaced_mode_0600():
    """A guard for the legitimate case next to the refusals (it passed before them too)."""
    d = tempfile.mkdtemp(prefix="bt-safety-")
    try:
        out = os.path.join(d, "out.jsonl")
        with open(out, "w") as f:
            f.write("old contents that are not JSON\n" * 100)
        os.chmod(out, 0o644)
        rc, _, stderr = bedtrace(traced_sleep(out))
        check_eq(rc, 0, "bedtrace exit code (stderr: %s)" % stderr)
        check_eq(stat.S_IMODE(os.stat(out).st_mode), 0o600, "mode")
        one(read_spans(out), "sleep_50ms")  # every line parses: the old bytes are gone
    finally:
        shutil.rmtree(d)


@test
def kernel_thread_is_named_as_such():
    with open("/proc/2/comm") as f:
        check_eq(f.read().strip(), "kthreadd", "pid 2")
    rc, _, stderr = bedtrace(["-o", "-", "-p", "2"], timeout=20)
    check(rc != 0, "bedtrace attached to a kernel thread")
    check_eq(warn_lines(stderr), ["bedtrace: process 2 is a kernel thread; only user-space "
                                  "processes can be traced"], "stderr")


@test
def bedtrace_refuses_to_trace_itself():
    code = "import os; os.execv(%r, [%r, '-o', '-', '-p', str(os.getpid())])" % (BEDTRACE,
                                                                               BEDTRACE)
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise AssertionError("bedtrace -p <its own pid> still ran after 10 s")
    check(p.returncode != 0, "exit code 0")
    check_eq(warn_lines(stderr), ["bedtrace: refusing to trace bedtrace itself (pid %d)" % p.pid],
             "stderr")


@test
def bad_prices_file_is_one_line():
    d = tempfile.mkdtemp(prefix="bt-safety-")
    try:
        prices = os.path.join(d, "prices.json")
        with open(prices, "w") as f:
            f.write('{"models": {"m": {"input": 1, ')
        out = os.path.join(d, "out.jsonl")
        rc, _, stderr = bedtrace(traced_sleep(out, ["--prices", prices]), timeout=30)
        check(rc != 0, "bedtrace accepted a malformed price table")
        lines = warn_lines(stderr)
        check_eq(len(lines), 1, "stderr lines (%r)" % lines)
        check(prices in lines[0] and "JSON" in lines[0], "the line names file and problem: %r",
              lines[0])
        missing = os.path.join(d, "missing.json")
        rc, _, stderr = bedtrace(traced_sleep(out, ["--prices", missing]), timeout=30)
        lines = warn_lines(stderr)
        check(rc != 0 and len(lines) == 1 and missing in lines[0], "missing file: %r", lines)
    finally:
        shutil.rmtree(d)


if __name__ == "__main__":
    run()
