"""Lighthouse scores (make bench): performance, accessibility, best practices and SEO of the home, answer,
condition, evidence and algorithm pages, served by `oncoguide serve --workers 2` as a user would start it.

Lighthouse 12.2.3 from npm runs on the machine's Node (20) and drives Debian's Chromium (CHROME_PATH,
default /usr/bin/chromium). It installs itself into .venv/lighthouse the first time (npm install), and is
then used offline. Lighthouse's default run: a phone (Moto G Power) on a throttled network and CPU,
simulated; LIGHTHOUSE_PRESET=desktop for its desktop run. Each audit that did not pass is listed under
its page, so a score below 100 says why. Target (issue 19): 100 in each category on each page.

Each page is audited LIGHTHOUSE_RUNS times (3) and the run of median performance is printed, as Lighthouse's
own guidance on variability advises: on this machine a single run's Total Blocking Time varies between 20
and 180 ms from one run to the next of the same page (the throttled CPU is simulated on a shared one), which
moves the performance score between 98 and 100 by chance. Every run's performance score is listed too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from web import FLAGSHIP, post, start_server  # noqa: E402

VERSION = "12.2.3"
ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / ".venv" / "lighthouse"
BINARY = INSTALL / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update"


def installed() -> Path:
    """The lighthouse command, installed from npm into .venv/lighthouse when it is missing or another version."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise SystemExit("Node and npm are needed for Lighthouse (apt-get install nodejs npm)")
    package = INSTALL / "node_modules" / "lighthouse" / "package.json"
    if not BINARY.exists() or json.loads(package.read_text()).get("version") != VERSION:
        INSTALL.mkdir(parents=True, exist_ok=True)
        print(f"installing lighthouse@{VERSION} into {INSTALL} ...", flush=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(INSTALL), "--no-audit", "--no-fund", f"lighthouse@{VERSION}"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return BINARY


def audit(binary: Path, url: str, chrome: str, preset: str | None) -> dict:
    out = subprocess.run(
        [str(binary), url, "--quiet", "--output=json", "--output-path=stdout", f"--chrome-flags={CHROME_FLAGS}"]
        + [f"--only-categories={','.join(CATEGORIES)}"]
        + ([f"--preset={preset}"] if preset else []),
        capture_output=True,
        text=True,
        env=dict(os.environ, CHROME_PATH=chrome),
        timeout=300,
    )
    if out.returncode != 0:
        raise SystemExit(f"lighthouse failed on {url}:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout)


def failures(report: dict) -> list[str]:
    """The audits that count towards a category and did not pass, with Lighthouse's title."""
    audits = report["audits"]
    out = []
    for cat in CATEGORIES:
        for ref in report["categories"][cat]["auditRefs"]:
            a = audits[ref["id"]]
            if ref.get("weight", 0) > 0 and a.get("score") is not None and a["score"] < 1:
                out.append(f"{cat}: {a['title']} ({a.get('displayValue') or a['score']})")
    return out


def main() -> None:
    chrome = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
    if not Path(chrome).exists():
        raise SystemExit(f"Chromium is not at {chrome} (make chromium installs it)")
    preset = os.environ.get("LIGHTHOUSE_PRESET") or None
    binary = installed()
    tmp = Path(tempfile.mkdtemp(prefix="oncoguide-lighthouse-"))
    proc, base = start_server(tmp)
    try:
        turn = post(base + "/api/ask", {"question": FLAGSHIP})["thread_id"]
        pages = {
            "home": "/",
            "answer": f"/answer/{turn}?audience=clinician",
            "condition": "/conditions/dfsp",
            "evidence": "/evidence/imatinib-dfsp",
            "algorithm": "/algorithm",
        }
        print(f"lighthouse {VERSION} ({preset or 'mobile, simulated throttling'}), Chromium at {chrome}")
        print(f"{'page':<10} {'perf':>5} {'a11y':>5} {'best':>5} {'seo':>5}  address")
        notes = []
        runs = max(1, int(os.environ.get("LIGHTHOUSE_RUNS", "3")))
        for name, path in pages.items():
            reports = sorted(
                (audit(binary, base + path, chrome, preset) for _ in range(runs)),
                key=lambda r: r["categories"]["performance"]["score"] or 0,
            )
            report = reports[len(reports) // 2]  # the median run by performance
            scores = [round(100 * (report["categories"][c]["score"] or 0)) for c in CATEGORIES]
            each = "/".join(str(round(100 * (r["categories"]["performance"]["score"] or 0))) for r in reports)
            print(f"{name:<10} " + " ".join(f"{s:>5}" for s in scores) + f"  {path}  (performance {each})", flush=True)
            notes += [f"  {name}: {f}" for f in failures(report)]
        if notes:
            print("audits not passed:")
            print("\n".join(notes))
        print("target: 100 in each category on each page")
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
