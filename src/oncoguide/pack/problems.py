"""What is wrong with a pack: kept apart from the loader so that catching PackError imports neither
YAML nor pydantic (the command line catches it on every question)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    entry: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        what = f" entry '{self.entry}'" if self.entry else ""
        fld = f" field '{self.field}'" if self.field else ""
        return f"{where}:{what}{fld}: {self.message}"


class PackError(Exception):
    """The pack is invalid; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        head = f"{len(problems)} problem(s) in the knowledge pack"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in problems[:50]))
