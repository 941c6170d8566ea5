"""Self-contained HTML reports: the markdown report rendered to HTML with images embedded as data URIs.

Every piece of text is HTML-escaped (markdown backslash escapes, as written by
:func:`irrobust.report.markdown.md_escape`, show the literal character). Only images inside the report's own
folder (the run directory) are embedded: an absolute path, a ``..`` path, a symlink that leads out of the folder or
a URL is never read, and its ``src`` is never written into the page.

Example:
    >>> html = markdown_to_html("# T\\n\\n| a |\\n|---|\\n| 1 |\\n")
    >>> "<table>" in html and "<h1>T</h1>" in html
    True
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from jinja2 import Environment, select_autoescape

from irrobust.util.io import atomic_write_text

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0;font-size:0.92rem}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}code{background:#f5f5f5;padding:1px 3px}
img{max-width:100%;height:auto;border:1px solid #eee}
</style></head><body>
{{ body | safe }}
</body></html>
"""


#: a markdown backslash escape (any ASCII punctuation character)
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_IMAGE = re.compile(r"^!\[((?:\\.|[^\]\\])*)\]\(([^)\s]+)\)\s*$")
_MIME = {".png": "image/png", ".svg": "image/svg+xml"}


def _inline(text: str) -> str:
    parts = _ESCAPE.split(text)  # even items: markdown text; odd items: escaped literal characters
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(html.escape(part))
            continue
        part = html.escape(part, quote=False)
        part = re.sub(r"`([^`]+)`", r"<code>\1</code>", part)
        out.append(re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", part))
    return "".join(out)


def _cells(row: str) -> list[str]:
    """The cells of a markdown table row (``\\|`` is a literal bar inside a cell)."""
    row = row.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
    return [c.strip() for c in re.split(r"(?<!\\)\|", row)]


def _embeddable(src: str, base_dir: Path | None) -> Path | None:
    """The image file ``src`` names if it is a regular file inside ``base_dir`` (after resolving links), else None."""
    if base_dir is None or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", src) or src.startswith(("/", "\\", "~")):
        return None
    root = Path(base_dir).resolve()
    path = (root / src).resolve()
    if root not in path.parents or path.suffix.lower() not in _MIME or not path.is_file():
        return None
    return path


def markdown_to_html(md: str, base_dir: Path | None = None) -> str:
    """Convert the subset of markdown irrobust writes (headings, tables, paragraphs, lists, images) to HTML.

    Images ``![alt](file.png)`` are embedded as base64 data URIs when ``file.png`` is a PNG or SVG file inside
    ``base_dir``; any other image is shown as its (escaped) alt text, without a ``src``.

    Example:
        >>> markdown_to_html("- a\\n- b")
        '<ul><li>a</li><li>b</li></ul>'
        >>> markdown_to_html("![x](/etc/passwd)", Path("/tmp"))
        '<p>[image not embedded: x]</p>'
    """
    out: list[str] = []
    lines = md.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if m := re.match(r"^(#{1,6})\s+(.*)$", line):
            level = len(m.group(1))
            out.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
            i += 1
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            body = [r for r in rows if not all(re.fullmatch(r":?-+:?", c) for c in r)]
            head, rest = body[0], body[1:]
            out.append("<table><thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in rest)
                       + "</tbody></table>")  # fmt: skip
        elif m := _IMAGE.match(line):
            alt = html.escape(_ESCAPE.sub(r"\1", m.group(1)))
            path = _embeddable(m.group(2), base_dir)
            if path is None:
                out.append(f"<p>[image not embedded: {alt}]</p>")
            else:
                data = base64.b64encode(path.read_bytes()).decode()
                out.append(f'<p><img alt="{alt}" src="data:{_MIME[path.suffix.lower()]};base64,{data}"></p>')
            i += 1
        elif re.match(r"^[-*]\s+", line):
            items = []
            while i < len(lines) and re.match(r"^[-*]\s+", lines[i]):
                item = re.sub(r"^[-*]\s+", "", lines[i])
                items.append(f"<li>{_inline(item)}</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
        else:
            para = [line.strip()]  # at least this line (e.g. "#tag" or a malformed image: plain text, never a hang)
            i += 1
            while i < len(lines) and lines[i].strip() and not re.match(r"^(#|\||!\[|[-*]\s)", lines[i]):
                para.append(lines[i].strip())
                i += 1
            out.append(f"<p>{_inline(' '.join(para))}</p>")
    return "".join(out)


def write_html_report(path: Path, title: str, markdown: str) -> None:
    """Write a self-contained HTML version of a markdown report (images from ``path``'s folder embedded).

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "r.html"; write_html_report(p, "T", "# T")
        >>> "<h1>T</h1>" in p.read_text()
        True
    """
    env = Environment(autoescape=select_autoescape(["html"]))
    body = markdown_to_html(markdown, base_dir=Path(path).parent)
    atomic_write_text(path, env.from_string(_TEMPLATE).render(title=title, body=body))
