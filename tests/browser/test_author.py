"""The lesson authoring page in Chromium: a lesson drawn with the mouse (boxes added,
dragged and connected on the SVG graph), written in the side panel, autosaved as a
draft that survives a reload, checked on the graph while incomplete, published, and
then played over the HTTP API; and the same graph operated from the keyboard.
"""

from __future__ import annotations

import json
import re

import httpx
from playwright.sync_api import expect

from tests.browser.axe import violations
from tests.browser.conftest import ARTEFACTS
from tests.helpers import ROOT

SAVED = re.compile(r"^Saved")


def box(page, name: str):
    return page.locator(f'#graph g.state[data-name="{name}"]')


def edge(page, source: str, target: str):
    return page.locator(f'#graph g.edge[data-from="{source}"][data-to="{target}"]')


def centre(locator) -> tuple[float, float]:
    bb = locator.bounding_box()
    assert bb is not None
    return bb["x"] + bb["width"] / 2, bb["y"] + bb["height"] / 2


def position(locator) -> tuple[float, float]:
    """A box's place on the graph (its translate), in SVG units."""
    transform = locator.get_attribute("transform")
    x, y = re.fullmatch(r"translate\(([-\d.]+),([-\d.]+)\)", transform).groups()
    return float(x), float(y)


def side_field(page, label: str, scope: str = "#side"):
    """A control of the side panel by the start of its label (the labels carry help text)."""
    return page.locator(scope).get_by_label(re.compile("^" + re.escape(label)))


def name_selected_state(page, name: str, kind: str | None = None) -> None:
    side_field(page, "Name").fill(name)
    if kind:
        side_field(page, "Kind of state").select_option(kind)
    expect(box(page, name)).to_have_attribute("aria-pressed", "true")


def connect(page, source: str, target: str) -> None:
    """Drag from the source box's + handle onto the target box, with the mouse."""
    hx, hy = centre(page.locator(f'#graph .handle[data-name="{source}"] circle'))
    tx, ty = centre(box(page, target).locator("rect.box"))
    page.mouse.move(hx, hy)
    page.mouse.down()
    page.mouse.move((hx + tx) / 2, (hy + ty) / 2 + 20, steps=5)
    page.mouse.move(tx, ty, steps=5)
    page.mouse.up()
    expect(edge(page, source, target)).to_have_count(1)


def wait_saved(page) -> None:
    expect(page.locator("#save-status")).to_have_text(SAVED, timeout=15_000)


def test_author_draws_saves_publishes_and_plays(open_page, live, tenant_key):
    auth = {"Authorization": f"Bearer {tenant_key}"}
    page = open_page("/static/author.html", api_key=tenant_key, mic=False)
    page.get_by_role("button", name="New lesson").click()
    wait_saved(page)
    lesson_id = re.search(r"lesson=([0-9a-f-]{36})", page.url).group(1)
    page.get_by_label("Title").fill("At the café")
    page.get_by_label("The learner's mission").fill("Order a coffee")

    # Three states: two from the toolbar, one by double-clicking the empty canvas.
    page.get_by_role("button", name="Add state").click()
    name_selected_state(page, "greet")
    page.get_by_role("button", name="Add state").click()
    name_selected_state(page, "ask")
    canvas = page.locator(".canvas").bounding_box()
    page.mouse.dblclick(canvas["x"] + 420, canvas["y"] + 330)
    name_selected_state(page, "done", kind="goal")
    expect(page.locator("#graph g.state")).to_have_count(3)
    expect(box(page, "greet")).to_contain_text("Start")
    expect(box(page, "done")).to_contain_text("goal")

    # Incomplete: the autosave's check is drawn on the boxes (red outline, badge, words).
    expect(box(page, "ask")).to_have_class(re.compile(r"\bhas-issue\b"), timeout=15_000)
    expect(box(page, "ask").locator(".issue-text")).to_contain_text("Can't be reached")
    expect(box(page, "greet").locator(".issue-text")).to_contain_text("No way forward")
    expect(box(page, "ask").locator(".badge title")).to_contain_text(
        "no path leads here from the initial state")
    expect(page.locator('#issues li[data-code="unreachable"]')).to_have_count(2)
    expect(page.locator('#issues li[data-code="dead_end"]').first).to_contain_text("greet")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "author-issues.png"), full_page=True)

    # Drag the goal box to the right of "ask" with the mouse.
    before = position(box(page, "done"))
    x, y = centre(box(page, "done").locator("rect.box"))
    ask_x, ask_y = centre(box(page, "ask").locator("rect.box"))
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(ask_x + 120, ask_y + 90, steps=8)
    page.mouse.move(ask_x + 140, ask_y + 150, steps=4)
    page.mouse.up()
    moved = position(box(page, "done"))
    assert moved != before and abs(moved[0] - before[0]) > 20, (before, moved)

    # Connect with the mouse and write each state in the side panel.
    connect(page, "greet", "ask")
    side_field(page, "What the learner might say", "#side fieldset.current").fill(
        "Hello!\nHi there, good morning")
    side_field(page, "What the bot says (").fill("Hello! Welcome to the Blue Cup café.")
    connect(page, "ask", "done")
    side_field(page, "What the learner might say", "#side fieldset.current").fill(
        "A coffee, please\nI'd like a cup of coffee")
    side_field(page, "Short name for this answer", "#side fieldset.current").fill("order coffee")
    side_field(page, "What the bot says (").fill("What would you like to drink?")
    box(page, "done").locator("rect.box").click()
    side_field(page, "What the bot says (").fill("Here is your coffee. Enjoy!")

    # An arrow selected with the mouse goes with the Delete button, and Undo brings it back.
    edge(page, "greet", "ask").click()
    expect(edge(page, "greet", "ask")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Delete selected").click()
    expect(edge(page, "greet", "ask")).to_have_count(0)
    page.get_by_role("button", name="Undo").click()
    expect(edge(page, "greet", "ask")).to_contain_text("Hello!")

    expect(page.locator("#issues")).to_contain_text("No problems", timeout=15_000)
    expect(page.locator("#graph g.state.has-issue")).to_have_count(0)
    expect(edge(page, "greet", "ask")).to_contain_text("Hello!")
    expect(edge(page, "ask", "done")).to_contain_text("order coffee")
    wait_saved(page)
    page.screenshot(path=str(ARTEFACTS / "author.png"), full_page=True)

    # The draft (document and box positions) comes back after a reload.
    draft = httpx.get(f"{live}/v1/lessons/{lesson_id}/draft", headers=auth, timeout=30).json()
    assert [s["name"] for s in draft["document"]["states"]] == ["greet", "ask", "done"]
    assert "layout" in draft["document"]
    placed = position(box(page, "done"))
    page.reload()
    expect(page.locator("#graph g.state")).to_have_count(3)
    expect(page.locator("#graph g.edge")).to_have_count(2)
    for name in ("greet", "ask", "done"):
        expect(box(page, name).locator("text.name")).to_have_text(name)
    expect(edge(page, "ask", "done")).to_contain_text("order coffee")
    expect(page.get_by_label("Title")).to_have_value("At the café")
    expect(page.get_by_label("The learner's mission")).to_have_value("Order a coffee")
    expect(page.locator("#issues")).to_contain_text("No problems")
    assert position(box(page, "done")) == placed
    box(page, "ask").locator("rect.box").click()
    expect(side_field(page, "What the bot says (")).to_have_value("What would you like to drink?")
    expect(page.locator("#side fieldset.answer")).to_have_count(1)
    assert violations(page) == []

    # Publish: version 1, and the API says so.
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#action-status")).to_contain_text("Published version 1", timeout=15_000)
    lesson = httpx.get(f"{live}/v1/lessons/{lesson_id}", headers=auth, timeout=30).json()
    assert lesson["published_version"] == 1 and lesson["version"] == 1
    assert lesson["document"]["title"] == "At the café"
    assert "layout" not in lesson["document"]

    # "Try it" saves the same content (still version 1) and opens the role-play on it,
    # where the lesson plays: the bot's first line, an authored example, the next state's line.
    with page.expect_popup() as opened:
        page.get_by_role("button", name="Try it").click()
    play = opened.value
    play.wait_for_url(re.compile(rf"/static/play\.html\?lesson={lesson_id}&version=1$"))
    bot = play.locator("#log li.bot .text")
    expect(bot.first).to_have_text("Hello! Welcome to the Blue Cup café.", timeout=30_000)
    expect(play.locator("#mission")).to_have_text("Order a coffee")
    play.get_by_label("Type your answer").fill("Hi there, good morning")
    play.keyboard.press("Enter")
    expect(bot.last).to_have_text("What would you like to drink?", timeout=30_000)
    versions = httpx.get(f"{live}/v1/lessons/{lesson_id}/versions", headers=auth, timeout=30)
    assert [v["version"] for v in versions.json()] == [1]


def test_author_graph_by_keyboard(open_page, live, tenant_key):
    page = open_page("/static/author.html", api_key=tenant_key, mic=False)
    page.get_by_role("button", name="New lesson").focus()
    page.keyboard.press("Enter")
    wait_saved(page)
    add = page.get_by_role("button", name="Add state")
    for _ in range(2):
        add.focus()
        page.keyboard.press("Enter")
    expect(page.locator("#graph g.state")).to_have_count(2)

    # Boxes are focusable; Enter selects, arrow keys move the selected box.
    first = box(page, "state 1")
    assert first.get_attribute("tabindex") == "0"
    first.focus()
    page.keyboard.press("Enter")
    expect(first).to_have_attribute("aria-pressed", "true")
    x, y = position(first)
    for key in ("ArrowRight", "ArrowRight", "ArrowRight", "ArrowDown", "ArrowDown"):
        page.keyboard.press(key)
    assert position(box(page, "state 1")) == (x + 30, y + 20)
    expect(box(page, "state 1")).to_be_focused()

    # Connect without the mouse: the panel's "add an answer that leads to".
    side_field(page, "Add an answer that leads to").select_option(label="state 2")
    page.locator("#add-answer").focus()
    page.keyboard.press("Enter")
    expect(edge(page, "state 1", "state 2")).to_have_count(1)
    expect(page.locator("#side fieldset.answer")).to_have_count(1)
    assert violations(page) == []

    # An arrow is focusable and deletable; Ctrl+Z brings it back.
    arrow = edge(page, "state 1", "state 2")
    arrow.focus()
    page.keyboard.press("Enter")
    expect(arrow).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Delete")
    expect(edge(page, "state 1", "state 2")).to_have_count(0)
    page.keyboard.press("Control+z")
    expect(edge(page, "state 1", "state 2")).to_have_count(1)

    # Delete a state with the Delete key: its box and the arrows into it go.
    box(page, "state 2").focus()
    page.keyboard.press("Delete")
    expect(page.locator("#graph g.state")).to_have_count(1)
    expect(page.locator("#graph g.edge")).to_have_count(0)
    wait_saved(page)
    lesson_id = re.search(r"lesson=([0-9a-f-]{36})", page.url).group(1)
    draft = httpx.get(f"{live}/v1/lessons/{lesson_id}/draft",
                      headers={"Authorization": f"Bearer {tenant_key}"}, timeout=30).json()
    assert [s["name"] for s in draft["document"]["states"]] == ["state 1"]
    assert draft["document"]["layout"][draft["document"]["states"][0]["id"]] == {
        "x": x + 30, "y": y + 20}

    # An invalid lesson is not published, and the page says why.
    page.get_by_role("button", name="Publish").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#action-status")).to_contain_text("Not published")
    expect(page.locator("#action-status")).to_contain_text("goal")
    assert violations(page) == []


def test_author_opens_a_version_without_a_draft(open_page, live, tenant_key):
    """A lesson made over the API has no draft: the page lays out its latest version."""
    auth = {"Authorization": f"Bearer {tenant_key}"}
    document = json.loads((ROOT / "dialog" / "lessons" / "cafe.json").read_text())
    made = httpx.post(f"{live}/v1/lessons", json={"document": document}, headers=auth,
                      timeout=60)
    assert made.status_code == 201, made.text
    lesson_id = made.json()["id"]
    page = open_page(f"/static/author.html?lesson={lesson_id}", api_key=tenant_key, mic=False)
    expect(page.locator("#graph g.state")).to_have_count(len(document["states"]))
    expect(page.locator("#save-status")).to_have_text("Version 1 opened")
    expect(page.locator("#picker")).to_have_value(lesson_id)
    expect(page.locator("#issues")).to_contain_text("No problems")
    boxes = [b.bounding_box() for b in page.locator("#graph g.state rect.box").all()]
    for i, a in enumerate(boxes):  # the automatic layout never stacks boxes
        for b in boxes[i + 1:]:
            assert abs(a["x"] - b["x"]) >= a["width"] or abs(a["y"] - b["y"]) >= a["height"]
    page.get_by_label("Title").fill("At the café, revised")
    wait_saved(page)
    draft = httpx.get(f"{live}/v1/lessons/{lesson_id}/draft", headers=auth, timeout=30).json()
    assert draft["document"]["title"] == "At the café, revised"
    assert set(draft["document"]["layout"]) == {s["id"] for s in document["states"]}


def test_new_lesson_before_the_list_loads_stays_open(open_page, live, tenant_key):
    """"New lesson" pressed while the lesson list is still loading keeps the new lesson.

    The new lesson writes its id into the address; the page's start-up, once the list
    arrived, used to read that address and reopen the lesson over the author's work.
    """
    page = open_page("/static/author.html", api_key=tenant_key, mic=False)
    held = []
    page.route("**/v1/lessons", lambda route: held.append(route))
    page.reload()
    expect(page.locator("#picker")).to_have_attribute("aria-busy", "true")
    page.get_by_role("button", name="New lesson").click()
    wait_saved(page)
    lesson_id = re.search(r"[?&]lesson=([^&]+)", page.url).group(1)
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    held[0].continue_()
    expect(page.locator("#picker")).not_to_have_attribute("aria-busy", "true")
    expect(page.locator("#save-status")).to_have_text(SAVED)
    expect(page.locator("#picker")).to_have_value(lesson_id)
    expect(page.get_by_label("Title")).to_be_focused()
