"""Vocabulary for believable people, repositories, branches and pull request titles."""

from __future__ import annotations

import random
import re

FIRST_NAMES = (
    "Maria",
    "James",
    "Aisha",
    "Chen",
    "Sofia",
    "Lukas",
    "Priya",
    "Mateo",
    "Hannah",
    "Kwame",
    "Elena",
    "Tomasz",
    "Yuki",
    "Omar",
    "Ingrid",
    "Diego",
    "Fatima",
    "Noah",
    "Leila",
    "Arjun",
    "Chloe",
    "Mikael",
    "Zara",
    "Daniel",
    "Amara",
    "Felix",
    "Nadia",
    "Samuel",
    "Ines",
    "Viktor",
    "Grace",
    "Rafael",
    "Mei",
    "Jonas",
    "Olivia",
    "Kenji",
    "Lucia",
    "Ahmed",
    "Freya",
    "Pablo",
    "Sara",
    "Dmitri",
    "Ana",
    "Theo",
    "Emeka",
    "Julia",
    "Hugo",
    "Anya",
)
LAST_NAMES = (
    "Garcia",
    "Okafor",
    "Nguyen",
    "Kowalski",
    "Schmidt",
    "Patel",
    "Rossi",
    "Haddad",
    "Lindqvist",
    "Tanaka",
    "Mensah",
    "Fernandes",
    "Novak",
    "Brennan",
    "Ivanova",
    "Costa",
    "Yilmaz",
    "Andersen",
    "Moreau",
    "Kim",
    "Silva",
    "Weber",
    "Osei",
    "Larsen",
    "Murphy",
    "Castillo",
    "Sato",
    "Dubois",
    "Horvat",
    "Reyes",
    "Ali",
    "Berg",
    "Popescu",
    "Walsh",
    "Jansen",
    "Mbeki",
    "Ortiz",
    "Fischer",
    "Chowdhury",
    "Lopez",
)

REPO_CATALOG: tuple[tuple[str, str, str], ...] = (
    ("api", "Public REST API and background jobs", "Python"),
    ("web", "Customer-facing web application", "TypeScript"),
    ("billing", "Invoicing, subscriptions and payment reconciliation", "Go"),
    ("mobile-bff", "Backend-for-frontend serving the mobile apps", "Kotlin"),
    ("search", "Search indexing and query service", "Go"),
    ("notifications", "E-mail, push and in-app notifications", "Python"),
    ("auth", "Sign-in, sessions and permissions", "Go"),
    ("checkout", "Cart and checkout flow", "TypeScript"),
    ("catalog", "Product catalog service", "Python"),
    ("inventory", "Stock levels and reservations", "Java"),
    ("shipping", "Carrier integrations and tracking", "Python"),
    ("reporting", "Scheduled reports and exports", "Python"),
    ("admin-console", "Internal back-office console", "TypeScript"),
    ("data-pipeline", "Event ingestion and warehouse loads", "Python"),
    ("feature-flags", "Feature flag service and SDK", "Go"),
    ("ledger", "Double-entry ledger for balances", "Rust"),
    ("gateway", "Edge API gateway configuration", "Go"),
    ("scheduler", "Distributed job scheduler", "Rust"),
    ("analytics", "Product analytics collectors", "TypeScript"),
    ("email-templates", "Transactional e-mail templates", "TypeScript"),
    ("pricing", "Pricing rules and discounts", "Kotlin"),
    ("identity-sync", "Directory and SSO synchronisation", "Java"),
)
ARCHIVED_REPO = ("legacy-web", "Old server-rendered web frontend (replaced by web)", "Ruby")
GONE_REPO = ("old-importer", "One-off data importer", "Python")

EXTENSIONS = {
    "Python": "py",
    "TypeScript": "ts",
    "Go": "go",
    "Kotlin": "kt",
    "Java": "java",
    "Rust": "rs",
    "Ruby": "rb",
}

VERBS = (
    "Add",
    "Fix",
    "Refactor",
    "Improve",
    "Remove",
    "Update",
    "Handle",
    "Speed up",
    "Cache",
    "Validate",
    "Simplify",
    "Log",
    "Retry",
    "Paginate",
    "Document",
    "Harden",
    "Migrate",
    "Rename",
    "Split",
    "Guard",
)
THINGS = (
    "invoice totals rounding",
    "user settings endpoint",
    "rate limiter for webhooks",
    "login redirect loop",
    "search result ranking",
    "password reset e-mails",
    "order export to CSV",
    "stale cache on profile page",
    "timezone handling in reports",
    "currency formatting",
    "health check endpoint",
    "retry on payment timeout",
    "feature flag evaluation",
    "slow dashboard query",
    "error messages on checkout",
    "audit log entries",
    "pagination of orders list",
    "session expiry",
    "API client timeouts",
    "database connection pool",
    "dark mode toggle",
    "notification preferences",
    "image upload size limit",
    "metrics for queue depth",
    "SSO callback handling",
    "discount code validation",
    "address autocomplete",
    "refund workflow",
    "background job deduplication",
    "feature usage tracking",
    "shipping label generation",
    "inventory sync job",
    "tax calculation for EU",
    "onboarding checklist",
    "admin user search",
    "CSV import validation",
    "webhook signature check",
    "mobile push tokens cleanup",
    "PDF invoice layout",
    "accessibility of forms",
    "N+1 queries in orders API",
    "flaky integration test",
    "deprecated config keys",
    "structured logging",
    "billing cycle edge case",
    "empty state on dashboard",
    "subscription downgrade",
    "API versioning header",
)
FILE_STEMS = (
    "orders",
    "invoices",
    "users",
    "sessions",
    "payments",
    "reports",
    "search",
    "settings",
    "client",
    "cache",
    "queue",
    "limits",
    "webhooks",
    "exports",
    "checkout",
    "accounts",
    "audit",
    "metrics",
)
MODULES = ("core", "handlers", "models", "services", "jobs", "utils", "api", "views", "tests", "config")


def person(rng: random.Random, used: set[str]) -> tuple[str, str]:
    """A unique (login, full name)."""
    for _ in range(1000):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        style = rng.randrange(4)
        login = (f"{first}{last[0]}", f"{first}-{last}", f"{first[0]}{last}", f"{first}{last}")[style].lower()
        if login not in used:
            used.add(login)
            return login, f"{first} {last}"
    raise RuntimeError("ran out of names")


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


TASK_PREFIX = "PRJ"
"""The custom id prefix of the simulated team's ClickUp Space: its branches name their task (tools/clickup_server.py
serves the tasks, one per thing in THINGS)."""


def task_branch(login: str, title: str) -> str:
    """A branch named after its ClickUp task, as the team does: the task is the thing the title works on (every pull
    request on one thing belongs to that task), e.g. ana/prj-7-add-order-export-to-csv."""
    slug = slugify(title)[:40]
    thing = next((i for i, t in enumerate(THINGS) if title.endswith(t)), None)
    return f"{login}/{slug}" if thing is None else f"{login}/{TASK_PREFIX.lower()}-{thing + 1}-{slug}"


def pull_title(rng: random.Random) -> str:
    return f"{rng.choice(VERBS)} {rng.choice(THINGS)}"


def commit_message(rng: random.Random, title: str, index: int) -> str:
    if index == 0:
        return title
    return rng.choice(
        (
            "Address review comments",
            "Add tests",
            "Fix lint",
            "Handle edge case",
            "Tidy up",
            f"{rng.choice(VERBS)} {rng.choice(MODULES)}",
            "Update docs",
            "Fix failing test",
        )
    )


def file_names(rng: random.Random, language: str, count: int) -> tuple[str, ...]:
    ext = EXTENSIONS.get(language, "txt")
    return tuple(sorted({f"src/{rng.choice(MODULES)}/{rng.choice(FILE_STEMS)}.{ext}" for _ in range(count)}))
