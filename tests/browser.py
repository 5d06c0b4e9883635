"""What the browser tests share: Debian's Chromium driven by Playwright (its own browser
download cannot be reached), and axe-core run inside a page."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parent / "node/node_modules/axe-core/axe.min.js"


def require_chromium() -> None:
    """Skip the calling module, with one line saying why, where no Chromium exists."""
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}: the browser tests need Debian's chromium package "
                    "(apt-get install chromium; .ci/run installs it)", allow_module_level=True)


def launch() -> Iterator[Any]:
    """A headless Chromium for a module's tests (a fixture's body)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


def axe_violations(page: Any) -> list[tuple]:
    """axe-core's serious and critical violations on the page as it stands (open shadow
    roots included)."""
    page.add_script_tag(content=AXE.read_text())
    found = page.evaluate("async () => (await axe.run()).violations")
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in found
            if v["impact"] in ("serious", "critical")]


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


def too_wide(page: Any) -> list[str]:
    """What makes the page scroll sideways at its viewport's width: the document when wider, and
    each element whose right edge lies beyond (a phone's browser would otherwise zoom out to fit)."""
    return page.evaluate("""width => {
        const wide = document.documentElement.scrollWidth > width ? ['the document'] : [];
        return wide.concat([...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > width + 0.5)
            .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : '')));
    }""", page.viewport_size["width"])
