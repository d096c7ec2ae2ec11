"""Answer quality on the team's development question bank (bench/bank/*.yaml): `make eval`.

For every question and audience it asks the knowledge base and scores only what the reader is told: the
bottom line, the statements of the sections and the conflicts (summary and sides). The echoed question, the
title, the notes and the disclaimer are never scored. It prints:
- facts found: the share of rubric facts whose match terms all occur in the answer (each group of terms
  needs one alternative; a term matches at the start of a word, so "metastas" matches "metastases");
- scope accuracy: in-scope questions answered (not refused, not "which condition?"), out-of-scope ones
  refused, and refused by name where the bank says which name;
- the misses: each fact not found, by question, worst questions first.

Usage: python bench/eval.py [--bank DIR] [--audience clinician|patient] [--misses N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from oncoguide.kb import KnowledgeBase  # noqa: E402

AUDIENCES = ("clinician", "patient")


@dataclass(frozen=True)
class Fact:
    text: str
    groups: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Item:
    id: str
    question: str
    scope: str  # "in" or "out"
    audiences: tuple[str, ...]
    condition: str | None = None
    facts: tuple[Fact, ...] = ()
    names: tuple[str, ...] = ()
    variant_of: str | None = None


@dataclass
class Result:
    item: Item
    audience: str
    scope_ok: bool
    found: list[Fact] = field(default_factory=list)
    missed: list[Fact] = field(default_factory=list)
    bottom_line: str = ""


def normal(text: str) -> str:
    """Lower case, accents and hyphens folded, whitespace single: how both answer and terms are compared."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'")
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)  # "soft-tissue" ~ "soft tissue"
    return re.sub(r"\s+", " ", text)


def term_found(term: str, text: str) -> bool:
    t = normal(term).strip()
    if not t:
        return False
    # a term matches at the start of a word (and a number never inside a longer number)
    tail = r"(?![0-9])" if t[-1].isdigit() else ""
    return re.search(rf"(?<![a-z0-9]){re.escape(t)}{tail}", text) is not None


def load_bank(bank: Path) -> list[Item]:
    items: dict[str, Item] = {}
    raw_all = []
    for path in sorted(bank.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        raw_all.extend(data)
    for raw in raw_all:
        if raw.get("variant_of"):
            continue
        facts = tuple(
            Fact(f["fact"], tuple(tuple(str(t) for t in g) for g in f["match"])) for f in raw.get("facts", ())
        )
        items[raw["id"]] = Item(
            raw["id"],
            raw["question"],
            raw["scope"],
            tuple(raw.get("audiences") or AUDIENCES),
            raw.get("condition"),
            facts,
            tuple(raw.get("names", ())),
        )
    for raw in raw_all:
        base_id = raw.get("variant_of")
        if not base_id:
            continue
        base = items[base_id]
        items[raw["id"]] = Item(
            raw["id"],
            raw["question"],
            base.scope,
            tuple(raw.get("audiences") or base.audiences),
            base.condition,
            base.facts,
            tuple(raw.get("names", base.names)),
            base_id,
        )
    return list(items.values())


def told(answer) -> str:
    """What the reader is told: bottom line, statements and conflicts (never the question, title or disclaimer)."""
    parts = [answer.bottom_line]
    parts += [st.text for st in answer.statements()]
    for c in answer.conflicts:
        parts.append(c.summary)
        parts += [side.text for side in c.sides]
    return normal(" ".join(parts))


def score(kb: KnowledgeBase, item: Item, audience: str) -> Result:
    answer = kb.ask(item.question, audience)
    if item.scope == "out":
        ok = not answer.in_scope
        if ok and item.names:
            said = normal(answer.bottom_line + " " + answer.title)
            ok = any(term_found(n, said) for n in item.names)
        return Result(item, audience, ok, bottom_line=answer.bottom_line)
    ok = answer.in_scope and (item.condition is None or answer.understood.get("condition") == item.condition)
    text = told(answer) if answer.in_scope else ""
    res = Result(item, audience, ok, bottom_line=answer.bottom_line)
    for fact in item.facts:
        hit = all(any(term_found(t, text) for t in group) for group in fact.groups)
        (res.found if hit else res.missed).append(fact)
    return res


def report(results: list[Result], audience: str, misses: int) -> dict:
    mine = [r for r in results if r.audience == audience]
    facts = sum(len(r.found) + len(r.missed) for r in mine)
    found = sum(len(r.found) for r in mine)
    scope_ok = sum(r.scope_ok for r in mine)
    out_items = [r for r in mine if r.item.scope == "out"]
    in_items = [r for r in mine if r.item.scope == "in"]
    print(f"\n== {audience}: {len(mine)} questions ({len(in_items)} in scope, {len(out_items)} out of scope)")
    print(f"facts found:    {found}/{facts} = {100 * found / max(facts, 1):.1f}%")
    print(f"scope right:    {scope_ok}/{len(mine)} = {100 * scope_ok / max(len(mine), 1):.1f}%")
    print(f"  in scope answered:   {sum(r.scope_ok for r in in_items)}/{len(in_items)}")
    print(f"  out of scope refused: {sum(r.scope_ok for r in out_items)}/{len(out_items)}")
    by_cond: dict[str, list[int]] = {}
    for r in in_items:
        tally = by_cond.setdefault(r.item.condition or "?", [0, 0])
        tally[0] += len(r.found)
        tally[1] += len(r.found) + len(r.missed)
    for cond, (f, n) in sorted(by_cond.items()):
        print(f"  {cond}: facts {f}/{n} = {100 * f / max(n, 1):.1f}%")
    wrong = [r for r in mine if not r.scope_ok]
    if wrong:
        print("scope wrong:")
        for r in wrong:
            print(f"  [{r.item.scope}] {r.item.id}: {r.item.question[:100]!r} -> {r.bottom_line[:100]!r}")
    worst = sorted((r for r in in_items if r.missed), key=lambda r: (-len(r.missed) / len(r.item.facts), r.item.id))
    if misses:
        print(f"misses (worst {min(misses, len(worst))} of {len(worst)} questions with a miss):")
        for r in worst[:misses]:
            print(f"  {r.item.id}: {r.item.question[:100]!r}  ({len(r.found)}/{len(r.item.facts)})")
            print(f"    bottom line: {r.bottom_line[:160]!r}")
            for f in r.missed:
                print(f"    - {f.text[:140]}")
    return {
        "audience": audience,
        "questions": len(mine),
        "facts": facts,
        "facts_found": found,
        "scope_right": scope_ok,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bank", type=Path, default=ROOT / "bench" / "bank")
    ap.add_argument("--audience", choices=AUDIENCES)
    ap.add_argument("--misses", type=int, default=25, help="how many of the worst questions to list")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()
    items = load_bank(args.bank)
    kb = KnowledgeBase.open()
    audiences = (args.audience,) if args.audience else AUDIENCES
    results = [score(kb, item, aud) for item in items for aud in audiences if aud in item.audiences]
    n_in = sum(1 for i in items if i.scope == "in")
    n_var = sum(1 for i in items if i.variant_of)
    print(
        f"bank: {len(items)} questions ({n_in} in scope of which {n_var} robustness variants, "
        f"{len(items) - n_in} out of scope), {sum(len(i.facts) for i in items if not i.variant_of)} rubric facts"
    )
    figures = [report(results, aud, args.misses) for aud in audiences]
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
