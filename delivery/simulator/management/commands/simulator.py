"""``python manage.py simulator``: serve the GitHub simulator until SIGINT/SIGTERM."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from delivery.simulator.runner import add_arguments, run


class Command(BaseCommand):
    help = "Run the GitHub simulator (REST API + OAuth on a local port)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        run(options, out=self.stdout)
