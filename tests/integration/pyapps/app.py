# SPDX-License-Identifier: MIT
"""A small LLM service for the --python tests (tests/integration/test_python.py): THREADS threads
each serve REQUESTS requests, every one the same shape:

    handle_request → retrieve_documents (sleeps 40 ms)
                   → assemble_prompt    (2 ms of CPU work)
                   → call_bedrock       (a Converse call to the local replay server)

call_bedrock uses boto3 where it can be imported (Debian's python3 with python3-boto3), else
a plain Converse POST over urllib (other CPython versions on the machine have no boto3): either
way a real TLS request the Bedrock span comes from.

    app.py --endpoint URL --ca CA --model ID [--threads N] [--requests N] [--wait]

--wait prints "waiting" and reads one line from stdin first (to be attached to by PID).
One JSON line per function call, with the thread's native id and the app's own clock:
start and end, time.time_ns() around the call by its caller, and last, time.time_ns() as the
body's last statement (the call ends between last and end: another thread may hold the GIL
in between); and one {"defs": {...}} line with each function's def line.
"""
import argparse
import json
import os
import sys
import threading
import time

sys.dont_write_bytecode = True

OUT = threading.Lock()
# each function's last statement stamps its time here (a C call: no Python frame of its own)
LAST = threading.local()
ARGS = None
CLIENT = None


def emit(**kw):
    with OUT:
        print(json.dumps(kw), flush=True)




def retrieve_documents(i):
    time.sleep(0.040)
    docs = ["doc-%d-%d" % (i, k) for k in range(3)]
    LAST.retrieve_documents = time.time_ns()
    return docs


def assemble_prompt(docs):
    deadline = time.perf_counter() + 0.002
    n = 0
    while time.perf_counter() < deadline:
        n += 1
    LAST.assemble_prompt = time.time_ns()
    return "Say this is a test" if docs else ""


def converse_urllib(prompt):
    import ssl
    import urllib.request
    body = json.dumps({"messages": [{"role": "user", "content": [{"text": prompt}]}],
                       "inferenceConfig": {"maxTokens": 10, "temperature": 0.8, "topP": 1,
                                           "stopSequences": ["|"]}}).encode()
    # a SigV4-shaped Authorization (the replay server checks no signature) names the service
    # as a signed SDK request would
    auth = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/%s/us-east-1/bedrock/aws4_request, "
            "SignedHeaders=content-type;host, Signature=%s" % (time.strftime("%Y%m%d"), "0" * 64))
    req = urllib.request.Request("%s/model/%s/converse" % (ARGS.endpoint, ARGS.model), data=body,
                                 method="POST", headers={"content-type": "application/json",
                                                         "authorization": auth})
    ctx = ssl.create_default_context(cafile=ARGS.ca)
    with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
        return r.status


def converse_boto3(prompt):
    r = CLIENT.converse(
        modelId=ARGS.model,
        messages=[{"role": "user", "content": [{"text": prompt}]}],
        inferenceConfig={"maxTokens": 10, "temperature": 0.8, "topP": 1, "stopSequences": ["|"]})
    return r["ResponseMetadata"]["HTTPStatusCode"]


def call_bedrock(prompt):
    status = converse_boto3(prompt) if CLIENT else converse_urllib(prompt)
    LAST.call_bedrock = time.time_ns()
    return status


def handle_request(i):
    # each step timed by its caller, so that the whole call is inside [start, end]
    times = []
    t0 = time.time_ns()
    docs = retrieve_documents(i)
    t1 = time.time_ns()
    prompt = assemble_prompt(docs)
    t2 = time.time_ns()
    status = call_bedrock(prompt)
    t3 = time.time_ns()
    times = [("retrieve_documents", t0, t1, LAST.retrieve_documents),
             ("assemble_prompt", t1, t2, LAST.assemble_prompt),
             ("call_bedrock", t2, t3, LAST.call_bedrock)]
    LAST.handle_request = time.time_ns()
    return status, times


def worker(n):
    tid = threading.get_native_id()
    for i in range(n):
        t0 = time.time_ns()
        status, times = handle_request(i)
        t1 = time.time_ns()
        for fn, start, end, last in times + [("handle_request", t0, t1, LAST.handle_request)]:
            emit(fn=fn, tid=tid, start=start, end=end, last=last, status=status)


def make_client():
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        return None
    session = boto3.session.Session(
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "secret"),
        aws_session_token=os.environ.get("AWS_SESSION_TOKEN") or None, region_name="us-east-1")
    cfg = Config(region_name="us-east-1", retries={"mode": "standard", "max_attempts": 1},
                 connect_timeout=5, read_timeout=30, max_pool_connections=32)
    return session.client("bedrock-runtime", endpoint_url=ARGS.endpoint, verify=ARGS.ca,
                          config=cfg)


def main():
    global ARGS, CLIENT
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=3)
    ap.add_argument("--requests", type=int, default=2)
    ap.add_argument("--wait", action="store_true")
    ap.add_argument("--no-boto3", action="store_true")
    ARGS = ap.parse_args()
    CLIENT = None if ARGS.no_boto3 else make_client()
    emit(defs={f.__name__: f.__code__.co_firstlineno for f in
               (handle_request, retrieve_documents, assemble_prompt, call_bedrock)},
         file=os.path.abspath(__file__), boto3=CLIENT is not None, pid=os.getpid(),
         version="%d.%d" % sys.version_info[:2])
    if ARGS.wait:
        print("waiting", flush=True)
        if not sys.stdin.readline():
            return 1
    threads = [threading.Thread(target=worker, args=(ARGS.requests,), name="w%d" % k)
               for k in range(ARGS.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
