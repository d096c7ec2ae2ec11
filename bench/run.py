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


def scaled_pack(factor: int, into: Path) -> Path:
    """The real pack with every claim repeated `factor` times under new ids (same conditions and facets: the
    hardest case for selection, since every copy can apply to the same questions)."""
    import shutil

    import yaml

    pack = into / f"pack-x{factor}"
    shutil.copytree(PACKAGE_PACK, pack)
    for path in sorted((pack / "claims").glob("*.yaml")):
        claims = yaml.safe_load(path.read_text(encoding="utf-8"))
        copies = [dict(c, id=f"{c['id']}-x{k}") for k in range(1, factor) for c in claims]
        path.write_text(yaml.safe_dump(claims + copies, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return pack


def ask_median(kb: KnowledgeBase) -> tuple[float, float]:
    """Median and p95 over the benchmark questions (both audiences) of the median of 20 runs each, in ms."""
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
    return statistics.median(per_q), pct(per_q, 0.95)


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
    median, p95 = ask_median(kb)
    print(f"questions: {len(QUESTIONS)} x 2 audiences, median of 20 runs each")
    line("ask in-process, median", median, "ms", "<= 5 ms")
    line("ask in-process, p95", p95, "ms", "<= 20 ms")
    big = scaled_pack(10, tmp)
    big_db = tmp / "kb-x10.sqlite3"
    report10 = build(big, big_db)
    kb10 = KnowledgeBase.open(Settings(db=big_db, pack_dir=big))
    median10, p95_10 = ask_median(kb10)
    print(f"pack x10: {report10.claims} claims (each claim ten times, same conditions and facets)")
    line("ask in-process on the x10 pack, median", median10, "ms", "<= 5 ms")
    line("ask in-process on the x10 pack, p95", p95_10, "ms", "<= 20 ms")

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
