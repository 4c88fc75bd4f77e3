"""A real headless Chromium for the report's tests: Debian's `chromium` driven by Playwright (its own browser
download cannot work here; `scripts/test.sh` installs the Debian package when it is missing).

Pages are opened from disk with every request that is not a `file:` URL aborted and recorded, and with console
errors and uncaught exceptions collected, so a test can assert the page is self-contained and error-free.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Route

VIEWPORT = {"width": 1280, "height": 900}
T = TypeVar("T")


def _unavailable(reason: str) -> None:
    """In CI the browser tests must run: a missing browser fails loudly there; elsewhere the test is skipped
    with the reason (pytest -ra lists it) and `bash scripts/test.sh` installs what is missing."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"{reason}; `bash scripts/test.sh` installs it")


def launch() -> Iterator[Browser]:
    """One headless Chromium (for a module's tests), closed afterwards."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        _unavailable("no chromium on PATH (apt-get install chromium)")
    assert executable is not None
    with sync_playwright() as p:
        # --no-sandbox: these machines run as root, where Chromium's sandbox refuses to start.
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Opened:
    """A loaded report page, what it logged, the requests it tried, and how long it took to be ready."""

    page: Page
    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    seconds: float = 0.0


def open_report(browser: Browser, path: Path, *, viewport: dict[str, int] | None = None) -> Opened:
    """Load `path` from disk with the network cut off and wait for `<html data-ready>` (the page's own marker)."""
    page = browser.new_page(viewport=viewport or VIEWPORT)  # type: ignore[arg-type]
    opened = Opened(page)

    def route(r: Route) -> None:
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            opened.blocked.append(r.request.url)
            r.abort()

    def console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            opened.errors.append(f"{message.type}: {message.text}")

    page.route("**/*", route)
    page.on("console", console)
    page.on("pageerror", lambda exc: opened.errors.append(f"uncaught: {exc}"))
    start = time.perf_counter()
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("html[data-ready]", timeout=30_000)
    opened.seconds = time.perf_counter() - start
    assert page.get_attribute("html", "data-ready") == "true", page.inner_text("#report-error")
    return opened


# Decodes a PNG in a blank page (no image library needed) and describes rectangles of it: size, how many pixels are
# not background white, how many distinct colours, and how many pixels are close to each colour asked about.
_DESCRIBE = """async ([b64, regions, colours]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(bitmap, 0, 0);
  const out = { width: bitmap.width, height: bitmap.height, regions: [] };
  for (const [x, y, w, h] of regions) {
    const d = ctx.getImageData(x, y, w, h).data;
    const seen = new Set(), near = colours.map(() => 0);
    let inked = 0;
    for (let i = 0; i < d.length; i += 4) {
      const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
      if (r < 245 || g < 245 || b < 245) inked++;
      seen.add((r << 16) | (g << 8) | b);
      colours.forEach(([cr, cg, cb], k) => {
        if (Math.abs(r - cr) + Math.abs(g - cg) + Math.abs(b - cb) < 40) near[k]++;
      });
    }
    out.regions.push({ inked: inked / (d.length / 4), colours: seen.size, near });
  }
  return out;
}"""


def describe_png(
    browser: Browser,
    png: bytes,
    regions: list[tuple[int, int, int, int]],
    colours: list[tuple[int, int, int]],
) -> dict[str, object]:
    import base64

    page = browser.new_page()
    try:
        result: dict[str, object] = page.evaluate(_DESCRIBE, [base64.b64encode(png).decode(), regions, colours])
    finally:
        page.close()
    return result


def off_the_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `fn` in another thread: Playwright's sync API keeps an event loop running in this one, and couponctl's
    commands start their own with asyncio.run(), which refuses to run inside a running loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args, **kwargs).result()
