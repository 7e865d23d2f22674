"""`manage.py weekly_report [--week 2026-W47] [--team slug] [--post] [--format markdown|json]`: build (or find, when
nothing changed) a week's report and print it; `--post` tells its Slack summary (once, as the Monday run does)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from delivery.accounts.models import Team
from delivery.flows.reports import weekly_report_posted, weekly_reports_built
from delivery.reports.exports import markdown
from delivery.reports.weeks import IsoWeek, WeekError, week_just_ended


class Command(BaseCommand):
    help = "Build a week's report (the organization's, or a team's) and print it as Markdown or JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--week", help="The ISO week, YYYY-Www (default: the week just ended).")
        parser.add_argument("--team", help="A team's report (its GitHub slug) instead of the organization's.")
        parser.add_argument("--post", action="store_true", help="Tell its summary on Slack (once per week and team).")
        parser.add_argument("--format", choices=["markdown", "json"], default="markdown")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            week = IsoWeek.parse(options["week"]) if options["week"] else week_just_ended(timezone.now())
        except WeekError as error:
            raise CommandError(str(error)) from None
        slug = options["team"] or ""
        if slug and not Team.objects.filter(slug=slug).exists():
            raise CommandError(f"No team {slug!r}: teams are the organization's GitHub teams.")
        [built] = weekly_reports_built(week=week, post=False, team_slug=slug)
        report = built.report
        if options["post"]:
            posted = weekly_report_posted(report)
            self.stderr.write("Posted to Slack." if posted else "Not posted: told before, or no channel for it.")
        self.stderr.write(
            f"{report} ({'built now' if built.created else 'unchanged since it was built'} "
            f"{report.generated_at:%Y-%m-%d %H:%M})"
        )
        if options["format"] == "json":
            self.stdout.write(json.dumps(report.figures, indent=2, ensure_ascii=False))
        else:
            who = f"team {report.team.name}" if report.team else "the organization"
            self.stdout.write(markdown(report.figures, title=f"Week {report.week_label} — {who}"), ending="")
