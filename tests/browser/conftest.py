"""Browser tests: Debian's Chromium driven by Playwright against a real `parley serve`.

One server per test session (SQLite in a temporary folder, in-process session
store, local model serving, so the pages exercise the real speech, pronunciation
and dialog code without a Ray cluster's start-up). Every test gets a fresh
browser context; whatever page it leaves open is saved as a screenshot under
``build/browser/`` (the test artefacts), and a JavaScript error on any page fails
the test.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from loadtests.harness import server
from tests.helpers import ADMIN_KEY, SHARED_DATA

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CORPUS = SHARED_DATA / "speechocean762-train-subset"
ARTEFACTS = Path(os.environ.get("PARLEY_BROWSER_ARTEFACTS", ROOT / "build" / "browser"))


def chromium_path() -> str | None:
    """``PARLEY_CHROMIUM``, else Debian's chromium (scripts/ensure-browser.sh installs it)."""
    return os.environ.get("PARLEY_CHROMIUM") or shutil.which("chromium")


def pytest_collection_modifyitems(config, items):
    """Browser tests run last (their server starts once, after the rest) and skip without
    a Chromium."""
    here = Path(__file__).parent
    ours = [item for item in items if here in Path(item.fspath).parents]
    if chromium_path() is None:
        skip = pytest.mark.skip(reason="no Chromium: run scripts/ensure-browser.sh (make test "
                                "does) or set PARLEY_CHROMIUM")
        for item in ours:
            item.add_marker(skip)
    items[:] = [item for item in items if item not in ours] + ours


@pytest.fixture(scope="session")
def corpus():
    """The speechocean762 subset (real learner recordings); skips the test without it."""
    from speech.eval.data import DataDir

    if not (CORPUS / "wav.scp").is_file():
        pytest.skip(f"speechocean762 subset not found at {CORPUS} (the shared data folder)")
    return DataDir.load(CORPUS)


@pytest.fixture(scope="session")
def live(tmp_path_factory) -> Iterator[str]:
    """The base URL of a running server with the embedded defaults and local serving."""
    tmp = tmp_path_factory.mktemp("browser-server")
    env = {"PARLEY_SERVING": "local", "PARLEY_ADMIN_KEY": ADMIN_KEY,
           "PARLEY_ARTEFACTS": str(tmp / "artefacts"), "PARLEY_LESSON_CLASSIFIER": "false",
           "PARLEY_LOG_LEVEL": "WARNING"}
    with server(None, env) as (base, _pid):
        yield base


@pytest.fixture
def tenant_key(live) -> str:
    """A new tenant's API key (each test its own tenant, so tests never see each other's data)."""
    resp = httpx.post(f"{live}/v1/admin/tenants", json={"name": f"browser-{uuid.uuid4().hex}"},
                      headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30)
    assert resp.status_code == 201, resp.text
    return resp.json()["key"]["key"]


@pytest.fixture(scope="module")
def playwright_instance():
    """Per module: the sync API keeps an event loop running in this thread while it lives,
    and ``asyncio.run`` elsewhere in the suite refuses to start under one."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture
def launch(playwright_instance) -> Iterator[Callable[..., object]]:
    """launch(audio=None, mic=True) -> a Chromium whose microphone plays ``audio`` (a WAV).

    ``mic=False``: no fake device and no permission, as on a machine without a microphone;
    ``mic="denied"``: a microphone the learner refuses the page.
    """
    browsers = []

    def start(audio: Path | None = None, mic: bool | str = True):
        args = ["--no-sandbox", "--autoplay-policy=no-user-gesture-required"]
        if mic:
            args.append("--use-fake-device-for-media-stream")
        if mic is True:  # the permission prompt answered yes
            args.append("--use-fake-ui-for-media-stream")
        if audio is not None:
            args.append(f"--use-file-for-fake-audio-capture={audio}")
        browser = playwright_instance.chromium.launch(executable_path=chromium_path(), args=args)
        browsers.append(browser)
        return browser

    yield start
    for browser in browsers:
        browser.close()


@pytest.fixture
def open_page(launch, live, request) -> Iterator[Callable[..., object]]:
    """open_page(path, audio=None, api_key=None, learner_id=None, mic=True) -> a Playwright page.

    The settings the pages keep in localStorage are set before the first script runs.
    JavaScript errors are collected and fail the test at teardown; the last state of
    each page is saved as ``build/browser/<test>-<n>.png``.
    """
    pages, errors = [], []

    def go(path: str, audio: Path | None = None, api_key: str | None = None,
           learner_id: str | None = None, mic: bool | str = True):
        context = launch(audio, mic).new_context(base_url=live,
                                                 viewport={"width": 1280, "height": 860})
        if mic is True:
            context.grant_permissions(["microphone"], origin=live)
        init = {"parley.apiKey": api_key, "parley.learnerId": learner_id}
        context.add_init_script(
            "".join(f"localStorage.setItem({k!r}, {v!r});" for k, v in init.items() if v))
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(path)
        pages.append(page)
        return page

    yield go
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    for n, page in enumerate(pages):
        if not page.is_closed():
            name = re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")
            page.screenshot(path=str(ARTEFACTS / f"{name}-{n}.png"), full_page=True)
    assert not errors, f"JavaScript errors on the page: {errors}"
