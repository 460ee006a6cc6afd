# SPDX-License-Identifier: MIT
"""The page of `bedtrace report --html` (user/report/html.c, written by build/tools/report_html
from a report and spans written here by hand) loaded in a real browser, Debian's headless
Chromium: it draws with no console message or exception, the numbers its DOM shows (data-key
and data-value) equal the report's, each waterfall has one bar per span of its trace, names
that hold "</script>" or "<!--" stay text, and a screenshot is kept in build/."""
import html.parser
import json
import os
import re
import select
import shutil
import struct
import subprocess
import tempfile
import time

from harness import ROOT, check, check_eq, run, test

REPORT_HTML = os.path.join(ROOT, "build", "tools", "report_html")
SCREENSHOT = os.path.join(ROOT, "build", "report-screenshot.png")

# A name that would end the data's <script> element, or open a comment in it, if it were
# written as it is; and one that would run if it were ever parsed as markup.
EVIL = 'GET /x</script><script>document.title="pwned"</script><!--'
EVIL_MODEL = "m<!--<script>"

A = "0af7651916cd43dd8448eb211c80319c"  # slowest, 5 spans
B = "4bf92f3577b34da6a3ce929d0e0e4736"  # second slowest, an error
C = "5e2a1c0f00000000000000000000cafe"  # only a finding (max_tokens), EVIL's trace
D = "ffffffffffffffffffffffffffffffff"  # a finding whose spans are not in the page


def span(trace, sid, parent, name, service, kind, start, dur, error=False, **attrs):
    s = {"trace_id": trace, "span_id": sid, "name": name, "service": service,
         "host": "host-a" if service == "api" else "host-b", "kind": kind,
         "start_ms": start, "duration_ms": dur, "error": error,
         "attrs": {k.replace("_", "."): v for k, v in attrs.items()}}
    if parent:
        s["parent_id"] = parent
    return s


def model_attrs(model):
    return {"gen_ai.request.model": model, "gen_ai.operation.name": "chat"}


SPANS = [
    span(A, "a000000000000001", None, "POST /chat", "api", "server", 0, 1234.5,
         http_request_method="POST", url_path="/chat"),
    span(A, "a000000000000002", "a000000000000001", "db.query", "api", "client", 3.25, 40.125),
    span(A, "a000000000000003", "a000000000000001", "chat claude", "api", "client", 50, 1100.75),
    span(A, "a000000000000004", "a000000000000003", "retry", "api", "internal", 60, 300),
    span(A, "a000000000000005", "a000000000000003", "stream", "api", "internal", 400, 700.5),
    span(B, "b000000000000001", None, "POST /chat", "api", "server", 0, 810.0),
    span(B, "b000000000000002", "b000000000000001", "chat claude", "api", "client", 20, 780.0,
         error=True),
    span(C, "c000000000000001", None, EVIL, "worker", "server", 0, 12.5),
    span(C, "c000000000000002", "c000000000000001", "chat m", "worker", "client", 1, 10.0),
]
for s in SPANS:
    if s["name"] == "chat claude":
        s["attrs"].update(model_attrs("anthropic.claude-3"))
    if s["name"] == "chat m":
        s["attrs"].update(model_attrs(EVIL_MODEL))

REPORT = {
    "spans": 9, "traces": 3, "hosts": ["host-a", "host-b"], "services": ["api", "worker"],
    "operations": [
        # every span of this row is in the page: a histogram
        {"service": "api", "kind": "server", "name": "POST /chat", "count": 2, "errors": 0,
         "p50_ms": 810.0, "p90_ms": 1234.5, "p99_ms": 1234.5, "max_ms": 1234.5,
         "mean_ms": 1022.25, "total_ms": 2044.5, "self_ms": 202.125, "share": 0.4975},
        # 40 calls, 2 in the page: the percentiles
        {"service": "api", "kind": "client", "name": "chat claude", "count": 40, "errors": 1,
         "p50_ms": 612.3456, "p90_ms": 901.0, "p99_ms": 1100.75, "max_ms": 1100.75,
         "mean_ms": 650.01, "total_ms": 26000.4, "self_ms": 500.5, "share": 0.9},
        {"service": "worker", "kind": "server", "name": EVIL, "count": 1, "errors": 0,
         "p50_ms": 12.5, "p90_ms": 12.5, "p99_ms": 12.5, "max_ms": 12.5, "mean_ms": 12.5,
         "total_ms": 12.5, "self_ms": 2.5, "share": None},
    ],
    "models": [
        {"model": "anthropic.claude-3", "operation": "chat", "calls": 2, "errors": 1,
         "throttles": 3, "retries": 2, "input_tokens": 123456, "output_tokens": 7890,
         "cache_read_input_tokens": 1000, "cache_creation_input_tokens": 0,
         "cost_usd": 0.4567, "p50_ms": 780.0, "p99_ms": 1100.75, "ttfc_p50_ms": 210.5,
         "ttfc_p99_ms": None},
        {"model": EVIL_MODEL, "operation": "chat", "calls": 7, "errors": 0, "throttles": 0,
         "retries": 0, "input_tokens": 10, "output_tokens": 20, "cache_read_input_tokens": 0,
         "cache_creation_input_tokens": 0, "cost_usd": 0.00123, "p50_ms": 10.0,
         "p99_ms": 10.0, "ttfc_p50_ms": None, "ttfc_p99_ms": None},
    ],
    "slowest_traces": [
        {"trace_id": A, "root": "POST /chat", "service": "api", "duration_ms": 1234.5,
         "critical_path": ["POST /chat", "chat claude", "stream"]},
        {"trace_id": B, "root": "POST /chat", "service": "api", "duration_ms": 810.0,
         "critical_path": ["POST /chat", "chat claude"]},
    ],
    "findings": [
        {"kind": "error", "count": 1, "trace_ids": [B]},
        {"kind": "max_tokens", "count": 2, "trace_ids": [C, D]},
        {"kind": "throttled", "count": 3, "trace_ids": [A]},
    ],
    "regressions": [
        {"service": "api", "kind": "server", "name": "POST /chat", "baseline_p50_ms": 600.0,
         "p50_ms": 810.0, "baseline_p99_ms": 900.0, "p99_ms": 1234.5, "p50_ratio": 1.35,
         "p50_ratio_ci": [1.2, 1.5], "significant": True},
    ],
}

# the traces the page draws: the slowest, then the findings' that have spans in the page
DRAWN = [A, B, C]


# ---- a DOM from Chromium's --dump-dom ----

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.kids, self.text_parts = [], []

    def text(self):
        return "".join(self.text_parts)

    def walk(self):
        yield self
        for k in self.kids:
            yield from k.walk()

    def ancestors(self):
        n = self.parent
        while n:
            yield n
            n = n.parent


class Dom(html.parser.HTMLParser):
    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.cur = self.root
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.kids.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.kids.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        n = self.cur
        while n:
            n.text_parts.append(data)
            n = n.parent

    def all(self, tag=None, **attrs):
        return [n for n in self.root.walk()
                if (tag is None or n.tag == tag)
                and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def keyed(self):
        """data-key -> node; every key names one element."""
        out = {}
        for n in self.root.walk():
            k = n.attrs.get("data-key")
            if k is not None:
                check(k not in out, "data-key %r on two elements", k)
                out[k] = n
        return out


# ---- Chromium ----

def chromium():
    path = shutil.which("chromium")
    check(path, "chromium is missing: run scripts/deps.sh (Debian's chromium)")
    return path


CONSOLE = re.compile(r"CONSOLE[:(]\d+")


def browse(url, *args):
    """Runs headless Chromium on @url; returns (stdout, console lines). Chromium logs every
    console message and uncaught exception of the page to stderr as "...:CONSOLE(N)] ..." or
    "...:CONSOLE:N] ..."; the rest of its stderr (D-Bus, GPU) is about the machine."""
    with tempfile.TemporaryDirectory(prefix="bt-chromium-") as profile:
        p = subprocess.run(
            [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--user-data-dir=" + profile,
             "--enable-logging=stderr", "--v=0", *args, url],
            capture_output=True, text=True, timeout=120)
    console = [ln for ln in p.stderr.splitlines() if CONSOLE.search(ln)]
    check(p.returncode == 0, "chromium exited %d: %s", p.returncode, p.stderr[-2000:])
    return p.stdout, console


class Cdp:
    """Headless Chromium driven over --remote-debugging-pipe (the DevTools protocol as
    NUL-terminated JSON on its fds 3 and 4): a page to click in and read back, with every
    console message and uncaught exception it produces."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="bt-chromium-")
        to_child, self.tx = os.pipe()
        self.rx, from_child = os.pipe()

        def fds():  # the child's fd 3 reads our commands, its fd 4 writes the replies
            a, b = os.dup(to_child), os.dup(from_child)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--disable-background-networking",
             "--user-data-dir=" + self.profile, "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=fds, pass_fds=(3, 4))
        os.close(to_child)
        os.close(from_child)
        self.buf = b""
        self.next_id = 0
        self.session = None
        self.events = []

    def send(self, method, params=None, session=True, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.tx, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self.receive(deadline)
            if m.get("id") == self.next_id:
                check("error" not in m, "%s: %r", method, m.get("error"))
                return m["result"]
            if "method" in m:
                self.events.append(m)

    def receive(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.time()
            check(left > 0, "no answer from chromium")
            ready, _, _ = select.select([self.rx], [], [], left)
            if ready:
                chunk = os.read(self.rx, 65536)
                check(chunk, "chromium closed the pipe")
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def open(self, url):
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        self.send("Runtime.enable")
        self.send("Page.enable")
        self.send("Page.navigate", {"url": url})
        self.eval("new Promise((ok) => document.readyState === 'complete' ? ok() : "
                  "addEventListener('load', () => ok()))")

    def eval(self, expr):
        r = self.send("Runtime.evaluate", {"expression": expr, "awaitPromise": True,
                                           "returnByValue": True})
        check("exceptionDetails" not in r, "%s: %r", expr, r.get("exceptionDetails"))
        return r["result"].get("value")

    def messages(self):
        return [e for e in self.events
                if e["method"] in ("Runtime.consoleAPICalled", "Runtime.exceptionThrown")]

    def close(self):
        try:
            self.send("Browser.close", session=False, timeout=10)
        except AssertionError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.tx)
        os.close(self.rx)
        shutil.rmtree(self.profile, ignore_errors=True)


_page = {}


def page():
    """The page written from REPORT and SPANS, its source, its DOM and its console (once)."""
    if _page:
        return _page
    tmp = tempfile.mkdtemp(prefix="bt-report-html-")
    rpath, spath, out = (os.path.join(tmp, n) for n in ("report.json", "spans.json", "r.html"))
    with open(rpath, "w") as f:
        json.dump(REPORT, f)
    with open(spath, "w") as f:
        json.dump(SPANS, f)
    subprocess.run([REPORT_HTML, rpath, spath, out], check=True, timeout=30)
    with open(out) as f:
        source = f.read()
    dom, console = browse("file://" + out, "--dump-dom")
    _page.update(path=out, source=source, dom=Dom(dom), console=console, tmp=tmp)
    return _page


def num(node, what):
    check(node is not None, "%s: no element", what)
    check("data-value" in node.attrs, "%s: no data-value", what)
    return float(node.attrs["data-value"])


# ---- cases ----

@test
def console_errors_are_seen():
    """The check below can fail: a page that throws and logs is caught."""
    with tempfile.TemporaryDirectory(prefix="bt-report-html-") as tmp:
        bad = os.path.join(tmp, "bad.html")
        with open(bad, "w") as f:
            f.write("<!DOCTYPE html><p>x</p><script>console.error('said');nosuch();</script>")
        _, console = browse("file://" + bad, "--dump-dom")
    check(any("said" in c for c in console), "console.error not seen: %r", console)
    check(any("nosuch" in c for c in console), "exception not seen: %r", console)


@test
def page_draws_without_console_messages():
    p = page()
    check_eq(p["console"], [], "console messages and exceptions of the page")
    body = p["dom"].all("body")
    check(body and body[0].attrs.get("data-rendered") == "ok",
          "the script did not finish drawing the page")
    # self-contained: nothing to fetch (the SVG namespace is a name, not a request)
    for what in ("src=", "<link", "url(", "@import", "https://", "fetch(", "XMLHttpRequest"):
        check(what not in p["source"], "the page refers to %r", what)
    check_eq(re.findall(r"http://[^\"' ]*", p["source"]), ["http://www.w3.org/2000/svg"],
             "addresses in the page")


@test
def dom_numbers_equal_the_report():
    d = page()["dom"]
    keyed = d.keyed()
    for k in ("spans", "traces"):
        check_eq(num(keyed.get(k), k), REPORT[k], k)
    for k in ("hosts", "services"):
        check_eq(num(keyed.get(k + ".length"), k), len(REPORT[k]), k + " count")
        for i, v in enumerate(REPORT[k]):
            check_eq(keyed["%s.%d" % (k, i)].attrs.get("data-value"), v, k + " name")
    compared = 0
    for table in ("operations", "models", "slowest_traces", "regressions"):
        for i, row in enumerate(REPORT[table]):
            for k, v in row.items():
                key = "%s.%d.%s" % (table, i, k)
                n = keyed.get(key)
                check(n is not None, "no element for %s", key)
                text = n.text().strip()
                check(text, "%s shows nothing", key)
                if v is None:
                    check("data-value" not in n.attrs, "%s: a value for null", key)
                    check_eq(text, "\u2014", key + " (null)")
                elif isinstance(v, bool):
                    check_eq(n.attrs["data-value"], "true" if v else "false", key)
                elif isinstance(v, (int, float)):
                    check_eq(num(n, key), v, key)
                elif isinstance(v, list):
                    check_eq(json.loads(n.attrs["data-value"]), v, key)
                else:
                    check_eq(n.attrs["data-value"], v, key)
                compared += 1
    check(compared > 80, "only %d values compared", compared)
    for i, f in enumerate(REPORT["findings"]):
        check_eq(num(keyed.get("findings.%d.count" % i), "finding"), f["count"], "finding count")
    for i, m in enumerate(REPORT["models"]):
        check_eq(num(keyed.get("cost.%d" % i), "cost"), m["cost_usd"], "cost of model %d" % i)
    # formatting: what the eye reads agrees with the value
    check_eq(keyed["operations.1.p50_ms"].text(), "612.3 ms", "a formatted duration")
    check_eq(keyed["operations.0.max_ms"].text(), "1.23 s", "a formatted duration")
    check_eq(keyed["models.0.input_tokens"].text(), "123,456", "a formatted count")
    check_eq(keyed["models.0.cost_usd"].text(), "$0.457", "a formatted cost")


@test
def waterfalls_have_one_bar_per_span():
    d = page()["dom"]
    falls = [n for n in d.all("div") if "waterfall" in n.attrs.get("class", "").split()]
    check_eq([n.attrs.get("data-trace") for n in falls], DRAWN, "traces drawn, in order")
    for w in falls:
        tid = w.attrs["data-trace"]
        check_eq(w.attrs.get("id"), "trace-" + tid, "the anchor of a waterfall")
        bars = [n for n in w.walk() if n.tag == "rect"
                and "span-bar" in n.attrs.get("class", "").split()]
        want = sorted(s["span_id"] for s in SPANS if s["trace_id"] == tid)
        check_eq(sorted(b.attrs.get("data-span-id") for b in bars), want, "bars of " + tid)
        # nested: each bar's label is indented one step deeper than its parent's
        xs = {}
        for g in (n for n in w.walk() if n.tag == "g" and "data-span-id" in n.attrs):
            xs[g.attrs["data-span-id"]] = float(next(k for k in g.kids if k.tag == "text")
                                                .attrs["x"])
        for s in SPANS:
            if s["trace_id"] == tid and "parent_id" in s:
                check_eq(xs[s["span_id"]] - xs[s["parent_id"]], 12.0, "indent of " + s["name"])
        # hover: the span's attributes in its <title>
        for s in SPANS:
            if s["trace_id"] != tid:
                continue
            g = next(n for n in w.walk() if n.tag == "g" and
                     n.attrs.get("data-span-id") == s["span_id"])
            title = next(k for k in g.kids if k.tag == "title").text()
            for k, v in s["attrs"].items():
                check("%s = %s" % (k, v) in title, "%s: attribute %s not in %r", s["name"], k,
                      title)
    # an error span is drawn as one
    err = [n for n in d.all("rect") if n.attrs.get("data-span-id") == "b000000000000002"]
    check("error" in err[0].attrs.get("class", ""), "the error span is not marked")
    # every finding links to the waterfall of each of its traces in the page, and names the
    # others without a link
    for i, f in enumerate(REPORT["findings"]):
        item = d.keyed()["findings.%d" % i]
        links = [n.attrs.get("href") for n in item.walk() if n.tag == "a"]
        check_eq(links, ["#trace-" + t for t in f["trace_ids"] if t in DRAWN],
                 "links of finding " + f["kind"])
    check(any(n.attrs.get("data-trace") == D and n.tag == "span" for n in d.all()),
          "the trace without spans is not named")


@test
def histograms_from_spans_or_percentiles():
    keyed = page()["dom"].keyed()
    want = {"operations.0": ("spans", 2), "operations.1": ("percentiles", 40),
            "operations.2": ("spans", 1), "models.0": ("spans", 2),
            "models.1": ("percentiles", 7)}
    for k, (source, n) in want.items():
        fig = keyed["histograms." + k]
        check_eq(fig.attrs.get("data-source"), source, k + " drawn from")
        check_eq(int(fig.attrs.get("data-n")), n, k + " count")
        bins = [int(b.attrs["data-count"]) for b in fig.walk() if b.tag == "rect"
                and "bin" in b.attrs.get("class", "").split()]
        if source == "spans":
            check_eq(sum(bins), n, k + ": spans in the bins")
            check("histogram" in fig.text(), "%s does not say it is a histogram", k)
        else:
            check_eq(bins, [], k + ": bins without the spans")
            check("p50" in fig.text() and "p99" in fig.text(), "%s: percentiles not named", k)


@test
def script_and_comment_in_names_stay_text():
    p = page()
    src, d = p["source"], p["dom"]
    # the page's own four <script> elements and no other
    check_eq(len(re.findall(r"<script", src, re.I)), 4, "<script> in the page source")
    check_eq(len(re.findall(r"</script", src, re.I)), 4, "</script> in the page source")
    check("<!--" not in src, "a comment opener in the page source")
    check_eq(len(d.all("script")), 4, "<script> elements in the DOM")
    check(not any(n.text().strip() == "pwned" for n in d.all("title")), "the name ran")
    keyed = d.keyed()
    check_eq(keyed["operations.2.name"].attrs.get("data-value"), EVIL, "the name as data")
    check_eq(keyed["operations.2.name"].text(), EVIL, "the name as text")
    check_eq(keyed["models.1.model"].text(), EVIL_MODEL, "the model as text")
    # the embedded documents read back as written
    m = re.search(r'<script type="application/json" id="bt-report">(.*?)</script>', src, re.S)
    check_eq(json.loads(m.group(1)), REPORT, "the embedded report")


@test
def headers_sort_their_table():
    """Clicking a header sorts the rows by it, a second click reverses them, rows without a
    value stay last, and the cells keep their data-key whatever the order."""
    cdp = Cdp()
    try:
        cdp.open("file://" + page()["path"])
        order = ("Array.from(document.querySelectorAll('[data-table=%s] tbody tr'))"
                 ".map((r) => Number(r.dataset.index))")
        click = "document.querySelector('[data-table=%s] th[data-col=%s]').click()"
        check_eq(cdp.eval(order % "operations"), [0, 1, 2], "rows as in the report")
        cdp.eval(click % ("operations", "count"))
        check_eq(cdp.eval(order % "operations"), [2, 0, 1], "by count, ascending")
        cdp.eval(click % ("operations", "count"))
        check_eq(cdp.eval(order % "operations"), [1, 0, 2], "by count, descending")
        cdp.eval(click % ("operations", "share"))
        check_eq(cdp.eval(order % "operations"), [0, 1, 2], "by share, null last")
        cdp.eval(click % ("operations", "share"))
        check_eq(cdp.eval(order % "operations"), [1, 0, 2], "by share, descending, null last")
        cdp.eval(click % ("operations", "name"))
        check_eq(cdp.eval(order % "operations"), [1, 2, 0], "by name")
        cdp.eval(click % ("models", "cost_usd"))
        check_eq(cdp.eval(order % "models"), [1, 0], "models by cost")
        check_eq(cdp.eval("document.querySelector('[data-table=operations] tbody tr')"
                          ".cells[2].dataset.key"), "operations.1.name", "keys follow the rows")
        check_eq(cdp.eval("document.title"), "bedtrace report", "the title")
        check_eq(cdp.messages(), [], "console messages and exceptions")
    finally:
        cdp.close()


@test
def empty_report_draws():
    """A report of nothing (no keys but the counts, no spans) draws its sections empty."""
    with tempfile.TemporaryDirectory(prefix="bt-report-html-") as tmp:
        rpath, spath, out = (os.path.join(tmp, n) for n in ("r.json", "s.json", "r.html"))
        with open(rpath, "w") as f:
            json.dump({"spans": 0, "traces": 0}, f)
        with open(spath, "w") as f:
            f.write("[]")
        subprocess.run([REPORT_HTML, rpath, spath, out], check=True, timeout=30)
        dom, console = browse("file://" + out, "--dump-dom")
    check_eq(console, [], "console messages and exceptions")
    d = Dom(dom)
    check_eq(d.all("body")[0].attrs.get("data-rendered"), "ok", "drawn")
    keyed = d.keyed()
    check_eq(num(keyed.get("spans"), "spans"), 0, "spans")
    check_eq(num(keyed.get("hosts.length"), "hosts"), 0, "hosts")
    check_eq(d.all("section", id="regressions"), [], "regressions without a baseline")
    check_eq([n for n in d.all("div") if n.attrs.get("data-trace")], [], "waterfalls")


@test
def screenshot():
    p = page()
    if os.path.exists(SCREENSHOT):
        os.unlink(SCREENSHOT)
    _, console = browse("file://" + p["path"], "--hide-scrollbars", "--window-size=1280,3200",
                        "--screenshot=" + SCREENSHOT)
    check_eq(console, [], "console of the screenshot run")
    with open(SCREENSHOT, "rb") as f:
        head = f.read(24)
    check(head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG: %r", head)
    check_eq(struct.unpack(">II", head[16:24]), (1280, 3200), "screenshot size")
    check(os.path.getsize(SCREENSHOT) > 50000, "screenshot of %d bytes: an empty page?",
          os.path.getsize(SCREENSHOT))


if __name__ == "__main__":
    try:
        run()
    finally:
        if _page:
            shutil.rmtree(_page["tmp"], ignore_errors=True)
