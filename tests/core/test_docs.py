"""The README and the design document the repository ships: links that resolve, promises that are kept."""

from __future__ import annotations

import re

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_every_link_of_the_readme_to_a_file_of_the_repository_resolves() -> None:
    targets = [t for t in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README) if "://" not in t]
    assert "docs/design.md" in targets
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert not missing, missing
    assert "DESIGN.md" not in README.replace("docs/design.md", "")


def test_the_readme_s_first_paragraph_promises_only_what_exists() -> None:
    first = README.split("\n\n")[1]
    assert first.startswith("**Delivery visibility")
    for missing in ("retrospective", "weekly report", "ClickUp", "metrics", "DORA"):
        assert missing.lower() not in first.lower(), missing


def test_the_readme_names_every_clickup_setting_and_command() -> None:
    for name in ("CLICKUP_WEBHOOK_SECRET", "CLICKUP_QUEUE_LISTS", "CLICKUP_STARTED_STATUS", "clickup_webhooks install"):
        assert name in README, name
    assert "/webhooks/clickup/" in README


def test_the_design_document_describes_the_watch_and_says_what_is_not_built() -> None:
    design = (ROOT / "docs" / "design.md").read_text()
    assert '- **MonitoringSession** ("watch" on the pages)' in design
    assert "## Not built yet" in design and "## Weekly report" in design
    assert "/work/shared" not in design and "this folder" not in design  # the project's own document
