"""Read and validate the knowledge pack. Every problem names its file, line, entry and field."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from oncoguide.pack.files import pack_digest
from oncoguide.pack.models import (
    ARTICLE_TYPES,
    HOST_PATTERN,
    AlgorithmSpec,
    Claim,
    CodedFact,
    CodeSpec,
    Conflict,
    Drug,
    EvidenceTopic,
    Faq,
    Group,
    Lexicon,
    ObservationCode,
    Section,
    Source,
    Texts,
)
from oncoguide.pack.problems import PackError, Problem

try:  # the C parser is much faster; line numbers still come from the Python constructor
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader

MAX_PATIENT_GRADE = 8.0
# a claim with a figure cites where in the source the figure is; these say nothing about where
FIGURE = re.compile(r"\d")
VAGUE_LOCATORS = frozenset(
    {
        "-",
        "?",
        "n/a",
        "na",
        "none",
        "source",
        "see source",
        "text",
        "full text",
        "article",
        "whole article",
        "passim",
        "various",
        "throughout",
        "document",
        "whole document",
        "paper",
        "online",
    }
)


class LineDict(dict):
    """A mapping that remembers the line it started on and the line of each key."""

    line: int = 0
    key_lines: dict[str, int]


class _LineLoader(_BaseLoader):
    def construct_mapping(self, node, deep=False):
        mapping = LineDict(super().construct_mapping(node, deep=deep))
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {k.value: k.start_mark.line + 1 for k, _ in node.value if hasattr(k, "value")}
        return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping)


@dataclass
class Pack:
    sources: dict[str, Source] = field(default_factory=dict)
    claims: dict[str, Claim] = field(default_factory=dict)
    conflicts: dict[str, Conflict] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    faqs: list[Faq] = field(default_factory=list)
    lexicon: Lexicon | None = None
    texts: Texts | None = None
    claim_files: dict[str, str] = field(default_factory=dict)
    algorithm: AlgorithmSpec | None = None
    codes: CodeSpec | None = None
    groups: list[Group] = field(default_factory=list)
    drugs: dict[str, Drug] = field(default_factory=dict)
    evidence: list[EvidenceTopic] = field(default_factory=list)
    hosts: tuple[str, ...] = ()
    # problems of sources listed in pending-sources.yaml: reported by `pack check`, not refused
    pending: list[Problem] = field(default_factory=list)
    digest: str = ""


def _read_yaml(path: Path, rel: str, problems: list[Problem]) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(rel, 0, "", "", f"not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return None
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        msg = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(rel, line, "", "", f"invalid YAML: {msg}"))
        return None


def _validate(model: type[BaseModel], data: Any, rel: str, problems: list[Problem], entry_hint: str = ""):
    line = getattr(data, "line", 0)
    entry = str(data.get("id", entry_hint)) if isinstance(data, dict) else entry_hint
    if not isinstance(data, dict):
        problems.append(Problem(rel, line, entry_hint, "", f"expected a mapping, found {type(data).__name__}"))
        return None
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        key_lines = getattr(data, "key_lines", {})
        for err in exc.errors():
            loc = [str(x) for x in err["loc"]]
            fld = ".".join(loc)
            problems.append(Problem(rel, key_lines.get(loc[0], line) if loc else line, entry, fld, err["msg"]))
        return None


def _entries(data: Any, rel: str, problems: list[Problem]) -> list:
    if data is None:
        return []
    if not isinstance(data, list):
        problems.append(Problem(rel, getattr(data, "line", 1), "", "", "expected a list of entries"))
        return []
    return data


def _line_of(data: Any) -> int:
    return getattr(data, "line", 0)


def load_pack(pack_dir: Path, check_reading: bool = True) -> Pack:
    """Load and validate every file of the pack; raise PackError listing all problems."""
    pack_dir = Path(pack_dir)
    problems: list[Problem] = []
    pack = Pack()
    if not pack_dir.is_dir():
        raise PackError([Problem(str(pack_dir), 0, "", "", "pack directory not found")])
    lines: dict[tuple[str, str], tuple[str, int]] = {}

    def rel(p: Path) -> str:
        return str(p.relative_to(pack_dir))

    def add_unique(kind: str, store: dict, obj, path_rel: str, line: int):
        if obj.id in store:
            first = lines[(kind, obj.id)]
            problems.append(
                Problem(path_rel, line, obj.id, "id", f"duplicate {kind} id (first defined at {first[0]}:{first[1]})")
            )
            return False
        store[obj.id] = obj
        lines[(kind, obj.id)] = (path_rel, line)
        return True

    pack.hosts = _load_hosts(pack_dir, problems)
    pending = _load_pending(pack_dir, problems)
    cleared: set[str] = set(pending)
    source_where: dict[str, tuple[str, int]] = {}
    for path in sorted((pack_dir / "sources").glob("*.yaml")):
        r = rel(path)
        for raw in _entries(_read_yaml(path, r, problems), r, problems):
            src = _validate(Source, raw, r, problems)
            if src:
                add_unique("source", pack.sources, src, r, _line_of(raw))
                source_where.setdefault(src.id, (r, getattr(raw, "key_lines", {}).get("text_seen", _line_of(raw))))
                if not (src.pmid or src.doi or src.url):
                    # even a source whose identifier is still sought needs an address a reader can follow
                    problems.append(Problem(r, _line_of(raw), src.id, "pmid", "a source needs a PMID, DOI or URL"))
                kl = getattr(raw, "key_lines", {})
                for fld, message in _source_problems(src, pack.hosts):
                    found = Problem(r, kl.get(fld, _line_of(raw)), src.id, fld, message)
                    if src.id in pending:  # listed for cleanup: reported, not refused (the list may only shrink)
                        pack.pending.append(found)
                        cleared.discard(src.id)
                    else:
                        problems.append(found)
    for source_id in sorted(cleared):
        why = "no longer lacks anything" if source_id in pack.sources else "is not a source of the pack"
        problems.append(
            Problem(PENDING_FILE, 0, source_id, "", f"listed as pending but {why}: remove it from {PENDING_FILE}")
        )

    seen_ids: dict[tuple[str, str], str] = {}
    for src in pack.sources.values():
        for kind in ("pmid", "doi"):
            value = getattr(src, kind)
            if value:
                first = seen_ids.setdefault((kind, value.lower()), src.id)
                if first != src.id:
                    file, line = lines[("source", src.id)]
                    problems.append(
                        Problem(
                            file, line, src.id, kind, f"same {kind.upper()} as source '{first}': one article, one entry"
                        )
                    )

    raw_claims = []
    for path in sorted((pack_dir / "claims").glob("*.yaml")):
        r = rel(path)
        for raw in _entries(_read_yaml(path, r, problems), r, problems):
            claim = _validate(Claim, raw, r, problems)
            if claim and add_unique("claim", pack.claims, claim, r, _line_of(raw)):
                pack.claim_files[claim.id] = r
                raw_claims.append((claim, raw, r))

    raw_conflicts = []
    cpath = pack_dir / "conflicts.yaml"
    if cpath.exists():
        for raw in _entries(_read_yaml(cpath, "conflicts.yaml", problems), "conflicts.yaml", problems):
            c = _validate(Conflict, raw, "conflicts.yaml", problems)
            if c and add_unique("conflict", pack.conflicts, c, "conflicts.yaml", _line_of(raw)):
                raw_conflicts.append((c, raw))

    for name, model, target in (("sections.yaml", Section, pack.sections), ("faqs.yaml", Faq, pack.faqs)):
        path = pack_dir / name
        if not path.exists():
            problems.append(Problem(name, 0, "", "", "required file is missing"))
            continue
        seen: dict[str, int] = {}
        for raw in _entries(_read_yaml(path, name, problems), name, problems):
            obj = _validate(model, raw, name, problems)
            if obj:
                if obj.id in seen:
                    problems.append(
                        Problem(
                            name, _line_of(raw), obj.id, "id", f"duplicate id (first defined at line {seen[obj.id]})"
                        )
                    )
                    continue
                seen[obj.id] = _line_of(raw)
                target.append(obj)

    documents: tuple[tuple[str, type[BaseModel], str], ...] = (
        ("lexicon.yaml", Lexicon, "lexicon"),
        ("texts.yaml", Texts, "texts"),
    )
    for name, doc_model, attr in documents:
        path = pack_dir / name
        if not path.exists():
            problems.append(Problem(name, 0, "", "", "required file is missing"))
            continue
        data = _read_yaml(path, name, problems)
        if data is not None:
            setattr(pack, attr, _validate(doc_model, data, name, problems, entry_hint=name))

    raw_groups = _load_algorithm(pack, pack_dir, problems)
    _cross_check(pack, raw_claims, raw_conflicts, problems, check_reading)
    _check_algorithm(pack, raw_groups, problems)
    _load_evidence(pack, pack_dir, problems)
    _check_unseen_sources(pack, source_where, problems)
    if not problems:
        _check_statistics(pack, raw_claims, problems)
    if problems:
        raise PackError(problems)
    pack.digest = pack_digest(pack_dir)
    return pack


PENDING_FILE = "pending-sources.yaml"


def _load_pending(pack_dir: Path, problems: list[Problem]) -> set[str]:
    """Sources whose identifier or address is known to be missing and is being looked for (pending-sources.yaml):
    their problems are reported by `pack check` without refusing the pack; any other source must meet the rules,
    and a listed source that meets them must leave the list."""
    path = pack_dir / PENDING_FILE
    if not path.exists():
        return set()
    data = _read_yaml(path, PENDING_FILE, problems)
    if not isinstance(data, list):
        if data is not None:
            problems.append(Problem(PENDING_FILE, 1, "", "", "expected a list of {source, note} entries"))
        return set()
    out: set[str] = set()
    for i, entry in enumerate(data):
        if not (isinstance(entry, dict) and isinstance(entry.get("source"), str) and entry.get("note")):
            problems.append(Problem(PENDING_FILE, _line_of(entry) or 0, "", str(i), "each entry needs source and note"))
            continue
        out.add(entry["source"])
    return out


def _load_hosts(pack_dir: Path, problems: list[Problem]) -> tuple[str, ...]:
    """The allow-list of URL hosts (hosts.yaml): a list of host names, "*.domain" for subdomains."""
    name = "hosts.yaml"
    path = pack_dir / name
    if not path.exists():
        problems.append(Problem(name, 0, "", "", "required file is missing (the hosts a source's url may use)"))
        return ()
    data = _read_yaml(path, name, problems)
    if data is None:
        return ()
    if not isinstance(data, list):
        problems.append(Problem(name, _line_of(data) or 1, "", "", "expected a list of host names"))
        return ()
    lines = _item_lines(path)
    hosts: list[str] = []
    for i, host in enumerate(data):
        if not isinstance(host, str) or not re.fullmatch(HOST_PATTERN, host):
            problems.append(
                Problem(
                    name,
                    lines[i] if i < len(lines) else 0,
                    "",
                    str(i),
                    f"'{host}' is not a host name (write 'www.example.org', or '*.example.org' for its subdomains)",
                )
            )
            continue
        hosts.append(host)
    return tuple(hosts)


def _item_lines(path: Path) -> list[int]:
    """Line numbers of a YAML list's items (scalars carry no line once loaded)."""
    node = yaml.compose(path.read_text(encoding="utf-8"), Loader=_BaseLoader)
    return [item.start_mark.line + 1 for item in getattr(node, "value", [])] if node else []


def host_allowed(host: str, hosts: Sequence[str]) -> bool:
    """Whether a URL's host is on the allow-list; "*.x.org" allows a.x.org and a.b.x.org but not x.org."""
    host = host.lower().rstrip(".")
    return any(host == h or (h.startswith("*.") and host.endswith(h[1:])) for h in hosts)


def _check_unseen_sources(pack: Pack, source_where: dict[str, tuple[str, int]], problems: list[Problem]) -> None:
    """A source whose text nobody has read (text_seen: false) may be listed, never cited: whatever cites it
    would rest on what someone else says the source says."""
    citers: dict[str, list[str]] = {}

    def note(cits, who: str) -> None:
        for cit in cits:
            citers.setdefault(cit.source, []).append(who)

    for claim in pack.claims.values():
        note(claim.citations, f"claim '{claim.id}'")
    for conflict in pack.conflicts.values():
        for side in conflict.sides:
            note(side.citations, f"conflict '{conflict.id}'")
    for group in pack.groups:
        for step in group.steps:
            note(step.citations, f"group '{group.id}' step '{step.name}'")
    for topic in pack.evidence:
        for study in topic.studies:
            note(study.citations, f"study '{study.id}'")
    for sid, src in pack.sources.items():
        if src.text_seen is False and sid in citers:
            file, line = source_where.get(sid, ("", 0))
            who = citers[sid]
            more = f" and {len(who) - 3} more" if len(who) > 3 else ""
            problems.append(
                Problem(
                    file,
                    line,
                    sid,
                    "text_seen",
                    f"text_seen is false (nobody has read this source) but it is cited by {', '.join(who[:3])}{more}: "
                    "cite a source whose text was read, or remove the citation",
                )
            )


def _source_problems(src: Source, hosts: Sequence[str]) -> list[tuple[str, str]]:
    """A journal article needs a PMID or DOI (or a stated reason it has none); a link must be on a stable host."""
    from urllib.parse import urlsplit

    out: list[tuple[str, str]] = []
    has_id = bool(src.pmid or src.doi)
    if src.type in ARTICLE_TYPES or src.journal:
        why = f"type '{src.type}'" if src.type in ARTICLE_TYPES else f"journal '{src.journal}'"
        if not has_id and not src.no_identifier_reason:
            out.append(
                (
                    "pmid",
                    f"a journal article ({why}) needs a verified PMID or DOI; if it genuinely has neither "
                    "(e.g. a meeting abstract) say why in no_identifier_reason. A web page has no journal: "
                    "remove a journal that only names a website",
                )
            )
    if src.no_identifier_reason and has_id:
        out.append(("no_identifier_reason", "the source has a PMID or DOI: remove no_identifier_reason"))
    if src.url:
        host = urlsplit(src.url).hostname or ""
        if not host_allowed(host, hosts):
            out.append(
                (
                    "url",
                    f"host '{host}' is not on the allow-list of stable hosts (hosts.yaml): link "
                    "https://pubmed.ncbi.nlm.nih.gov/PMID/, https://doi.org/DOI or the publisher or agency page, "
                    "never a mirror, proxy, repository, session-bound link or PDF copy",
                )
            )
    return out


def _cross_check(pack: Pack, raw_claims, raw_conflicts, problems: list[Problem], check_reading: bool) -> None:
    def check_citations(cits, r, raw, entry, fld="citations"):
        key_line = getattr(raw, "key_lines", {}).get(fld, _line_of(raw))
        for i, cit in enumerate(cits):
            if cit.source not in pack.sources:
                problems.append(Problem(r, key_line, entry, f"{fld}.{i}.source", f"unknown source '{cit.source}'"))

    lex = pack.lexicon
    subtypes = set(lex.subtypes) if lex else set()
    sites = set(lex.sites) if lex else set()
    grade = _grader() if check_reading else None
    if lex:
        for name, intent in lex.intents.items():
            kind, _, key = (intent.entity or "").partition(":")
            if intent.entity and key not in lex.entities.get(kind, {}):
                problems.append(Problem("lexicon.yaml", 0, name, "entity", f"unknown entity '{intent.entity}'"))
        for ex in lex.exclusions:
            g = grade(ex.patient_reason) if grade else 0.0
            if g > MAX_PATIENT_GRADE:
                problems.append(
                    Problem(
                        "lexicon.yaml",
                        0,
                        ex.id,
                        "patient_reason",
                        f"reads at grade {g:.1f}; patient text must be grade {MAX_PATIENT_GRADE:g} or below",
                    )
                )
    for claim, raw, r in raw_claims:
        check_citations(claim.citations, r, raw, claim.id)
        kl = getattr(raw, "key_lines", {})
        if FIGURE.search(claim.clinician):
            for i, cit in enumerate(claim.citations):
                if cit.locator.strip().lower().rstrip(".") in VAGUE_LOCATORS:
                    problems.append(
                        Problem(
                            r,
                            kl.get("citations", _line_of(raw)),
                            claim.id,
                            f"citations.{i}.locator",
                            f"'{cit.locator}' does not say where in the source the claim's figures are: name the "
                            "section, table or page",
                        )
                    )
        if lex:
            for s in claim.subtypes:
                if s != "any" and s not in subtypes:
                    problems.append(
                        Problem(
                            r,
                            kl.get("subtypes", _line_of(raw)),
                            claim.id,
                            "subtypes",
                            f"unknown subtype '{s}' (known: {', '.join(sorted(subtypes))})",
                        )
                    )
            for s in claim.sites:
                if s != "any" and s not in sites:
                    problems.append(
                        Problem(
                            r,
                            kl.get("sites", _line_of(raw)),
                            claim.id,
                            "sites",
                            f"unknown site '{s}' (known: {', '.join(sorted(sites))})",
                        )
                    )
        if lex:
            for fld, message in _focus_problems(claim, lex):
                problems.append(Problem(r, kl.get(fld, _line_of(raw)), claim.id, fld, message))
        for fld, text in (("clinician", claim.clinician), ("patient", claim.patient)):
            ref = dangling_reference(text)
            if ref:
                problems.append(
                    Problem(
                        r,
                        kl.get(fld, _line_of(raw)),
                        claim.id,
                        fld,
                        f"the first sentence refers to '{ref}' without naming it; a statement can be read alone "
                        "(in a bottom line), so name the study or series",
                    )
                )
        if grade:
            g = grade(_with_sample_numbers(claim.patient))
            if g > MAX_PATIENT_GRADE:
                problems.append(
                    Problem(
                        r,
                        kl.get("patient", _line_of(raw)),
                        claim.id,
                        "patient",
                        f"reads at grade {g:.1f}; patient text must be grade "
                        f"{MAX_PATIENT_GRADE:g} or below (Flesch-Kincaid)",
                    )
                )
    for c, raw in raw_conflicts:
        for i, side in enumerate(c.sides):
            check_citations(side.citations, "conflicts.yaml", raw, c.id, f"sides.{i}.citations")
        if grade:
            for i, text in [(-1, c.patient)] + [(i, s.patient) for i, s in enumerate(c.sides)]:
                g = grade(_with_sample_numbers(text))  # computed figures read as numbers, as in claims
                if g > MAX_PATIENT_GRADE:
                    fld = "patient" if i < 0 else f"sides.{i}.patient"
                    problems.append(
                        Problem(
                            "conflicts.yaml",
                            _line_of(raw),
                            c.id,
                            fld,
                            f"reads at grade {g:.1f}; patient text must be grade "
                            f"{MAX_PATIENT_GRADE:g} or below (Flesch-Kincaid)",
                        )
                    )


# "In that series", "the same cohort": a reference to a statement the reader may not have seen.
ANAPHORA = re.compile(
    r"\b(?:that|this|these|those|the same|the above|the latter|the former)\s+"
    r"(?:series|study|studies|trial|trials|cohort|cohorts|review|analysis|report|registry)\b",
    re.IGNORECASE,
)


def dangling_reference(text: str) -> str | None:
    """The phrase in a text's first sentence that points back at an unnamed earlier statement, if any."""
    first = re.split(r"(?<=[.!?])\s+(?=[A-Z])", text.strip(), maxsplit=1)[0]
    m = ANAPHORA.search(first)
    return m.group(0) if m else None


def _focus_problems(claim, lex) -> list[tuple[str, str]]:
    """What a claim says it answers (entities, cohort, safety rules) checked against the lexicon."""
    out: list[tuple[str, str]] = []

    def known(ref: str) -> bool:
        kind, _, key = ref.partition(":")
        if kind in lex.entities:
            return key in lex.entities[kind]
        if kind == "population":
            return key in lex.populations
        if kind == "subtype":
            return key in lex.subtypes
        if kind == "site":
            return key in lex.sites
        return False

    for e in claim.entities:
        if not known(e):
            kind = e.partition(":")[0]
            names = ", ".join(sorted(lex.entities.get(kind, {})))
            out.append(("entities", f"unknown entity '{e}' (known {kind} keys: {names})"))
    if claim.cohort is not None and (claim.cohort == "any" or claim.cohort not in claim.populations):
        out.append(
            (
                "cohort",
                f"cohort '{claim.cohort}' must be one of the claim's populations "
                f"({', '.join(claim.populations)}): a figure from a selected cohort carries that population",
            )
        )
    for i, rule in enumerate(claim.safety):
        if not known(rule.treatment):
            out.append((f"safety.{i}.treatment", f"unknown treatment '{rule.treatment}'"))
        for ref in rule.when:
            if not known(ref):
                out.append((f"safety.{i}.when", f"unknown reference '{ref}'"))
    return out


def _with_sample_numbers(text: str) -> str:
    """Templates such as {stat:x} read as a typical computed figure when grading."""
    import re

    return re.sub(r"\{(?:stat|cmp):[^}]*\}", "27/40 (67.5%)", text)


def _grader():
    from oncoguide.pack.readability import grade

    return grade


def _load_algorithm(pack: Pack, pack_dir: Path, problems: list[Problem]) -> list:
    adir = pack_dir / "algorithm"
    spec_path = adir / "dimensions.yaml"
    if not spec_path.exists():
        problems.append(Problem("algorithm/dimensions.yaml", 0, "", "", "required file is missing"))
        return []
    data = _read_yaml(spec_path, "algorithm/dimensions.yaml", problems)
    if data is not None:
        pack.algorithm = _validate(AlgorithmSpec, data, "algorithm/dimensions.yaml", problems, entry_hint="dimensions")
    codes_path = adir / "codes.yaml"
    if codes_path.exists():
        data = _read_yaml(codes_path, "algorithm/codes.yaml", problems)
        if data is not None:
            pack.codes = _validate(CodeSpec, data, "algorithm/codes.yaml", problems, entry_hint="codes")
    for path in sorted(adir.glob("drugs-*.yaml")):
        r = str(path.relative_to(pack_dir))
        for raw in _entries(_read_yaml(path, r, problems), r, problems):
            drug = _validate(Drug, raw, r, problems)
            if drug:
                pack.drugs.setdefault(drug.name, drug)  # the same drug may be listed in several files
    raw_groups = []
    seen: dict[str, str] = {}
    for path in sorted(adir.glob("groups-*.yaml")):
        r = str(path.relative_to(pack_dir))
        for raw in _entries(_read_yaml(path, r, problems), r, problems):
            g = _validate(Group, raw, r, problems)
            if g is None:
                continue
            if g.id in seen:
                problems.append(Problem(r, _line_of(raw), g.id, "id", f"duplicate group id (first in {seen[g.id]})"))
                continue
            seen[g.id] = r
            pack.groups.append(g)
            raw_groups.append((g, raw, r))
    return raw_groups


def _check_algorithm(pack: Pack, raw_groups, problems: list[Problem]) -> None:
    spec = pack.algorithm
    if spec is None:
        return
    names = set(pack.drugs)
    for d in pack.drugs.values():
        names.update(a.lower() for a in d.also)
    for g, raw, r in raw_groups:
        kl = getattr(raw, "key_lines", {})
        used = set(spec.conditions[g.condition].dimensions) | {"site"} if g.condition in spec.conditions else set()
        for i, alt in enumerate(g.criteria):
            for dim, vals in alt.items():
                if dim not in spec.dimensions:
                    problems.append(
                        Problem(
                            r,
                            kl.get("criteria", _line_of(raw)),
                            g.id,
                            f"criteria.{i}.{dim}",
                            f"unknown criterion '{dim}'",
                        )
                    )
                    continue
                if dim not in used:
                    problems.append(
                        Problem(
                            r,
                            kl.get("criteria", _line_of(raw)),
                            g.id,
                            f"criteria.{i}.{dim}",
                            f"'{dim}' is not a deciding fact for {g.condition}",
                        )
                    )
                for v in vals:
                    if v not in spec.dimensions[dim].values:
                        problems.append(
                            Problem(
                                r,
                                kl.get("criteria", _line_of(raw)),
                                g.id,
                                f"criteria.{i}.{dim}",
                                f"unknown value '{v}' (known: {', '.join(spec.dimensions[dim].values)})",
                            )
                        )
        for j, step in enumerate(g.steps):
            for k, cit in enumerate(step.citations):
                if cit.source not in pack.sources:
                    problems.append(
                        Problem(
                            r,
                            kl.get("steps", _line_of(raw)),
                            g.id,
                            f"steps.{j}.citations.{k}.source",
                            f"unknown source '{cit.source}'",
                        )
                    )
            for opt in step.options:
                for gt in opt.genotypes:
                    if gt not in spec.genotypes:
                        problems.append(
                            Problem(
                                r,
                                kl.get("steps", _line_of(raw)),
                                g.id,
                                f"steps.{j}.options",
                                f"unknown genotype '{gt}' (known: {', '.join(spec.genotypes) or 'none'})",
                            )
                        )
                for regimen in opt.regimens:
                    for drug in regimen:
                        if drug.lower() not in names:
                            problems.append(
                                Problem(
                                    r,
                                    kl.get("steps", _line_of(raw)),
                                    g.id,
                                    f"steps.{j}.options",
                                    f"unknown drug '{drug}'",
                                )
                            )
    _check_codes(pack, spec, problems)
    groups = [g for g, _, _ in raw_groups]
    for a_i, a in enumerate(groups):
        for b in groups[a_i + 1 :]:
            if a.condition != b.condition:
                continue
            for alt_a in a.criteria:
                for alt_b in b.criteria:
                    dims = set(alt_a) | set(alt_b)
                    if all(
                        set(alt_a.get(d, spec.dimensions[d].values if d in spec.dimensions else []))
                        & set(alt_b.get(d, spec.dimensions[d].values if d in spec.dimensions else []))
                        for d in dims
                    ):
                        r = next(rr for gg, _, rr in raw_groups if gg is b)
                        shared = ", ".join(f"{d}={sorted(alt_b.get(d, []))}" for d in sorted(dims))
                        problems.append(
                            Problem(
                                r,
                                0,
                                b.id,
                                "criteria",
                                f"overlaps group '{a.id}': one patient could fit both ({shared})",
                            )
                        )


def _check_codes(pack: Pack, spec: AlgorithmSpec, problems: list[Problem]) -> None:
    """Every code names a known system and sets only known facts to known values, once per code."""
    codes, rel = pack.codes, "algorithm/codes.yaml"
    if codes is None:
        return
    allowed = {"condition": list(spec.conditions), **{d: v.values for d, v in spec.dimensions.items()}}
    seen: set[tuple[str, str, str]] = set()
    entries: list[tuple[str, CodedFact | ObservationCode]] = [
        (f"conditions.{i}", c) for i, c in enumerate(codes.conditions)
    ]
    entries += [(f"observations.{i}", o) for i, o in enumerate(codes.observations)]
    for where, entry in entries:
        for system in [entry.system] if isinstance(entry.system, str) else entry.system:
            if system not in codes.systems:
                problems.append(
                    Problem(
                        rel,
                        0,
                        entry.code,
                        f"{where}.system",
                        f"unknown system '{system}' (known: {', '.join(codes.systems)})",
                    )
                )
            key = (system, entry.code.upper(), getattr(entry, "match", "exact"))
            if key in seen:
                problems.append(Problem(rel, 0, entry.code, where, "the same code is listed twice"))
            seen.add(key)
        for fact, value in getattr(entry, "sets", {}).items():
            if fact not in allowed:
                problems.append(
                    Problem(
                        rel,
                        0,
                        entry.code,
                        f"{where}.sets.{fact}",
                        f"unknown fact '{fact}' (known: {', '.join(allowed)})",
                    )
                )
                continue
            for v in value.split("|"):
                if v not in allowed[fact]:
                    problems.append(
                        Problem(
                            rel,
                            0,
                            entry.code,
                            f"{where}.sets.{fact}",
                            f"unknown value '{v}' (known: {', '.join(allowed[fact])})",
                        )
                    )


def _load_evidence(pack: Pack, pack_dir: Path, problems: list[Problem]) -> None:
    seen_stats: dict[str, str] = {}
    for path in sorted((pack_dir / "evidence").glob("*.yaml")):
        r = str(path.relative_to(pack_dir))
        data = _read_yaml(path, r, problems)
        if data is None:
            continue
        topic = _validate(EvidenceTopic, data, r, problems, entry_hint=path.stem)
        if topic is None:
            continue
        before = len(problems)
        raw_studies = {s.get("id"): s for s in data.get("studies", []) if isinstance(s, dict)}
        for study in topic.studies:
            line = _line_of(raw_studies.get(study.id))
            for cit in study.citations:
                if cit.source not in pack.sources:
                    problems.append(Problem(r, line, study.id, "citations", f"unknown source '{cit.source}'"))
            for arm in study.arms:
                where = f"arm '{arm.id}'"
                if arm.n <= 0:
                    problems.append(Problem(r, line, study.id, f"{where}.n", f"n must be positive (got {arm.n})"))
                    continue
                for cat, value in arm.counts.items():
                    if cat not in topic.categories:
                        problems.append(
                            Problem(
                                r,
                                line,
                                study.id,
                                f"{where}.counts.{cat}",
                                f"unknown category (known: {', '.join(topic.categories)})",
                            )
                        )
                    if value < 0:
                        problems.append(
                            Problem(r, line, study.id, f"{where}.counts.{cat}", f"negative count ({value})")
                        )
                    elif value > arm.n:
                        problems.append(
                            Problem(r, line, study.id, f"{where}.counts.{cat}", f"count {value} exceeds n = {arm.n}")
                        )
                total = sum(arm.counts.get(c, 0) for c in topic.categories)
                if total != arm.n:
                    problems.append(
                        Problem(r, line, study.id, f"{where}.counts", f"categories add up to {total}, not n = {arm.n}")
                    )
        for agg in topic.aggregates:
            if agg.n <= 0 or not 0 <= agg.events <= agg.n:
                problems.append(Problem(r, 0, agg.id, "events", f"{agg.events}/{agg.n} is not a valid count"))
        for sdef in topic.statistics + ([topic.forest] if topic.forest else []):
            for cat in sdef.numerator:
                if cat not in topic.categories:
                    problems.append(Problem(r, 0, sdef.id, "numerator", f"unknown category '{cat}'"))
        for item in topic.statistics + topic.aggregates + topic.comparisons:
            if item.id in seen_stats:
                problems.append(Problem(r, 0, item.id, "id", f"duplicate statistic (first in {seen_stats[item.id]})"))
            seen_stats[item.id] = r
        names = {x.id for x in topic.statistics + topic.aggregates}
        for cdef in topic.comparisons:
            for side in (cdef.a, cdef.b):
                if side not in names:
                    problems.append(Problem(r, 0, cdef.id, "a/b", f"unknown statistic '{side}'"))
        attrs = {k for s in topic.studies for a in s.arms for k in a.attrs}
        for name in topic.labels:
            if name not in topic.categories and name not in attrs:
                problems.append(Problem(r, 0, name, "labels", "neither an outcome category nor an arm attribute"))
        for attr, vals in topic.values.items():
            seen = {str(a.attrs[attr]) for s in topic.studies for a in s.arms if attr in a.attrs}
            if attr not in attrs:
                problems.append(Problem(r, 0, attr, "values", "not an arm attribute"))
            for value in vals:
                if attr in attrs and value not in seen:
                    problems.append(Problem(r, 0, attr, f"values.{value}", f"no arm has {attr} = {value}"))
        if len(problems) == before:
            pack.evidence.append(topic)


def evidence_of(pack: Pack):
    from oncoguide.evidence.report import Evidence
    from oncoguide.evidence.topics import evidence_topic

    return Evidence([evidence_topic(t.model_dump(exclude_none=True)) for t in pack.evidence])


def _check_statistics(pack: Pack, raw_claims, problems: list[Problem]) -> None:
    """Claims that quote statistics: names must exist, typed numbers must agree with the data."""
    try:
        ev = evidence_of(pack)
    except ValueError as exc:
        problems.append(Problem("evidence/", 0, "", "", f"cannot compute statistics: {exc}"))
        return
    for claim, raw, r in raw_claims:
        kl = getattr(raw, "key_lines", {})
        for fld in ("clinician", "patient"):
            for bad in ev.unknown_names(getattr(claim, fld)):
                problems.append(Problem(r, kl.get(fld, _line_of(raw)), claim.id, fld, f"unknown statistic '{bad}'"))
        if claim.statistic:
            if claim.statistic not in ev.stats:
                problems.append(
                    Problem(
                        r,
                        kl.get("statistic", _line_of(raw)),
                        claim.id,
                        "statistic",
                        f"unknown statistic '{claim.statistic}'",
                    )
                )
                continue
            for fld in ("clinician", "patient"):
                for msg in ev.disagreements(getattr(claim, fld), claim.statistic):
                    problems.append(
                        Problem(
                            r, kl.get(fld, _line_of(raw)), claim.id, fld, f"typed number disagrees with the data: {msg}"
                        )
                    )
