"""``report.html``: one page that shows a run's pictures and numbers, and opens offline.

The page is plain HTML with inline CSS, no scripts and no network access. Pictures are either
linked as relative paths inside the run folder (default: the folder is the unit you copy) or
embedded as ``data:`` URIs (``embed=True``: one file you can mail). Every linked file must exist
when the page is written; :func:`referenced_files` lists what a page links so that tests (and
users) can check it.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inhabit.errors import InputError
from inhabit.io import write_text


@dataclass
class Figure:
    """A picture (a file in the run folder) with a caption."""

    path: Path
    caption: str = ""


@dataclass
class Table:
    """A table of numbers (already formatted as text)."""

    header: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Links:
    """A list of files to download/open (relative to the run folder)."""

    files: list[tuple[str, Path]]


@dataclass
class Section:
    """A titled part of the page: a paragraph, then tables, figures and links in order."""

    title: str
    text: str = ""
    items: list[Figure | Table | Links] = field(default_factory=list)


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#23395d;color:#fff;padding:18px 28px}header h1{margin:0 0 6px 0;font-size:22px}
header p{margin:2px 0;opacity:.9}main{padding:8px 28px 40px}
section{background:#fff;border:1px solid #e2e2e2;border-radius:6px;padding:12px 18px;margin:16px 0}
h2{font-size:18px;margin:4px 0 10px}p.text{white-space:pre-wrap;line-height:1.45}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}th{background:#f0f3f8}
td:first-child,th:first-child{text-align:left}caption{caption-side:top;text-align:left;font-weight:600;padding:4px 0}
figure{margin:10px 0}figure img{max-width:100%;border:1px solid #ddd}figcaption{font-size:13px;color:#555}
ul.links{columns:2;font-family:ui-monospace,monospace;font-size:13px}
"""


# --- helpers for the jobs' report builders: a report of a half-finished run shows what exists ---


def read_json_dict(path: str | Path) -> dict:
    """The JSON object in ``path``, or ``{}`` when it is missing, unreadable or not an object."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_yaml_dict(path: str | Path) -> dict:
    """The YAML mapping in ``path``, or ``{}`` when it is missing, unreadable or not a mapping."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def format_value(v: Any, digits: int = 3) -> str:
    """A table cell: ``–`` for None and non-finite numbers, fixed digits for ordinary floats."""
    import math

    if v is None:
        return "–"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "–"
        return f"{v:.{digits}f}" if abs(v) < 1e4 else f"{v:.3g}"
    return str(v)


def figure_if_exists(root: Path, rel: str, caption: str) -> list[Figure]:
    """``[Figure(root/rel, caption)]`` when that file exists, else ``[]``."""
    p = root / rel
    return [Figure(p, caption)] if p.is_file() else []


def _mime(path: Path) -> str:
    return {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml",
            ".gif": "image/gif"}.get(path.suffix.lower(), "application/octet-stream")


def _rel(path: Path, root: Path) -> str:
    p = Path(path)
    if not p.is_absolute():
        p = root / p
    try:
        return p.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise InputError(f"report: {p} is outside the run folder {root}; only files of the run can be shown") from None


def render_html(title: str, subtitle: Sequence[str], sections: Sequence[Section], root: Path,
                embed: bool = False) -> str:
    """The page as text. Paths of figures and links are resolved against ``root``.

    Raises:
        InputError: a figure or link that does not exist (a page never links a missing file).
    """
    root = Path(root)
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
           f"<header><h1>{e(title)}</h1>" + "".join(f"<p>{e(s)}</p>" for s in subtitle) + "</header><main>"]
    for sec in sections:
        out.append(f"<section><h2>{e(sec.title)}</h2>")
        if sec.text:
            out.append(f'<p class="text">{e(sec.text)}</p>')
        for item in sec.items:
            if isinstance(item, Table):
                out.append("<table>")
                if item.caption:
                    out.append(f"<caption>{e(item.caption)}</caption>")
                out.append("<tr>" + "".join(f"<th>{e(h)}</th>" for h in item.header) + "</tr>")
                for r in item.rows:
                    out.append("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>")
                out.append("</table>")
            elif isinstance(item, Figure):
                rel = _rel(item.path, root)
                p = root / rel
                if not p.is_file():
                    raise InputError(f"report: figure {p} does not exist")
                if embed:
                    src = f"data:{_mime(p)};base64,{base64.b64encode(p.read_bytes()).decode()}"
                    out.append(f'<figure><img src="{src}" alt="{e(item.caption)}">')
                else:
                    out.append(f'<figure><a href="{e(rel)}"><img src="{e(rel)}" alt="{e(item.caption)}" '
                               f'loading="lazy"></a>')
                if item.caption:
                    out.append(f"<figcaption>{e(item.caption)}</figcaption>")
                out.append("</figure>")
            elif isinstance(item, Links):
                out.append('<ul class="links">')
                for label, path in item.files:
                    rel = _rel(path, root)
                    if not (root / rel).exists():
                        raise InputError(f"report: linked file {root / rel} does not exist")
                    out.append(f'<li><a href="{e(rel)}">{e(label)}</a></li>')
                out.append("</ul>")
        out.append("</section>")
    out.append("</main></body></html>")
    return "\n".join(out) + "\n"


def write_report(path: str | Path, title: str, subtitle: Sequence[str], sections: Sequence[Section],
                 embed: bool = False) -> Path:
    """Write ``report.html`` atomically (links relative to its folder)."""
    path = Path(path)
    return write_text(path, render_html(title, subtitle, sections, path.parent, embed))


_REF = re.compile(r"""(?:src|href)="([^"]+)\"""")


def referenced_files(page: str) -> list[str]:
    """The relative paths a page links (``src``/``href`` values that are not data:, http(s): or #)."""
    out = []
    for ref in _REF.findall(page):
        ref = html.unescape(ref)
        if ref.startswith(("data:", "http://", "https://", "#", "mailto:")):
            continue
        out.append(ref)
    return out
