"""`python manage.py demo` (what `make run` runs): Trunkline with everything it needs, in one terminal.

Without GitHub credentials it starts the built-in GitHub simulator in live mode and follows its organization, with
the ClickUp and Slack stand-ins unless CLICKUP_TOKEN / SLACK_BOT_TOKEN (or SLACK_WEBHOOK_URL) are set;
with GITHUB_TOKEN (or a GitHub App) it follows the real GITHUB_ORG. Then the web server, a Celery worker
with beat, and a first sync in the foreground. Ctrl-C stops everything it started."""

from __future__ import annotations

import os
import signal
import sys
import time
import zlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from delivery.accounts.models import Developer, OnCallRotation
from delivery.accounts.oncall import rotation_set
from delivery.clickup.client import ClickUpClient
from delivery.clickup.webhooks import WEBHOOK_PATH, Installed, webhook_install
from delivery.core.processes import Children, port_open, wait_for_port
from delivery.flows.changes import history_watched
from delivery.flows.reports import weekly_reports_built
from delivery.flows.watches import watches_kept_unattended
from delivery.github.client import github_credentials_configured
from delivery.github.models import Repository
from delivery.github.signal_settings import RATIO, SECONDS
from delivery.monitoring.models import Alert, MonitoringSession
from delivery.pipeline.models import Release
from delivery.reports.models import WeeklyReport
from delivery.reports.weeks import week_just_ended

SIMULATOR_PORT = 8765
CLICKUP_PORT = 8766
CLICKUP_DEMO_TOKEN = "pk_trunkline_stand_in"  # noqa: S105 - the stand-in's own, not a secret
CLICKUP_DEMO_TEAM = "9012345"
SLACK_PORT = 8767
IN_PROCESS_SETTINGS = ("TRUNKLINE_PUBLIC_URL", "SLACK_API_URL", "SLACK_BOT_TOKEN", "SLACK_DEFAULT_CHANNEL")
"""What the children's environment sets that this process's notices read as well."""
SLACK_DEMO_TOKEN = "xoxb-trunkline-stand-in"  # noqa: S105 - the stand-in's own, not a secret
SLACK_DEMO_CHANNEL = "#deploys"
CLICKUP_DEMO_BACKLOG = "901001"
"""The stand-in's list of tasks waiting for each developer (tools/clickup_tasks.py): My queue follows it."""
SIMULATOR_ORG = "acme"
DEMO_WATCH_MINUTES = 5
"""The demo repositories' watch window and grace (the simulated team ships every two minutes or so)."""
WATCH_WINDOW_DEFAULT = Repository._meta.get_field("monitoring_window_minutes").get_default()
WATCH_GRACE_DEFAULT = Repository._meta.get_field("monitoring_grace_minutes").get_default()
DEMO_REPORT_WEEKS = 4
DEMO_ALERT_MINUTES = 8
"""How long the demo's simulated alert fires before it resolves."""
SIMULATED_ERROR_RATIO = "http_error_ratio"
SIMULATED_LATENCY = "http_request_duration_p95_seconds"
"""The series the simulator's Prometheus API serves for each repository (delivery/simulator/prometheus.py; the demo
talks to it over HTTP and imports nothing of it)."""


class Command(BaseCommand):
    help = "Run Trunkline: simulator (without GitHub credentials), web, worker, beat and a first sync."
    demo_alert: tuple[str, datetime, float] | None = None  # the simulated alert: service, startsAt, when it was sent

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--simulator-port", type=int, default=int(os.environ.get("SIMULATOR_PORT", SIMULATOR_PORT)))
        parser.add_argument("--clickup-port", type=int, default=int(os.environ.get("CLICKUP_PORT", CLICKUP_PORT)))
        parser.add_argument("--slack-port", type=int, default=int(os.environ.get("SLACK_PORT", SLACK_PORT)))
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--tick-seconds", type=float, default=20.0, help="simulator live activity pace")
        parser.add_argument("--no-sync", action="store_true", help="skip the first foreground sync")

    def handle(self, *args: Any, **options: Any) -> None:
        port = options["port"]
        if port_open(port):
            raise CommandError(f"Port {port} is already in use: stop what runs there, or set PORT=8001.")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database ready.")

        env = dict(os.environ)
        env["TRUNKLINE_DEMO"] = "1"  # the demo's defaults for the web server and the worker; DEBUG stays as it is
        env.setdefault("SYNC_INTERVAL_MINUTES", "1")
        env.setdefault("SIGNALS_READ_MINUTES", "1")  # the demo's watch window is five minutes
        env.setdefault("TRUNKLINE_PUBLIC_URL", f"http://127.0.0.1:{port}")
        demo = not github_credentials_configured()
        stand_in = False  # the ClickUp stand-in runs
        children = Children()
        stop = _StopSignal()
        try:
            if demo:
                self._start_simulator(children, env, options)
                stand_in = not settings.CLICKUP_TOKEN
                if stand_in:
                    self._start_clickup(children, env, options["clickup_port"], web_url=f"http://127.0.0.1:{port}")
                    # The simulated team signs off its watches in this process (_simulated_team_signs_off), and its
                    # tasks are told: this process reads ClickUp's settings as the web server and the worker do.
                    settings.CLICKUP_API_URL, settings.CLICKUP_TOKEN = env["CLICKUP_API_URL"], env["CLICKUP_TOKEN"]
                    settings.CLICKUP_TEAM_ID, settings.CLICKUP_CUSTOM_ID_PREFIXES = env["CLICKUP_TEAM_ID"], ["PRJ"]
                if not (settings.SLACK_BOT_TOKEN or settings.SLACK_WEBHOOK_URL):
                    self._start_slack(children, env, options["slack_port"])
                # This process writes notices too (the past watches' derivation, the simulated team's sign-offs):
                # they go where the web server's and the worker's go, with links to this web server.
                for name in IN_PROCESS_SETTINGS:
                    if name in env:
                        setattr(settings, name, env[name])
            elif not settings.GITHUB_ORG:
                raise CommandError(
                    "GITHUB_TOKEN is set but GITHUB_ORG is not: which organization should Trunkline follow?"
                )
            manage = str(Path(settings.BASE_DIR) / "manage.py")
            web = children.python("web", [manage, "runserver", f"127.0.0.1:{port}", "--noreload"], env=env)
            children.python(
                "worker",
                [
                    "-m",
                    "celery",
                    "-A",
                    "delivery",
                    "worker",
                    "--beat",
                    "--pool",
                    "threads",
                    "--concurrency",
                    "2",
                    "--loglevel",
                    "INFO",
                    "--schedule",
                    str(Path(settings.VAR_DIR) / "celerybeat-schedule"),
                ],
                env=env,
            )
            wait_for_port(port, process=web)
            url = f"http://127.0.0.1:{port}/"
            if demo:
                # The simulator's organization webhook points at this web server, as `github_webhooks install`
                # would do on GitHub: from now on its live activity arrives as signed deliveries too.
                install = children.python(
                    "webhooks", [manage, "github_webhooks", "install", "--url", f"{url}webhooks/github/"], env=env
                )
                if install.wait(timeout=60) == 0:
                    self.stdout.write(f"Webhooks: the simulator delivers to {url}webhooks/github/")
                else:
                    self.stdout.write(
                        self.style.WARNING(f"Webhooks not installed; see {children.log_dir}/webhooks.log")
                    )
            self.stdout.write(self.style.SUCCESS(f"Trunkline is running at {url}"))
            self.stdout.write(f"Logs: {children.log_dir}/ (web, worker, simulator). Ctrl-C stops everything.")
            if not options["no_sync"]:
                self.stdout.write("First sync from GitHub (the worker keeps it fresh afterwards):")
                sync = children.python("sync", [manage, "sync"], env=env, log=False)
                while sync.poll() is None and not stop.requested:
                    time.sleep(0.2)
                if sync.returncode == 0:
                    if demo:
                        self._demo_rotation()
                        self._demo_watch_window()
                        self._past_watches()
                        self._demo_alert_matchers()
                        demo_signals(f"http://127.0.0.1:{options['simulator_port']}")
                        if stand_in:  # not a real workspace
                            self._demo_verified_status()
                        self._past_reports()
                        self._demo_alert_fires(url)
                    self.stdout.write(self.style.SUCCESS(f"Ready: open {url}"))
                    if demo:
                        self._sign_in_help()
            last_team_pass = 0.0
            while not stop.requested:
                dead = [name for name in children.dead() if name not in ("sync", "webhooks")]
                if dead:
                    raise CommandError(f"{', '.join(dead)} stopped unexpectedly; see {children.log_dir}/")
                if demo and time.monotonic() - last_team_pass > 30:
                    last_team_pass = time.monotonic()
                    self._simulated_team_signs_off()
                    self._demo_alert_resolves(url)
                time.sleep(0.5)
        finally:
            self.stdout.write("Stopping…")
            children.stop()
            self.stdout.write("Stopped.")

    def _start_simulator(self, children: Children, env: dict[str, str], options: dict[str, Any]) -> None:
        sim_port = options["simulator_port"]
        if port_open(sim_port):
            raise CommandError(f"Port {sim_port} (simulator) is in use; set SIMULATOR_PORT to another port.")
        state = Path(settings.VAR_DIR) / "simulator-world.pickle"
        simulator = children.python(
            "simulator",
            [
                "-m",
                "delivery.simulator",
                "--port",
                str(sim_port),
                "--seed",
                str(options["seed"]),
                "--live",
                "--tick-seconds",
                str(options["tick_seconds"]),
                "--state-file",
                str(state),
                "--oauth-client-id",
                settings.GITHUB_OAUTH_CLIENT_ID or "trunkline-demo",
                "--oauth-client-secret",
                settings.GITHUB_OAUTH_CLIENT_SECRET or "trunkline-demo-secret",
            ],
            env=env,
        )
        wait_for_port(sim_port, process=simulator, timeout=120)
        env.update(
            GITHUB_URL=f"http://127.0.0.1:{sim_port}",
            GITHUB_ORG=SIMULATOR_ORG,
            GITHUB_TOKEN="demo-token",  # noqa: S106 - the simulator accepts any token
            GITHUB_SECONDS_BETWEEN_REQUESTS="0",
            GITHUB_SECONDS_BETWEEN_WRITES="0",
        )
        self.stdout.write(f"GitHub simulator (organization {SIMULATOR_ORG}) on http://127.0.0.1:{sim_port}")
        # People sign in through the simulator's OAuth page, as on GitHub. The first member (by login) is the
        # demo's admin, so roles and the on-call rotation can be tried.
        self.members = self._simulator_members(f"http://127.0.0.1:{sim_port}")
        if self.members:
            env.setdefault("TRUNKLINE_ADMIN_LOGINS", self.members[0])

    def _start_clickup(self, children: Children, env: dict[str, str], port: int, *, web_url: str = "") -> None:
        """The ClickUp stand-in (tools/clickup_server.py, run as a process: the product imports nothing of it) with
        the simulated team's tasks, which the simulator's branches name (PRJ-1 …), a backlog for each developer, and
        product moving a waiting task to "in progress" now and then. Its webhook to `web_url` is registered as
        `clickup_webhooks install` does, and the secret it returns handed to the web server and the worker."""
        if port_open(port):
            raise CommandError(f"Port {port} (ClickUp stand-in) is in use; set CLICKUP_PORT to another port.")
        args = ["-m", "tools.clickup_server", "--port", str(port), "--token", CLICKUP_DEMO_TOKEN, "--live"]
        members = getattr(self, "members", [])
        if members:
            args += ["--members", ",".join(members), "--email-domain", f"{SIMULATOR_ORG}.test"]
        clickup = children.python("clickup", [*args, "--team-id", CLICKUP_DEMO_TEAM], env=env)
        wait_for_port(port, process=clickup, timeout=60)
        api_url = f"http://127.0.0.1:{port}"
        env.update(
            CLICKUP_API_URL=api_url,
            CLICKUP_TOKEN=CLICKUP_DEMO_TOKEN,
            CLICKUP_TEAM_ID=CLICKUP_DEMO_TEAM,
            CLICKUP_CUSTOM_ID_PREFIXES="PRJ",
            CLICKUP_QUEUE_LISTS=CLICKUP_DEMO_BACKLOG,
        )
        self.stdout.write(f"ClickUp stand-in (the team's tasks, PRJ-1 …) on {api_url}")
        if web_url:
            client = ClickUpClient(token=CLICKUP_DEMO_TOKEN, team_id=CLICKUP_DEMO_TEAM, api_url=api_url)
            installed = webhook_install(client=client, endpoint=f"{web_url}{WEBHOOK_PATH}", replace=True)
            if isinstance(installed, Installed):
                env["CLICKUP_WEBHOOK_SECRET"] = installed.secret
                self.stdout.write(f"ClickUp webhook: the stand-in delivers to {web_url}{WEBHOOK_PATH}")

    def _start_slack(self, children: Children, env: dict[str, str], port: int) -> None:
        """The Slack stand-in (tools/slack_server.py, run as a process) with Trunkline's Slack pointed at it: every
        message Trunkline posts (notices, nudges, the Monday summary) is written to the log folder's slack.log."""
        if port_open(port):
            raise CommandError(f"Port {port} (Slack stand-in) is in use; set SLACK_PORT to another port.")
        args = ["-m", "tools.slack_server", "--port", str(port), "--token", SLACK_DEMO_TOKEN]
        slack = children.python("slack", args, env=env)
        wait_for_port(port, process=slack, timeout=60)
        env.update(SLACK_API_URL=f"http://127.0.0.1:{port}/api/", SLACK_BOT_TOKEN=SLACK_DEMO_TOKEN)
        env.setdefault("SLACK_DEFAULT_CHANNEL", SLACK_DEMO_CHANNEL)
        self.stdout.write(
            f"Slack stand-in on http://127.0.0.1:{port}: what Trunkline posts is in {children.log_dir}/slack.log"
        )

    def _simulator_members(self, sim_url: str) -> list[str]:
        try:
            response = requests.get(
                f"{sim_url}/api/v3/orgs/{SIMULATOR_ORG}/members",
                params={"per_page": 100},
                headers={"Authorization": "token demo-token"},
                timeout=10,
            )
            response.raise_for_status()
        except requests.RequestException as exc:
            self.stdout.write(self.style.WARNING(f"Could not list the simulator's members: {exc}"))
            return []
        return sorted(u["login"] for u in response.json() if u.get("type") == "User")

    def _demo_verified_status(self) -> None:
        """Against the stand-in, a task whose change is verified moves to "complete" (the repository's setting), and
        the stand-in tells Trunkline by webhook; a status an admin set stays."""
        Repository.objects.filter(clickup_verified_status="").update(clickup_verified_status="complete")

    def _demo_watch_window(self) -> None:
        """The demo's team ships every few minutes: its repositories watch for DEMO_WATCH_MINUTES (grace as long),
        so in a fifteen-minute walk watches end, the simulated team signs them off and changes reach Done. Only
        repositories still on the defaults: a window an admin set stays."""
        Repository.objects.filter(
            monitoring_window_minutes=WATCH_WINDOW_DEFAULT, monitoring_grace_minutes=WATCH_GRACE_DEFAULT
        ).update(monitoring_window_minutes=DEMO_WATCH_MINUTES, monitoring_grace_minutes=DEMO_WATCH_MINUTES)

    def _demo_alert_matchers(self) -> None:
        """Each repository's alerts are those whose `service` label is its name, its production ones `env="production"`
        (what an admin sets in the repository's settings); a repository an admin set stays as it is."""
        for repository in Repository.objects.filter(alert_matchers=""):
            repository.alert_matchers = f'service="{repository.name}"'
            repository.alert_production_matchers = 'env="production"'
            repository.save(update_fields=["alert_matchers", "alert_production_matchers"])

    def _demo_alert_fires(self, url: str) -> None:
        """Once: Alertmanager's webhook message for a simulated alert (error ratio up) on the newest production release,
        posted to this Trunkline as Alertmanager would post it, so the on-call page and the release show an incident;
        it resolves DEMO_ALERT_MINUTES later."""
        live = Release.objects.filter(state=Release.State.SUCCEEDED, is_rollback=False).exclude(deployed_at=None)
        release = live.select_related("repository").order_by("-deployed_at").first()
        if Alert.objects.exists() or release is None or release.deployed_at is None:
            return
        starts_at = min(timezone.now(), release.deployed_at + timedelta(minutes=1))
        self.demo_alert = (release.repository.name, starts_at, time.monotonic())
        if self._demo_alert_post(url, release.repository.name, starts_at, None):
            self.stdout.write(f"A simulated alert fires on {release} (the on-call page shows it; it resolves later).")

    def _demo_alert_resolves(self, url: str) -> None:
        """The simulated alert resolves DEMO_ALERT_MINUTES after it fired (Alertmanager's resolved message)."""
        fired = self.demo_alert
        due = fired is not None and time.monotonic() - fired[2] > DEMO_ALERT_MINUTES * 60
        if fired is not None and due and self._demo_alert_post(url, fired[0], fired[1], timezone.now()):
            self.demo_alert = None

    def _demo_alert_post(self, url: str, service: str, starts_at: datetime, ends_at: datetime | None) -> bool:
        message = demo_alert_message(service, starts_at, ends_at)
        try:
            answer = requests.post(
                f"{url}webhooks/alertmanager/",
                json=message,
                headers={"Authorization": f"Bearer {settings.ALERTMANAGER_WEBHOOK_TOKEN}"},
                timeout=10,
            )
        except requests.RequestException as exc:
            self.stdout.write(self.style.WARNING(f"The simulated alert was not delivered: {exc}"))
            return False
        return answer.status_code in (200, 202)

    def _demo_rotation(self) -> None:
        """A weekly on-call rotation over the first four members, from this week's Monday, unless one exists."""
        if OnCallRotation.objects.exists() or not getattr(self, "members", None):
            return
        people = {d.login: d for d in Developer.objects.filter(login__in=self.members[:4])}
        today = timezone.localdate()
        rotation_set(
            developers=[people[login] for login in self.members[:4] if login in people],
            starts_on=today - timedelta(days=today.weekday()),
            handover_hour=9,
            actor=None,
        )

    def _past_watches(self) -> None:
        """The simulated history's releases, too old to watch when first synced, get the watches their owners would
        have kept (the metrics' watch figures and the reports' watch section start filled), once."""
        since = timezone.now() - timedelta(weeks=DEMO_REPORT_WEEKS + 1)
        watched = history_watched(since=since)
        if watched:
            self.stdout.write(f"The simulated team's past watches: {watched} releases watched and signed off")

    def _past_reports(self) -> None:
        """The last few weeks' reports (the organization's and each team's), built from the simulated history so a
        newcomer sees the report at once; not told on Slack (the Monday run tells the next one)."""
        if WeeklyReport.objects.exists():
            return
        week = week_just_ended(timezone.now())
        for n in range(DEMO_REPORT_WEEKS - 1, -1, -1):
            weekly_reports_built(week=week.before(n), post=False)
        self.stdout.write(f"Weekly reports of the last {DEMO_REPORT_WEEKS} weeks built: /reports/")

    def _simulated_team_signs_off(self) -> None:
        """The simulated developers do their post-deploy watch: once a window has ended they sign off "keep",
        except one release in five, left for the overdue alerts to show. People who sign in do their own."""
        due = MonitoringSession.objects.filter(
            signed_off_at__isnull=True, owner__user__isnull=True, window_ends_at__lte=timezone.now()
        )
        keep = [pk for pk, release_id in due.values_list("pk", "release_id") if release_id % 5]
        watches_kept_unattended(session_ids=keep, notes="Signed off by the simulated team", now=timezone.now())

    def _sign_in_help(self) -> None:
        members = getattr(self, "members", [])
        if members:
            admin = os.environ.get("TRUNKLINE_ADMIN_LOGINS", members[0]).split(",")[0]
            on_call = ", ".join(login for login in members[:4] if login != admin)
            self.stdout.write(
                f"Sign in with GitHub (the simulator's page): {admin} is admin; {on_call} are the on-call rotation "
                "(the on-call role); any other member a developer; the last account listed is not a member and is "
                "turned away."
            )


def demo_alert_message(service: str, starts_at: datetime, ends_at: datetime | None = None) -> dict[str, Any]:
    """Alertmanager's webhook message (version 4) for the demo's one simulated alert, firing or resolved."""
    labels = {"alertname": "HighErrorRate", "service": service, "env": "production", "severity": "page"}
    alert = {
        "status": "resolved" if ends_at else "firing",
        "labels": labels,
        "annotations": {"summary": "5xx ratio above 2 % for 2 minutes (a simulated alert)"},
        "startsAt": starts_at.isoformat(),
        "endsAt": ends_at.isoformat() if ends_at else "0001-01-01T00:00:00Z",
        "generatorURL": "",
        "fingerprint": f"{zlib.crc32(service.encode()):016x}",
    }
    return {
        "version": "4",
        "receiver": "trunkline",
        "status": alert["status"],
        "alerts": [alert],
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": labels,
        "commonAnnotations": alert["annotations"],
        "externalURL": "",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
    }


def demo_signals(simulator_url: str) -> int:
    """The demo's repositories read their production signals from the simulator's Prometheus API (each repository
    is a service there, its error ratio and latency moving with its deploys), and their metrics and logs links point
    at the simulator. Only repositories with no Prometheus of their own: what an admin set stays. Returns how many."""
    configured = 0
    for repository in Repository.objects.filter(prometheus_url=""):
        selector = f'service="{repository.name}",environment="$environment"'
        repository.prometheus_url = simulator_url
        repository.signal_queries = [
            {"name": "Error ratio", "unit": RATIO, "rule": "ratio", "query": f"{SIMULATED_ERROR_RATIO}{{{selector}}}"},
            {"name": "p95 latency", "unit": SECONDS, "rule": "latency", "query": f"{SIMULATED_LATENCY}{{{selector}}}"},
        ]
        service = quote(f'{SIMULATED_ERROR_RATIO}{{service="{repository.name}"}}')
        repository.metrics_url_template = repository.metrics_url_template or (
            f"{simulator_url}/api/v1/query_range?query={service}&start={{start}}&end={{end}}&step=15"
        )
        repository.logs_url_template = repository.logs_url_template or (
            f"{simulator_url}/{repository.full_name}/deployments?sha={{short_sha}}&from={{start}}&to={{end}}"
        )
        repository.save(update_fields=["prometheus_url", "signal_queries", "metrics_url_template", "logs_url_template"])
        configured += 1
    return configured


class _StopSignal:
    """Ctrl-C / SIGTERM sets a flag; the main loop then stops the children in order."""

    def __init__(self) -> None:
        self.requested = False
        signal.signal(signal.SIGINT, self._request)
        signal.signal(signal.SIGTERM, self._request)

    def _request(self, *_: object) -> None:
        if self.requested:
            sys.exit(130)
        self.requested = True
