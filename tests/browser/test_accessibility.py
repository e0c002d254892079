"""Accessibility basics on every page, checked by axe-core (WCAG 2 A and AA rules).

axe-core (vendored, tests only) checks labelled controls, accessible names, colour
contrast and ARIA use on the page as rendered; keyboard operation is exercised by
the pages' own tests.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.axe import violations


def test_role_play_page_after_a_typed_turn(open_page):
    page = open_page("/static/play.html?lesson=immigration", mic=False)
    expect(page.locator("#log li.bot").first).to_be_visible()
    page.get_by_label("Type your answer").fill("Good morning!")
    page.keyboard.press("Enter")
    expect(page.locator("#log li.me.pending")).to_have_count(0, timeout=30_000)
    assert violations(page) == []


@pytest.mark.parametrize("path", ["/static/index.html", "/docs"])
def test_static_pages(open_page, path):
    page = open_page(path, mic=False)
    expect(page.locator("h1")).to_have_text(re.compile(r"\w"))
    assert violations(page) == []


def test_the_checker_finds_what_it_should(open_page):
    """Without this, an axe that silently checked nothing would pass every page."""
    page = open_page("/static/index.html", mic=False)
    page.set_content('<html lang="en"><body><main><input id="x">'
                     '<p style="color:#bbb;background:#fff">faint text</p></main></body></html>')
    found = " ".join(violations(page))
    assert "label" in found and "color-contrast" in found, found
