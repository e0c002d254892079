"""Small lesson documents the server tests create through the API."""

from __future__ import annotations

import copy
import uuid


def tiny_lesson(title: str = "Greetings") -> dict:
    """Three states: hello → name → goal, with fallbacks so it never dead-ends."""
    ids = {name: str(uuid.uuid4()) for name in ("hello", "name", "done")}
    return {
        "id": "tiny",
        "title": title,
        "mission": "Say hello and give your name",
        "initial": ids["hello"],
        "states": [
            {"id": ids["hello"], "name": "hello", "lines": ["Hello there!"],
             "hint": "Try: 'Hello!'", "rephrase": ["Say hello, please."],
             "fallback": ids["name"], "fallback_line": "Let's move on.",
             "expects": [{"id": str(uuid.uuid4()), "target": ids["name"], "intent": "greet",
                          "examples": ["hello", "hi", "good morning"],
                          "keywords": ["hello", "hi"]}]},
            {"id": ids["name"], "name": "name", "lines": ["What is your name?"],
             "hint": "Try: 'My name is Ana.'", "rephrase": ["Your name?"],
             "fallback": ids["done"], "fallback_line": "Nice to meet you anyway.",
             "expects": [{"id": str(uuid.uuid4()), "target": ids["done"], "intent": "give_name",
                          "examples": ["my name is Ana", "I'm Tom", "call me Sam"],
                          "patterns": [r"\bmy name is\b", r"\bi'?m \w+"]}]},
            {"id": ids["done"], "name": "done", "lines": ["Nice to meet you!"], "kind": "goal"},
        ],
    }


def with_unreachable_state(doc: dict) -> dict:
    broken = copy.deepcopy(doc)
    broken["states"].append({"id": str(uuid.uuid4()), "name": "island", "lines": ["Nobody?"],
                             "kind": "goal"})
    return broken


def with_unknown_target(doc: dict) -> dict:
    broken = copy.deepcopy(doc)
    broken["states"][0]["expects"][0]["target"] = "no-such-state"
    return broken
