"""Self-contained HTML reports: the markdown report rendered to HTML with images embedded as data URIs.

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


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)
    return text


def markdown_to_html(md: str, base_dir: Path | None = None) -> str:
    """Convert the subset of markdown irrobust writes (headings, tables, paragraphs, lists, images) to HTML.

    Images ``![alt](file.png)`` are embedded as base64 data URIs when ``base_dir/file.png`` exists.

    Example:
        >>> markdown_to_html("- a\\n- b")
        '<ul><li>a</li><li>b</li></ul>'
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
                rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            body = [r for r in rows if not all(re.fullmatch(r":?-+:?", c) for c in r)]
            head, rest = body[0], body[1:]
            out.append("<table><thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in rest)
                       + "</tbody></table>")  # fmt: skip
        elif m := re.match(r"^!\[([^\]]*)\]\(([^)]+)\)\s*$", line):
            alt, src = m.group(1), m.group(2)
            path = (base_dir / src) if base_dir else None
            if path is not None and path.is_file():
                mime = "image/svg+xml" if path.suffix == ".svg" else "image/png"
                src = f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode()
            out.append(f'<p><img alt="{html.escape(alt)}" src="{src}"></p>')
            i += 1
        elif re.match(r"^[-*]\s+", line):
            items = []
            while i < len(lines) and re.match(r"^[-*]\s+", lines[i]):
                item = re.sub(r"^[-*]\s+", "", lines[i])
                items.append(f"<li>{_inline(item)}</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
        else:
            para = []
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
