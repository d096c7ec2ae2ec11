"""Every CLI command and every setting is documented in the README."""

from __future__ import annotations

from pathlib import Path

import typer

from oncoguide.cli import app
from oncoguide.settings import Settings

README = (Path(__file__).parent.parent / "README.md").read_text()
# the command tree as the user sees it: cli/ registers each module's commands and groups on one app
TREE = typer.main.get_command(app)


def commands(group) -> dict:
    return {name: cmd for name, cmd in group.commands.items() if not hasattr(cmd, "commands")}


def groups(group) -> dict:
    return {name: cmd for name, cmd in group.commands.items() if hasattr(cmd, "commands")}


def test_every_setting_is_documented():
    for name, field in Settings.model_fields.items():
        assert f"ONCOGUIDE_{name.upper()}" in README, name
        assert field.description, name


def test_every_command_is_documented():
    assert "ask" in commands(TREE) and "serve" in commands(TREE)  # the tree is read, not empty
    for name in commands(TREE):
        assert f"oncoguide {name}" in README, name
    for group in ("pack", "db"):
        for name in commands(groups(TREE)[group]):
            assert f"oncoguide {group} {name}" in README, f"{group} {name}"


def test_every_command_group_is_documented():
    assert {"pack", "db", "users", "review", "fhir"} <= set(groups(TREE))
    for name in groups(TREE):
        assert f"oncoguide {name}" in README, name


def test_quick_start_is_two_commands():
    block = README.split("## Quick start", 1)[1].split("```")[1]
    assert [line.split()[0:2] for line in block.strip().splitlines()] == [["make", "run"], ["make", "test"]]
