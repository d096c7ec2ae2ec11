"""Benchmarks (make bench): answer latency in-process and per process, and knowledge-base build time.

Prints each figure beside its target. Timings are measured, never asserted in tests.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from oncoguide.kb import KnowledgeBase  # noqa: E402
from oncoguide.pack.build import build  # noqa: E402
from oncoguide.settings import PACKAGE_PACK, Settings  # noqa: E402
from questions import QUESTIONS, VIGNETTES  # noqa: E402


def pct(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def line(name, value, unit, target):
    print(f"{name:<44} {value:>10.3f} {unit:<3} (target {target})")


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="oncoguide-bench-"))
    db = tmp / "kb.sqlite3"

    builds = []
    for _ in range(5):
        t = time.perf_counter()
        report = build(PACKAGE_PACK, db)
        builds.append(time.perf_counter() - t)
    print(f"pack: {report.sources} sources, {report.claims} claims, {report.citations} citations")
    line("build knowledge base from pack (median of 5)", statistics.median(builds), "s", "<= 2 s")

    kb = KnowledgeBase.open(Settings(db=db, pack_dir=PACKAGE_PACK))
    for q in QUESTIONS:  # warm up
        kb.ask(q)
    per_q = []
    for audience in ("clinician", "patient"):
        for q in QUESTIONS:
            runs = []
            for _ in range(20):
                t = time.perf_counter()
                kb.ask(q, audience=audience)
                runs.append(time.perf_counter() - t)
            per_q.append(statistics.median(runs) * 1000)
    print(f"questions: {len(QUESTIONS)} x 2 audiences, median of 20 runs each")
    line("ask in-process, median", statistics.median(per_q), "ms", "<= 5 ms")
    line("ask in-process, p95", pct(per_q, 0.95), "ms", "<= 20 ms")

    criteria = [
        dict(condition="sts", site="extremity", stage="III", resectable="yes", metastases="none"),
        dict(condition="gist", resectable="no"),
        dict(condition="dfsp", metastases="disseminated"),
        dict(condition="sts", site="retroperitoneal", resectable="no"),
        dict(condition="gist", progression="yes"),
        dict(condition="sts", site="extremity", stage="III"),
    ]
    vignettes = VIGNETTES
    kb.recommend(**criteria[0])
    by_criteria, by_text = [], []
    for c in criteria:
        runs = []
        for _ in range(200):
            t = time.perf_counter()
            kb.recommend(**c)
            runs.append(time.perf_counter() - t)
        by_criteria.append(statistics.median(runs) * 1000)
    for v in vignettes:
        runs = []
        for _ in range(50):
            t = time.perf_counter()
            kb.recommend(v)
            runs.append(time.perf_counter() - t)
        by_text.append(statistics.median(runs) * 1000)
    print(f"recommend: {len(criteria)} criteria sets, {len(vignettes)} vignettes")
    line("recommend from criteria, median", statistics.median(by_criteria), "ms", "<= 2 ms")
    line("recommend from a vignette, median", statistics.median(by_text), "ms", "<= 5 ms")

    from oncoguide.evidence.forest import forest_svg
    from oncoguide.evidence.report import Evidence

    topics = kb.contents.evidence
    runs = []
    for _ in range(20):
        t = time.perf_counter()
        ev = Evidence(topics)
        for topic in topics:
            ev.forest(topic, "DL")
            ev.forest(topic, "REML")
        runs.append(time.perf_counter() - t)
    print(f"evidence: {len(ev.stats)} statistics, {len(ev.comparisons)} comparisons, 2 meta-analyses per plot")
    line("all statistics of the pack, median of 20", statistics.median(runs) * 1000, "ms", "<= 50 ms")
    runs = []
    topic = ev.topics["imatinib-dfsp"]
    for _ in range(20):
        t = time.perf_counter()
        forest_svg("bench", *ev.forest(topic, "REML"))
        runs.append(time.perf_counter() - t)
    line("one forest plot (SVG), median of 20", statistics.median(runs) * 1000, "ms", "<= 300 ms")

    env = dict(os.environ, ONCOGUIDE_DB=str(db))
    exe = Path(sys.executable).with_name("oncoguide")
    proc = []
    for q in QUESTIONS[:10]:
        t = time.perf_counter()
        subprocess.run([str(exe), "ask", q], env=env, capture_output=True, check=True)
        proc.append(time.perf_counter() - t)
    line("`oncoguide ask` whole process, median of 10", statistics.median(proc), "s", "<= 0.8 s")


if __name__ == "__main__":
    main()
