"""axe-core (vendored, tests only) run in a page: WCAG 2 A and AA violations, as text."""

from __future__ import annotations

from pathlib import Path

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()


def violations(page) -> list[str]:
    page.add_script_tag(content=AXE)
    found = page.evaluate("""async () => {
        const r = await axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21aa"] });
        return r.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ` +
            v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", "));
    }""")
    return found
