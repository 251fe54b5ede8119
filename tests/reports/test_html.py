"""The HTML report, loaded in headless Chromium (Playwright driving Debian's ``chromium``): it opens
offline with no request leaving the file, runs its script without errors, draws each chain as an
inline SVG with one arrow per edge, and its severity filter works.

Skipped, saying why, when Playwright or a Chromium binary is missing (``pip install playwright`` and
``apt-get install chromium``; Playwright's own browser download is not used)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from iamdrift.reports import html
from iamdrift.reports.suppressions import Suppression
from simulator.graph import Chain
from tests.reports.demo import CHAIN_RULE, demo_report

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)
CHROMIUM = os.environ.get("IAMDRIFT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":  # .ci/run installs it: missing there is a failure, not a skip
            pytest.fail("no Chromium binary in CI (.ci/run installs Debian's chromium)")
        pytest.skip("no Chromium binary (apt-get install chromium, or set IAMDRIFT_CHROMIUM)")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def open_page(browser: Any, path: Path) -> tuple[Any, list[str], list[str]]:
    """The page at ``path``, every request that is not the file itself aborted and recorded, and the
    console / page errors."""
    page = browser.new_page()
    outside: list[str] = []
    problems: list[str] = []

    def route(r: Any) -> None:
        if r.request.url == path.as_uri():
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(path.as_uri())
    return page, outside, problems


def test_the_report_opens_offline_and_draws_the_chains(browser: Any, tmp_path: Path) -> None:
    report = demo_report()
    path = tmp_path / "report.html"
    path.write_text(html.render(report), encoding="utf-8")
    page, outside, problems = open_page(browser, path)
    assert page.get_attribute("body", "data-ready") == "yes"  # the inline script ran
    assert outside == [] and problems == []
    assert page.locator("section.finding").count() == len(report.findings)
    chained = [f for f in report.findings if f.chain is not None]
    assert page.locator("svg.chain").count() == len(chained) > 0
    first = chained[0]
    assert isinstance(first.chain, Chain)
    svg = page.locator(f"#f-{first.id} svg.chain")
    assert svg.locator("g.edge").count() == len(first.chain.edges)
    assert svg.bounding_box()["width"] > 100  # drawn, not an empty box
    assert page.locator("section.finding[data-status=unknown] .unknown-badge").count() == sum(
        f.unknown for f in report.findings
    )
    total = int(page.inner_text("#shown"))
    assert total == len(report.findings)
    page.uncheck("#controls input[value=critical]")
    critical = sum(f.rule is CHAIN_RULE for f in report.findings)
    assert int(page.inner_text("#shown")) == total - critical
    assert page.locator("section.finding.critical").first.is_hidden()
    page.screenshot(path=str(tmp_path / "report.png"), full_page=False)
    page.close()


def test_estate_text_is_escaped_and_all_suppressed_is_said(browser: Any, tmp_path: Path) -> None:
    everything = (Suppression(rule="*", principal="*", reason="<b>accepted</b>", expires=date(2099, 1, 1)),)
    report = demo_report(suppressions=everything)
    path = tmp_path / "suppressed.html"
    path.write_text(html.render(report), encoding="utf-8")
    page, outside, problems = open_page(browser, path)
    assert outside == [] and problems == []
    assert page.locator("#all-suppressed").is_visible()
    assert page.locator("section.finding").count() == 0
    assert "<b>accepted</b>" in (page.text_content("details") or "")  # shown as text, not as markup
    page.close()
