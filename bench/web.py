"""Web throughput (make bench): the server started as a user would (`oncoguide serve --workers 2`),
loaded by wrk from a separate process with 16 concurrent connections.

Prints requests/s, median and p95 latency for each page and endpoint beside the targets
(POST /api/ask and the answer article page: at least 300 requests/s; /api/ask p95 at most 50 ms).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

FLAGSHIP = "Stage 4 dermatofibrosarcoma protuberans (DFSP): what is the prognosis, and how is it treated?"
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
CONNECTIONS = 16

LUA = r"""
wrk.method = os.getenv("WRK_METHOD") or "GET"
wrk.body = os.getenv("WRK_BODY")
if wrk.body then wrk.headers["Content-Type"] = "application/json" end
done = function(summary, latency, requests)
  io.write(string.format('{"requests": %d, "seconds": %.6f, "bad_status": %d, "errors": %d, ' ..
    '"p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def start_server(tmp: Path, site_url: str | None = None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(
        os.environ,
        ONCOGUIDE_DB=str(tmp / "kb.sqlite3"),
        ONCOGUIDE_DATABASE_URL=site_url or f"sqlite:///{tmp / 'site.sqlite3'}",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "oncoguide", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(base + "/", timeout=2):
                return proc, base
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def wrk(
    script: Path,
    url: str,
    method: str = "GET",
    body: dict | None = None,
    seconds: int = SECONDS,
    env_extra: dict | None = None,
) -> dict:
    # one load thread: on 2 cores a second wrk thread only takes CPU from the two server workers
    env = dict(os.environ, WRK_METHOD=method, **(env_extra or {}))
    env.pop("WRK_BODY", None)
    if body is not None:
        env["WRK_BODY"] = json.dumps(body)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (make bench installs it: apt-get install wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="oncoguide-web-bench-"))
    script = tmp / "report.lua"
    script.write_text(LUA)
    proc, base = start_server(tmp)
    try:
        first = post(base + "/api/ask", {"question": FLAGSHIP})["thread_id"]
        follow = post(base + "/api/ask", {"question": "what about radiation?", "thread_id": first})["thread_id"]
        cases = [
            ("POST /api/ask (flagship)", "/api/ask", "POST", {"question": FLAGSHIP}, "300 req/s, p95 50 ms"),
            (
                "POST /api/ask (patient, follow-up)",
                "/api/ask",
                "POST",
                {"question": "what about radiation?", "audience": "patient", "thread_id": first},
                "300 req/s, p95 50 ms",
            ),
            ("GET answer article (clinician)", f"/answer/{first}?audience=clinician", "GET", None, "300 req/s"),
            ("GET answer article (patient, follow-up)", f"/answer/{follow}?audience=patient", "GET", None, "300 req/s"),
            ("GET home", "/", "GET", None, ""),
            ("GET condition page (DFSP)", "/conditions/dfsp", "GET", None, "300 req/s (issue 7)"),
            ("GET algorithm group", "/algorithm/groups/gist-recurrent-or-metastatic", "GET", None, ""),
            (
                "GET algorithm finder",
                "/algorithm/find?condition=gist&site=gastrointestinal&metastases=disseminated",
                "GET",
                None,
                "",
            ),
            ("GET evidence page", "/evidence/imatinib-dfsp", "GET", None, ""),
            (
                "POST /api/recommend",
                "/api/recommend",
                "POST",
                {"condition": "sts", "site": "extremity", "stage": "III", "resectable": "yes"},
                "",
            ),
            ("GET /api/groups", "/api/groups", "GET", None, ""),
            ("GET /api/evidence/imatinib-dfsp", "/api/evidence/imatinib-dfsp?by=dose", "GET", None, ""),
        ]
        wrk(script, base + "/api/ask", "POST", {"question": FLAGSHIP}, seconds=2)  # warm-up, not reported
        print(f"web: oncoguide serve --workers 2; wrk -t1 -c{CONNECTIONS} -d{SECONDS}s on {os.cpu_count()} cores")
        print(f"{'endpoint':<42} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  {'non-2xx':>7}  target")
        for name, path, method, body, target in cases:
            r = wrk(script, base + path, method, body)
            print(
                f"{name:<42} {r['rps']:>8.0f} {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} {r['p99_ms']:>8.2f}  "
                f"{r['bad_status'] + r['errors']:>7}  {target}"
            )
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
