#!/usr/bin/env python3
"""PyPI `hl7`: its blocking `hl7.client.MLLPClient` (one socket per client object).

Same flags and output as worker.js and native/bench-client:

    python3 clients/python_hl7.py --port P --message FILE [--host 127.0.0.1]
        [--mode per-message|persistent] [--concurrency C] [--count N] [--seconds S]
        [--warmup W]

Connection per message: `with MLLPClient(host, port) as c: c.send_message(text)`.
Persistent: one MLLPClient per worker. Concurrency C: C threads (the GIL is released while
a thread waits on its socket). `send_message()` returns the bytes of one `recv()`; the ACK
is checked for `MSA|AA|<MSH-10>`. Prints one JSON line: ok, errors, firstError, elapsedS,
latenciesUs, peakRssKiB, cpuUserS, cpuSysS (CPU of the measured phase only), cpuTotalS
(the whole process).
"""

import argparse
import json
import re
import resource
import sys
import threading
import time

try:
    from hl7.client import MLLPClient
except ImportError:  # the runner checks this first and says `pip install hl7`
    sys.stderr.write("python_hl7: the PyPI package `hl7` is not installed (pip install hl7)\n")
    sys.exit(3)

ID_WIDTH = 12


def load_template(path):
    with open(path, "rb") as f:
        text = f.read().decode("latin-1").replace("\r\n", "\r").replace("\n", "\r")
    if not text.startswith("MSH"):
        raise SystemExit(f"{path}: does not start with MSH")
    sep = text[3]
    seg_end = text.find("\r")
    seg_end = len(text) if seg_end == -1 else seg_end
    at = [i for i in range(seg_end) if text[i] == sep]
    if len(at) < 10:
        raise SystemExit(f"{path}: MSH has no MSH-10")
    return text[: at[8] + 1], text[at[9] :]


class Ids:
    def __init__(self):
        self.n = 0
        self.lock = threading.Lock()

    def next(self):
        with self.lock:
            self.n += 1
            return "B" + str(self.n).zfill(ID_WIDTH - 1)


def run(args, prefix, suffix, ids, count, seconds):
    lock = threading.Lock()
    state = {"issued": 0, "ok": 0, "errors": 0, "first_error": None}
    deadline = time.perf_counter() + seconds
    latencies = []

    def next_one():
        if time.perf_counter() >= deadline:
            return False
        with lock:
            if state["issued"] >= count:
                return False
            state["issued"] += 1
            return True

    def fail(error):
        with lock:
            state["errors"] += 1
            if state["first_error"] is None:
                state["first_error"] = repr(error)

    def check(ack, cid):
        text = ack.decode("latin-1") if isinstance(ack, bytes) else str(ack)
        if f"\rMSA|AA|{cid}" not in text:
            raise RuntimeError(f"unexpected ACK {text!r}")

    def worker():
        mine = []
        conn = None
        while next_one():
            cid = ids.next()
            text = prefix + cid + suffix
            t0 = time.perf_counter_ns()
            try:
                if args.mode == "persistent":
                    if conn is None:
                        conn = MLLPClient(args.host, args.port)
                    check(conn.send_message(text), cid)
                else:
                    with MLLPClient(args.host, args.port) as c:
                        check(c.send_message(text), cid)
                mine.append((time.perf_counter_ns() - t0) / 1000.0)
            except Exception as error:  # noqa: BLE001 - every failure is counted
                fail(error)
                if conn is not None:
                    conn.close()
                    conn = None
        if conn is not None:
            conn.close()
        with lock:
            state["ok"] += len(mine)
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return state, latencies, time.perf_counter() - started


def peak_rss_kib():
    with open("/proc/self/status") as f:
        m = re.search(r"VmHWM:\s+(\d+)", f.read())
    return int(m.group(1)) if m else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--message", required=True)
    p.add_argument("--mode", default="per-message", choices=["per-message", "persistent"])
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--warmup", type=int, default=0)
    p.add_argument("--client", default="python-hl7")  # accepted for symmetry with worker.js
    args = p.parse_args()
    prefix, suffix = load_template(args.message)
    ids = Ids()
    if args.warmup > 0:
        run(args, prefix, suffix, ids, args.warmup, min(args.seconds, 2.0))
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    state, latencies, elapsed = run(args, prefix, suffix, ids, args.count, args.seconds)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    out = {
        "ok": state["ok"],
        "errors": state["errors"],
        "firstError": state["first_error"],
        "elapsedS": elapsed,
        "peakRssKiB": peak_rss_kib(),
        "cpuUserS": r1.ru_utime - r0.ru_utime,
        "cpuSysS": r1.ru_stime - r0.ru_stime,
        "cpuTotalS": r1.ru_utime + r1.ru_stime,
        "latenciesUs": [round(v, 1) for v in latencies],
    }
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
