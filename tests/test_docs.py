"""Every CLI command and every setting is documented in the README."""

from __future__ import annotations

from pathlib import Path

from oncoguide.cli import app, db_app, pack_app
from oncoguide.settings import Settings

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_every_setting_is_documented():
    for name, field in Settings.model_fields.items():
        assert f"ONCOGUIDE_{name.upper()}" in README, name
        assert field.description, name


def test_every_command_is_documented():
    for cmd in app.registered_commands:
        assert f"oncoguide {cmd.name or cmd.callback.__name__}" in README
    for cmd in pack_app.registered_commands:
        assert f"oncoguide pack {cmd.name}" in README
    for cmd in db_app.registered_commands:
        assert f"oncoguide db {cmd.name}" in README


def test_every_command_group_is_documented():
    for group in app.registered_groups:
        assert f"oncoguide {group.name}" in README, group.name


def test_quick_start_is_two_commands():
    block = README.split("## Quick start", 1)[1].split("```")[1]
    assert [line.split()[0:2] for line in block.strip().splitlines()] == [["make", "run"], ["make", "test"]]
