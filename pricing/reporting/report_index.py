"""``index.html``: one page linking every report of a month, names escaped."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from pricing.files import atomic_write_text


@dataclass(frozen=True)
class Entry:
    """A link on the index: the page (relative to the index), its label and a group heading."""

    href: str
    label: str
    group: str
    detail: str = ""


_STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:1.6rem}ul{padding-left:1.2rem}li{margin:.2rem 0}
.detail{color:#666;font-size:.9rem}.meta{color:#555;font-size:.9rem}"""


def render_index(title: str, entries: list[Entry], meta_lines: list[str] | None = None) -> str:
    """The index page: a heading per group, a link per entry; every text is HTML-escaped."""
    esc = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{esc(title)}</title><style>{_STYLE}</style></head><body>", f"<h1>{esc(title)}</h1>"]
    for line in meta_lines or []:
        out.append(f'<p class="meta">{esc(line)}</p>')
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.group, []).append(entry)
    for group, items in groups.items():
        out.append(f"<h2>{esc(group)}</h2><ul>")
        for item in items:
            detail = f' <span class="detail">{esc(item.detail)}</span>' if item.detail else ""
            out.append(f'<li><a href="{esc(item.href, quote=True)}">{esc(item.label)}</a>{detail}</li>')
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_index(path: Path, title: str, entries: list[Entry], meta_lines: list[str] | None = None) -> Path:
    return atomic_write_text(Path(path), render_index(title, entries, meta_lines))


__all__ = ["Entry", "render_index", "write_index"]
