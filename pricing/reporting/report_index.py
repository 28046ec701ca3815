"""``index.html``: one page linking every report of a month, names escaped."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pricing.files import atomic_write_text
from pricing.reporting.html_pages import render_page


@dataclass(frozen=True)
class Entry:
    """A link on the index: the page (relative to the index), its label and a group heading."""

    href: str
    label: str
    group: str
    detail: str = ""


def render_index(title: str, entries: list[Entry], meta_lines: list[str] | None = None) -> str:
    """The index page (``templates/index.html.j2``): a heading per group, a link per entry, all text escaped."""
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.group, []).append(entry)
    return render_page("index.html.j2", title=title, meta_lines=meta_lines or [], groups=groups)


def write_index(path: Path, title: str, entries: list[Entry], meta_lines: list[str] | None = None) -> Path:
    return atomic_write_text(Path(path), render_index(title, entries, meta_lines))


__all__ = ["Entry", "render_index", "write_index"]
