from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Plumbing that belongs to no domain: the health check, queueing by name, links, the error pages."""

    name = "delivery.core"
    label = "core"

    def ready(self) -> None:
        from delivery.core import sql  # noqa: F401  (registers the SQLite functions on each new connection)
