"""Help that reads as text: every command and option of ``pricing`` explains itself, without markup."""

from __future__ import annotations

import argparse
import re

import pytest

from pricing.apps.cli import build_parser

# reST/Sphinx markup that argparse would print as is: ``literal``, :func:`x`, :class:`x`, :mod:`x`, :data:`x`, ...
MARKUP = re.compile(r"``|:[a-z]+:`|`[^`]+`_")


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ("pricing",)):
    """Every (command path, parser, help given by the parent) in the tree, the top parser first."""
    yield path, parser, None
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                for found in walk(sub, (*path, name)):
                    found_path, found_parser, given = found
                    yield found_path, found_parser, helps.get(name) if found_path == (*path, name) else given


COMMANDS = list(walk(build_parser()))


def test_the_walk_finds_every_level_of_commands() -> None:
    # guards the walk itself: a walk that found nothing would pass every test below
    names = {" ".join(path) for path, _, _ in COMMANDS}
    assert {"pricing", "pricing quote", "pricing report tenants", "pricing invoices credit",
            "pricing catalog import", "pricing customers event"} <= names
    assert len(COMMANDS) > 30


@pytest.mark.parametrize(("path", "parser", "given"), COMMANDS, ids=[" ".join(c[0]) for c in COMMANDS])
def test_every_command_and_option_has_plain_help(path, parser: argparse.ArgumentParser, given) -> None:
    texts = [parser.description or "", given or ""]
    if len(path) > 1:
        assert (given or parser.description), f"{' '.join(path)}: no help or description"
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            continue  # each command is checked on its own
        where = f"{' '.join(path)} {'/'.join(action.option_strings) or action.dest}"
        assert action.help and action.help.strip(), f"{where}: no help"
        texts.append(action.help)
    for text in texts:
        assert not MARKUP.search(text), f"{' '.join(path)}: markup in help {text!r}"


def test_the_markup_check_catches_rest() -> None:
    for text in ("The ``pricing`` command line.", "see :func:`rate`", ":mod:`pricing.x`", ":data:`DEFAULT`"):
        assert MARKUP.search(text)
    for text in ("price a usage, e.g. --usage maa=50", "run `pricing COMMAND --help` for its options"):
        assert not MARKUP.search(text)


def test_rendered_help_is_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["report", "tenants", "--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    assert "--jobs" in out and "warm kernels" in out
    assert "``" not in out and ":func:" not in out
