"""The course as a static website (MAINTAINING.md, "Building the site").

The maintainers' guide's command builds it with Jupyter Book from the committed notebooks,
without executing them; this test runs that build into a temporary folder, checks that every
notebook has a page and that no link inside the site is broken, and opens pages in headless
Chromium (the one tests/test_browser.py uses) to check that the figures render and that the
saved widgets (the predictions and the folded solutions) render from the scripts the pages load
from CDNs, served from local copies (tests/site_assets/).
"""

import base64
import gzip
import hashlib
from html.parser import HTMLParser
import json
from pathlib import Path
import re
import shutil
import subprocess
import sys
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]
BUILD_S = 600
ASSETS = ROOT / "tests" / "site_assets"
# What the notebooks' pages load from CDNs (myst-nb's defaults) -> the local copy served instead.
CDN_COPIES = {
    "https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.4/require.min.js": "require.min.js",
    "https://cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager@1.0.6/dist/embed-amd.js":
        "embed-amd.js.gz",
}
WIDGETS_S = 30  # for a page's widgets to render (a few seconds here)

pytestmark = pytest.mark.slow  # every test here builds the site first


def readme_build_command():
    guide = (ROOT / "MAINTAINING.md").read_text()
    section = guide.split("## Building the site", 1)[1].split("\n## ", 1)[0]
    (command,) = re.findall(r"^(jupyter-book build .+)$", section, re.MULTILINE)
    return command


def jupyter_book():
    beside_python = Path(sys.executable).parent / "jupyter-book"
    found = str(beside_python) if beside_python.exists() else shutil.which("jupyter-book")
    if found is None:
        pytest.skip('Jupyter Book is not installed (pip install -e ".[site]")')
    return found


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The guide's build command, run with its output in a temporary folder: the html folder."""
    command = readme_build_command().split()
    assert command[:3] == ["jupyter-book", "build", "."]
    output = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [jupyter_book(), *command[1:], "--path-output", str(output), "--warningiserror",
         "--keep-going"],
        cwd=ROOT, capture_output=True, text=True, timeout=BUILD_S,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return output / "_build" / "html"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids, self.scripts = [], set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name) and tag in ("a", "img", "link", "script"):
                self.links.append(attrs[name])


def parse(page):
    parser = _Links()
    parser.feed(page.read_text())
    return parser


def test_every_notebook_has_a_page_and_nothing_was_executed(site):
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert (site / "notebooks" / f"{notebook.stem}.html").is_file(), notebook.name
    assert not (site.parent / ".jupyter_cache").exists()
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"


def test_no_link_inside_the_site_is_broken(site):
    broken, checked = [], 0
    pages = [page for page in sorted(site.rglob("*.html"))
             if "_static" not in page.relative_to(site).parts]  # the theme's templates
    for page in pages:
        for link in parse(page).links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:")):
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            checked += 1
            if not target.exists():
                broken.append(f"{page.relative_to(site)} -> {link}")
            elif parts.fragment and target.suffix == ".html":
                if unquote(parts.fragment) not in parse(target).ids:
                    broken.append(f"{page.relative_to(site)} -> {link} (no such anchor)")
    assert checked > 50
    assert not broken, "\n".join(broken[:20])


def test_launch_buttons_come_from_the_one_repository_setting(site):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repository = urlsplit(config["repository"]["url"]).path.strip("/")
    page = (site / "notebooks" / "01_large_weights.html").read_text()
    binder = f"{config['launch_buttons']['binderhub_url']}/v2/gh/{repository}/"
    assert f"{binder}{config['repository']['branch']}?urlpath=lab/tree/notebooks/" \
        "01_large_weights.ipynb" in page


@pytest.fixture
def browser():
    """Debian's Chromium, headless, through Playwright (never Playwright's own download)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium)")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.mark.browser
def test_pages_show_their_figures_in_chromium(site, browser):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    for name, least in (("01_large_weights", 5), ("04_side_by_side", 5), ("05_playground", 1)):
        page.goto((site / "notebooks" / f"{name}.html").as_uri())
        page.wait_for_load_state("load")
        images = page.locator("article img")
        assert images.count() >= least, name
        sizes = page.eval_on_selector_all(
            "article img", "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.src])")
        unrendered = [src for complete, width, src in sizes if not (complete and width)]
        assert not unrendered, f"{name}: images that do not render: {unrendered}"
        assert page.locator("a[href*='mybinder.org']").count() >= 1
    # The playground's page: the still picture and the note that it needs a kernel.
    picture = page.locator("img[src*='playground']")
    assert picture.count() == 1
    assert picture.evaluate("i => i.naturalWidth") > 500
    assert "need a live Python kernel" in page.locator("article").inner_text()


def cdn_copies():
    """CDN address -> the bytes of its local copy (tests/site_assets/README.md: their source)."""
    copies = {}
    for address, name in CDN_COPIES.items():
        data = (ASSETS / name).read_bytes()
        copies[address] = gzip.decompress(data) if name.endswith(".gz") else data
    return copies


def widget_views(notebook):
    """How many of the notebook's saved widget outputs are predictions (``ask``) and folded
    solutions (``solution``): code cells calling them that show a widget."""
    counts = {"prediction": 0, "solution": 0}
    for cell in json.loads(notebook.read_text())["cells"]:
        shown = sum("application/vnd.jupyter.widget-view+json" in output.get("data", {})
                    for output in cell.get("outputs", []))
        source = "".join(cell["source"])
        for kind, call in (("prediction", r"\bask\("), ("solution", r"\bsolution\(")):
            if cell["cell_type"] == "code" and re.search(call, source):
                counts[kind] += shown
    return counts


# Each saved widget view (a <script> beside which the html manager puts the widget); per
# page: how many views, how many rendered as widgets, and the predictions and solutions shown.
RENDERED = """() => {
    const views = [...document.querySelectorAll(
        'script[type="application/vnd.jupyter.widget-view+json"]')];
    const rendered = views.filter(v => v.parentElement.querySelector('.jupyter-widgets'));
    const predictions = [...document.querySelectorAll('.widget-vbox')].filter(box =>
        box.querySelector('.widget-html-content')?.textContent.startsWith('Your prediction:'));
    return {
        views: views.length, rendered: rendered.length,
        predictions: predictions.length,
        answerable: predictions.filter(box => box.querySelector(
            '.widget-radio-box input[type=radio], input.widget-input[type=text]')
            ?.checkVisibility()).length,
        solutions: document.querySelectorAll('.jupyter-widget-Accordion').length,
    };
}"""


@pytest.mark.browser
def test_pages_render_their_predictions_and_folded_solutions_in_chromium(site, browser):
    """The saved widgets render as widgets, with the pages' CDN scripts served from local copies.

    The notebooks' pages load require.js and the Jupyter widget html manager from two CDNs
    (``CDN_COPIES``); without them a widget's output is blank. Here no request leaves the
    machine: Playwright's routing answers those two addresses with tests/site_assets/ and aborts
    any other request off the machine (the test fails if a page makes one). The copies are in
    the repository because no package this project installs ships them (ipywidgets,
    jupyterlab_widgets, widgetsnbextension, nbconvert and jupyterlab have neither file) and
    CI cannot reach a CDN; require.min.js is the very file the page pins by its sha256
    ``integrity``, which Chromium enforces. On each notebook's page, every saved widget view
    renders as a widget; each prediction (``guesses.ask``) shows its question and a control
    to answer with; each folded solution (``solution``) is folded, and opens on a click on
    its title.
    """
    guide = (ROOT / "MAINTAINING.md").read_text().split("## Building the site", 1)[1]
    for address in CDN_COPIES:  # the guide names what a reader's browser fetches
        assert address in guide.split("\n## ", 1)[0], address
    copies = cdn_copies()
    elsewhere, errors, totals = [], [], {"views": 0, "prediction": 0, "solution": 0}

    def answer(route):
        if route.request.url in copies:
            route.fulfill(status=200, body=copies[route.request.url], headers={
                "Content-Type": "application/javascript", "Access-Control-Allow-Origin": "*"})
        elif route.request.url.startswith("file:"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.route("**/*", answer)
    page.on("pageerror", lambda error: errors.append(str(error)))
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        html = site / "notebooks" / f"{notebook.stem}.html"
        scripts = {attrs["src"]: attrs for attrs in parse(html).scripts
                   if urlsplit(attrs["src"]).scheme}
        assert set(scripts) == set(CDN_COPIES), f"{html.name} loads from CDNs: {set(scripts)}"
        pinned = [(address, attrs["integrity"]) for address, attrs in scripts.items()
                  if "integrity" in attrs]
        for address, integrity in pinned:
            digest = base64.b64encode(hashlib.sha256(copies[address]).digest()).decode()
            assert integrity == f"sha256-{digest}", f"{html.name} pins {address} otherwise"
        expected = widget_views(notebook)
        errors.clear()
        page.goto(html.as_uri())
        try:
            page.wait_for_function(f"() => {{ const r = ({RENDERED})(); "
                                   "return r.rendered === r.views; }", timeout=WIDGETS_S * 1000)
        except Exception:  # Playwright's timeout: the counts below say what is missing
            pass
        shown = page.evaluate(RENDERED)
        where = f"{html.name}: {shown} (page errors: {errors})"
        assert shown["rendered"] == shown["views"], where
        assert shown["predictions"] == shown["answerable"] == expected["prediction"], where
        assert shown["solutions"] == expected["solution"], where
        for title in page.locator(".jupyter-widget-Collapse-header").all():
            contents = title.locator("xpath=following-sibling::*[1]")
            assert "Solution:" in title.inner_text() and not contents.is_visible(), where
            title.click()
            contents.wait_for(state="visible", timeout=5000)
        totals["views"] += shown["views"]
        for kind in ("prediction", "solution"):
            totals[kind] += expected[kind]
    assert pinned and all(totals.values()), totals  # the checks above had something to check
    assert not elsewhere, f"requests that would leave the machine: {sorted(set(elsewhere))}"
