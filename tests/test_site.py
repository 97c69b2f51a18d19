"""The course as a static website (MAINTAINING.md, "Building the site").

The maintainers' guide's command builds it with Jupyter Book from the committed notebooks,
without executing them; this test runs that build into a temporary folder, checks that every
notebook has a page and that no link inside the site is broken, and opens pages in headless
Chromium (the one tests/test_browser.py uses) to check that the figures render.
"""

from html.parser import HTMLParser
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
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
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


@pytest.mark.browser
def test_pages_show_their_figures_in_chromium(site):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium)")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            for name, least in (("01_large_weights", 5), ("04_side_by_side", 5),
                                ("05_playground", 1)):
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
        finally:
            browser.close()
