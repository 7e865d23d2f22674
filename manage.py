#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "delivery.settings")
    if sys.argv[1:2] == ["demo"]:
        # The demo's defaults (secret key, hosts, the simulator's OAuth app, plain http), with DEBUG off.
        os.environ.setdefault("TRUNKLINE_DEMO", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
