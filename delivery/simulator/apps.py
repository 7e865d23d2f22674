from __future__ import annotations

from django.apps import AppConfig


class SimulatorConfig(AppConfig):
    name = "delivery.simulator"
    label = "simulator"
    verbose_name = "GitHub simulator"
