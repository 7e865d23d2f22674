"""The stand-in ClickUp's workspace: its tasks and members (tools/clickup_server.py serves them). The tests' small
workspace (`DEMO_TASKS`), the GitHub simulator's team's tasks (`simulator_tasks`, PRJ-1 onwards, as its branches name
them) and a backlog waiting for each developer (`backlog_tasks`)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from delivery.simulator.names import TASK_PREFIX, THINGS

DEFAULT_LIST_ID = "901000"
BACKLOG_LIST_ID = "901001"


@dataclass
class Task:
    id: str
    name: str
    status: str = "to do"
    custom_id: str | None = None
    assignees: list[str] = field(default_factory=list)  # usernames of workspace members
    description: str = ""
    checklist: list[str] = field(default_factory=list)
    list_id: str = DEFAULT_LIST_ID


@dataclass(frozen=True)
class Member:
    id: int
    username: str
    email: str

    def payload(self) -> dict[str, Any]:
        initials = "".join(part[:1] for part in self.username.split()[:2]).upper()
        return {"id": self.id, "username": self.username, "email": self.email, "initials": initials}


# A small workspace for the tests: ClickUp ids and custom ids of the Space "PRJ".
DEMO_TASKS = [
    Task("86b0x1y2z", "Sign-in with the company account", "in progress", "PRJ-1", ["Ada Lovelace"]),
    Task("86b0x1y30", "Export the invoices as CSV", "review", "PRJ-2", ["Grace Hopper"], checklist=["CSV opens"]),
    Task(
        "86b0x1y31",
        "Rate limit the public API",
        "to do",
        "PRJ-3",
        [],
        description="Clients get 429 past the limit.\n\n## Acceptance criteria\n- 100 requests a minute pass\n"
        "- the 101st gets 429 with Retry-After\n\n## Notes\nSee the API guide.",
    ),
    Task("86b0x1y32", "Faster search on the orders page", "complete", "PRJ-4", ["Alan Turing", "Ada Lovelace"]),
]
PRODUCT_PEOPLE = ["Maya Lopez", "Sam Okafor", "Lena Fischer", "Ravi Menon"]
BACKLOG = [
    "Audit log export for admins",
    "Dark mode for the dashboard",
    "Retry failed payouts",
    "Search by customer e-mail",
    "Two-factor sign-in",
    "Weekly usage e-mail",
]


def simulator_tasks() -> list[Task]:
    """The GitHub simulator's team's tasks: one per thing its pull requests work on, PRJ-1 onwards as their branches
    name them (delivery.simulator.names.task_branch); a few product people assign them."""
    statuses = ["in progress", "review", "to do", "in progress", "complete"]
    return [
        Task(
            id=f"86c{i:05d}x",
            name=thing[:1].upper() + thing[1:],
            status=statuses[i % len(statuses)],
            custom_id=f"{TASK_PREFIX}-{i + 1}",
            assignees=[PRODUCT_PEOPLE[i % len(PRODUCT_PEOPLE)]],
            checklist=[f"{thing[:1].upper() + thing[1:]} works in production", "No new errors in the logs"],
        )
        for i, thing in enumerate(THINGS)
    ]


def backlog_tasks(logins: list[str], *, per_person: int = 2) -> list[Task]:
    """Tasks waiting in the backlog list for each developer (no branch names them yet): My queue shows them."""
    names = itertools.cycle(BACKLOG)
    return [
        Task(
            id=f"86d{n:05d}b",
            name=next(names),
            status="to do",
            custom_id=f"{TASK_PREFIX}-{900 + n}",
            assignees=[login],
            list_id=BACKLOG_LIST_ID,
        )
        for n, login in enumerate(login for login in logins for _ in range(per_person))
    ]
