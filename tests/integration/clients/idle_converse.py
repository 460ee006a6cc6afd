#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A boto3 Bedrock client that is idle when a tracer attaches (tests/integration/test_attach.py):
it imports boto3 (ssl with it: libssl.so.3 is mapped), builds its bedrock-runtime client from the
models under AWS_DATA_PATH, prints "waiting" and sends nothing until a line arrives on stdin.
Then COUNT Converse calls, INTERVAL_MS apart, on the connection the first call opens.

    AWS_DATA_PATH=/abs/tests/fixtures/aws-models /usr/bin/python3 idle_converse.py \\
        --endpoint https://127.0.0.1:PORT --ca CA --model ID --count N [--interval-ms MS]

One JSON line per call: {"i", "status", "requestId", "stopReason"}. Exit 0 when every call
answered 200, 1 otherwise (EOF on stdin before the go line: 1 at once).
"""
import argparse
import json
import os
import sys
import time

sys.dont_write_bytecode = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--interval-ms", type=int, default=0)
    args = ap.parse_args()
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull

    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY",
                                             "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        aws_session_token=os.environ.get("AWS_SESSION_TOKEN") or None,
        region_name="us-east-1")
    cfg = Config(region_name="us-east-1", retries={"mode": "standard", "max_attempts": 1},
                 connect_timeout=5, read_timeout=30)
    client = session.client("bedrock-runtime", endpoint_url=args.endpoint, verify=args.ca,
                            config=cfg)
    print("waiting", flush=True)
    if not sys.stdin.readline():
        return 1
    ok = True
    for i in range(args.count):
        if i and args.interval_ms:
            time.sleep(args.interval_ms / 1000)
        r = client.converse(
            modelId=args.model,
            messages=[{"role": "user", "content": [{"text": "Say this is a test"}]}],
            inferenceConfig={"maxTokens": 10, "temperature": 0.8, "topP": 1,
                             "stopSequences": ["|"]})
        meta = r["ResponseMetadata"]
        ok = ok and meta["HTTPStatusCode"] == 200
        print(json.dumps({"i": i, "status": meta["HTTPStatusCode"],
                          "requestId": meta.get("RequestId"), "stopReason": r.get("stopReason")}),
              flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
