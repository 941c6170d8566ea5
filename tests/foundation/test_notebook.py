"""The notebooks are executed, so they cannot rot; each robustness notebook must show a plot.

The API notebooks run at a small size (``IRROBUST_NOTEBOOK_SMALL=1``, read by their first cell). Every plot is
checked to be a decodable PNG of a real size with many colours (PIL), and ``test_exported_plot_renders`` loads the
certify notebook exported to HTML, and the HTML report it wrote, in headless Chromium (the system's ``chromium``,
driven with ``--dump-dom``; no Playwright download) and requires every image to decode at a real size.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

#: notebook -> a string its text outputs must contain; all run in the default suite (measured on the idle 2-core
#: machine: bring_your_own 165 s, robustness 84 s, the others 10-30 s of CPU each)
CASES = [
    pytest.param("quickstart", "| bm25 (baseline) |", id="quickstart"),
    pytest.param("attacks", "attacked documents", id="attacks"),
    pytest.param("certify", "", id="certify"),
    pytest.param("robustness", "T2 query shifts", id="robustness"),
    pytest.param("recsys_pld", "", id="recsys_pld"),
    pytest.param("bring_your_own", "", id="bring_your_own"),
]
#: notebooks whose executed copy must hold a plot (an image/png output)
PLOTTED = {"attacks", "certify", "robustness", "recsys_pld", "bring_your_own"}
#: executed notebooks of this session (for the HTML export check)
EXECUTED: dict[str, nbformat.NotebookNode] = {}


def execute(name: str, cwd: Path) -> nbformat.NotebookNode:
    """Run a notebook in a fresh kernel at the test size; return the executed notebook."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    os.environ["IRROBUST_NOTEBOOK_SMALL"] = "1"  # inherited by the kernel
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    nb.metadata["irrobust_cwd"] = str(cwd)  # where the notebook wrote its files
    return nb


def pngs(nb: nbformat.NotebookNode) -> list[bytes]:
    """The PNG images among a notebook's outputs."""
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = o.get("data", {})
            if "image/png" in data:
                out.append(base64.b64decode(data["image/png"]))
    return out


def assert_real_plot(png: bytes) -> None:
    """``png`` decodes, is at least 300 x 200 pixels and is not blank (a drawn plot has many colours)."""
    from PIL import Image

    img = Image.open(io.BytesIO(png))
    img.load()
    assert img.format == "PNG" and img.width >= 300 and img.height >= 200, (img.format, img.size)
    colours = img.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) >= 16, "the image is (nearly) one colour: no plot drawn"


@pytest.fixture(scope="session")
def external_models(tmp_path_factory) -> Path:
    """A folder with an external CrossEncoder and SentenceTransformer directory, written by
    ``scripts/make_external_models.py`` from the MiniLM package (not models irrobust trained)."""
    import importlib.util

    script = NOTEBOOKS.parent / "scripts" / "make_external_models.py"
    spec = importlib.util.spec_from_file_location("make_external_models", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path_factory.mktemp("external-models")
    mod.make_cross_encoder(out / "cross-encoder", seed=0, max_length=128)
    mod.make_sentence_transformer(out / "sentence-transformer")
    assert not any((out / d / "manifest.json").exists() for d in ("cross-encoder", "sentence-transformer"))
    return out


@pytest.mark.parametrize(("name", "expected"), CASES)
def test_notebook_runs(name, expected, seed, tmp_path, request):
    if name == "bring_your_own":  # the notebook reads the folder of the external models from the environment
        os.environ["IRROBUST_EXTERNAL_MODELS"] = str(request.getfixturevalue("external_models"))
    nb = execute(name, tmp_path)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors, errors[0].get("evalue")
    text = "".join(o.get("text", "") for o in outputs)
    text += "".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    text += "".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert expected in text
    if name in PLOTTED:
        images = pngs(nb)
        assert images, f"{name}.ipynb shows no plot"
        for png in images:
            assert_real_plot(png)
    EXECUTED[name] = nb


def chromium() -> str | None:
    """A headless-capable Chromium / Chrome on this machine, or None."""
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def browser_image_sizes(page: Path, browser: str) -> list[tuple[int, int]]:
    """``(naturalWidth, naturalHeight)`` of every <img> of ``page`` as headless Chromium decodes them.

    A copy of the page gets a script that writes the sizes into an attribute of <body> on the load event; Chromium's
    ``--dump-dom`` prints the DOM after it ran (an image it cannot decode has natural size 0 x 0).
    """
    probe = ('<script>window.addEventListener("load", function () { var s = []; for (var i = 0; i < '
             'document.images.length; i++) { s.push(document.images[i].naturalWidth + "x" + '
             'document.images[i].naturalHeight); } document.body.setAttribute("data-image-sizes", s.join(",")); });'
             "</script>")  # fmt: skip
    html = page.read_text()
    probed = page.with_name(f"probed-{page.name}")
    probed.write_text(html.replace("</body>", probe + "</body>") if "</body>" in html else html + probe)
    out = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
                          "--dump-dom", probed.as_uri()], capture_output=True, text=True, timeout=120)  # fmt: skip
    found = re.search(r'data-image-sizes="([^"]*)"', out.stdout)
    assert found, f"Chromium did not load the page (rc {out.returncode}): {out.stderr[-1500:]}"
    return [tuple(int(v) for v in s.split("x")) for s in found.group(1).split(",") if s]  # type: ignore[misc]


def notebook_html(nb: nbformat.NotebookNode) -> str:
    """The notebook exported to HTML: nbconvert's ``--to html`` when installed, else a page with its outputs."""
    try:
        from nbconvert import HTMLExporter
    except ImportError:
        cells = []
        for cell in nb.cells:
            for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
                data = o.get("data", {})
                if "image/png" in data:
                    cells.append(f'<img src="data:image/png;base64,{data["image/png"].strip()}">')
                elif "text/html" in data:
                    cells.append(data["text/html"])
        return "<!DOCTYPE html><html><body>" + "".join(cells) + "</body></html>"
    return HTMLExporter().from_notebook_node(nb)[0]


def test_exported_plot_renders(tmp_path):
    """The certify notebook's plot renders: exported to HTML, its PNG decodes to a real plot, and headless Chromium
    decodes every image of that page and of the HTML report the notebook wrote (``study.to_html``) at a real size."""
    nb = EXECUTED.get("certify") or execute("certify", tmp_path)
    page = tmp_path / "certify.html"
    page.write_text(notebook_html(nb))
    uris = re.findall(r'<img[^>]+src="data:image/png;base64,([^"]+)"', page.read_text())
    assert uris, "the exported notebook has no PNG image"
    for uri in uris:
        assert_real_plot(base64.b64decode(uri))
    browser = chromium()
    if browser is None:
        pytest.skip("PNGs decoded and checked with PIL; no Chromium on this machine for the browser check")
    report = Path(nb.metadata.get("irrobust_cwd", tmp_path)) / "certify_report.html"
    for html in (page, report) if report.is_file() else (page,):
        sizes = browser_image_sizes(html, browser)
        assert sizes and all(w >= 300 and h >= 200 for w, h in sizes), (html.name, sizes)
