"""Generate a deterministic organization with weeks of trunk-based delivery history.

``generate_world(seed, repos, developers, weeks, prs, now, quirks, deployments)``: the same arguments
always give the same world. ``repos`` active repositories (``quirks`` adds an archived one with a little
history and a deleted one that is still listed); ``prs`` pull requests in total (default: ~3-6 merged per
repository per working day). ``deployments``: about that many deployments in all, fewer than a team that
deploys every merge and previews every pull request makes (that is the default): merges ride release
trains (:mod:`history`) and only some pull requests get a preview environment.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from . import ops
from .history import Pipeline, Simulation, minutes
from .models import Organization, Repository, Team, User, Workflow
from .names import ARCHIVED_REPO, GONE_REPO, REPO_CATALOG, person, pull_title, task_branch
from .plans import PullPlan, PullPlayer, TimeMode, plan_closed, plan_merged, plan_open
from .timeline import WorkCalendar
from .world import World, utcnow

# Work in flight at ``now``, in the order small repositories get them.
TAIL_ROLES = (
    "tail_merged",
    "open_awaiting",
    "tail_on_staging",
    "open_draft",
    "tail_tagged",
    "open_approved",
    "tail_prod_watch",
    "open_stale",
)
TAIL_MERGES: dict[str, tuple[float, dict[str, object]]] = {  # minutes before now, pipeline overrides
    "tail_prod_watch": (80, {}),  # "prod_start" filled in: production succeeds inside the 30-minute watch window
    "tail_tagged": (45, {"prod_start": None}),  # tagged, production waiting for approval
    "tail_on_staging": (16, {"staging_minutes": 8, "tag_minutes": 12}),  # on staging, tag not yet created
    "tail_merged": (3, {"ci_minutes": 6}),  # merged, staging deploy still queued
}
PR_BREACHES = ("long_lived", "no_approval", "merge_commit", "stale_approval", "no_preview", "branch_kept")
QUIRK_ROLES = ("deleted_author", "deleted_reviewer")
WORKFLOWS = (
    ("ci", "CI", "ci.yml"),
    ("staging", "Deploy staging", "deploy-staging.yml"),
    ("production", "Deploy production", "deploy-production.yml"),
    ("rollback", "Rollback", "rollback.yml"),
)
LOCATIONS = ("Berlin", "Lisbon", "London", "Warsaw", "Amsterdam", "Madrid", "Dublin", "Remote", None)
PREVIEWS_PER_PULL = 1.3  # a previewed pull request deploys its preview when opened and after each later push
PREVIEW_SHARE = 0.1  # of the deployments asked for, the share that are previews


def generate_world(
    seed: int = 42,
    repos: int = 4,
    developers: int = 10,
    weeks: int = 6,
    prs: int | None = None,
    now: datetime | None = None,
    quirks: bool = True,
    deployments: int | None = None,
) -> World:
    if repos < 1 or developers < 2 or weeks < 1:
        raise ValueError("need at least 1 repository, 2 developers and 1 week")
    now = (now or utcnow()).replace(microsecond=0)
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    start = now - timedelta(weeks=weeks)
    rng = random.Random(f"world:{seed}")  # noqa: S311 - a reproducible simulation, not cryptography
    org = Organization(
        id=9_000_001,
        login="acme",
        name="Acme Corp",
        description="We make everything.",
        created_at=start - timedelta(days=1400),
        updated_at=start - timedelta(days=30),
    )
    world = World(org, seed, now)
    devs = _people(world, rng, developers, start, quirks)
    sim = Simulation(now)
    active = [_repository(world, rng, i, start) for i in range(repos)]
    archived = gone = None
    if quirks:
        archived = _repository(world, rng, -1, start, ARCHIVED_REPO)
        gone = _repository(world, rng, -1, start, GONE_REPO)
        gone.gone = True
    counts = _allocate(rng, active, archived, prs, start, now)
    roles = {repo.name: _roles(counts[repo.name], tail=True) for repo in active}
    _assign_breaches(rng, roles, active, quirks)
    oncall = world.teams[-1].members
    active_prs = sum(counts[repo.name] for repo in active)
    for repo in active:
        quirky = quirks and repo is active[0]
        share = None if deployments is None else deployments * counts[repo.name] / max(1, active_prs)
        cadence = _cadence(counts[repo.name], share, sum(map(_always_previewed, roles[repo.name])))
        _play_repository(sim, world, repo, devs, oncall, roles[repo.name], start, now, weeks, quirky, cadence)
    if archived is not None:
        end = now - timedelta(days=21)
        _play_repository(
            sim,
            world,
            archived,
            devs,
            oncall,
            _roles(counts[archived.name], tail=False),
            end - timedelta(days=14),
            end,
            2,
            False,
        )
    sim.run()
    if archived is not None:
        archived.archived = True
        archived.updated_at = now - timedelta(days=20)
    return world


def _people(world: World, rng: random.Random, developers: int, start: datetime, quirks: bool) -> list[User]:
    used: set[str] = set()

    def make(role: str | None, **extra: Any) -> User:
        login, name = person(rng, used)
        user = User(
            id=world.next_id("user"),
            login=login,
            name=name,
            email=f"{login}@acme.test",
            created_at=start - timedelta(days=rng.randint(200, 3000)),
            role=role,
            location=rng.choice(LOCATIONS),
            **extra,
        )
        return world.add_user(user)

    world.service_account = world.add_user(
        User(
            id=1,
            login="acme-automation",
            name="Acme Automation",
            email="automation@acme.test",
            created_at=start - timedelta(days=900),
        )
    )
    devs = [make("admin" if i == 0 else "member") for i in range(developers)]
    world.bot = world.add_user(
        User(
            id=world.next_id("user"),
            login="trunkline-deployer[bot]",
            name="Trunkline Deployer",
            email="deployer@acme.test",
            created_at=start - timedelta(days=400),
            type="Bot",
        )
    )
    world.outsider = make(None)
    if quirks:
        make(None, deleted=True)
    teams = (
        ("engineering", "Engineering", "Everyone who ships", devs),
        ("platform", "Platform", "Infrastructure and delivery tooling", devs[: max(2, len(devs) // 3)]),
        ("on-call", "On-call", "This week's on-call rotation", rng.sample(devs, min(3, len(devs)))),
    )
    for slug, name, description, members in teams:
        world.teams.append(
            Team(
                id=world.next_id("team"),
                slug=slug,
                name=name,
                description=description,
                members=list(members),
                created_at=start - timedelta(days=300),
            )
        )
    return devs


def _repository(
    world: World,
    rng: random.Random,
    index: int,
    start: datetime,
    spec: tuple[str, str, str] | None = None,
) -> Repository:
    if spec is None:
        spec = REPO_CATALOG[index] if index < len(REPO_CATALOG) else (f"service-{index + 1}", "Internal service", "Go")
    name, description, language = spec
    created = (start - timedelta(days=rng.randint(120, 1200))).replace(hour=rng.randint(8, 17))
    repo = Repository(
        id=world.next_id("repo"),
        name=name,
        description=description,
        language=language,
        created_at=created,
        updated_at=created,
        pushed_at=created,
        owner=world.org_login,
    )
    for _key, title, file_name in WORKFLOWS:
        workflow = Workflow(
            id=world.next_id("workflow"),
            name=title,
            path=f".github/workflows/{file_name}",
            created_at=created + timedelta(days=1),
            updated_at=created + timedelta(days=1),
        )
        repo.workflows[workflow.id] = workflow
    world.repos[name] = repo
    return repo


def _allocate(
    rng: random.Random,
    active: list[Repository],
    archived: Repository | None,
    prs: int | None,
    start: datetime,
    now: datetime,
) -> dict[str, int]:
    counts: dict[str, int] = {}
    if prs is None:
        days = WorkCalendar(start, now).working_days
        for repo in active:
            merged = round(rng.uniform(3, 6) * days)
            counts[repo.name] = merged + max(1, round(merged * 0.04)) + len(TAIL_ROLES)
        if archived is not None:
            counts[archived.name] = 6
        return counts
    archived_share = min(6, prs // 50) if archived is not None else 0
    left = prs - archived_share
    weights = [rng.uniform(0.4, 1.6) for _ in active]
    total = sum(weights)
    shares = [left * w / total for w in weights]
    floors = [int(s) for s in shares]
    order = sorted(range(len(active)), key=lambda i: shares[i] - floors[i], reverse=True)
    for i in order[: left - sum(floors)]:
        floors[i] += 1
    counts.update({repo.name: n for repo, n in zip(active, floors, strict=True)})
    if archived is not None:
        counts[archived.name] = archived_share
    return counts


def _cadence(prs: int, deployments: float | None, previewed: int) -> tuple[int, float]:
    """(merges per release, share of the other pull requests previewed) that make about ``deployments``
    deployments of a repository with ``prs`` pull requests, ``previewed`` of them always previewed: a tenth
    previews, the rest a staging and a production deploy a release. (1, 1.0), every merge deployed and every
    pull request previewed, when None or more."""
    if deployments is None or prs <= previewed:
        return 1, 1.0
    previews = deployments * PREVIEW_SHARE
    releases = max(1.0, (deployments - previews) / 2)
    others = max(0.0, previews / PREVIEWS_PER_PULL - previewed) / (prs - previewed)
    return max(1, round(prs * 0.96 / releases)), min(1.0, others)


def _always_previewed(role: str) -> bool:
    """Work in flight shows its preview, and the breach of a failed preview needs one."""
    return role.startswith("open") or role == "no_preview"


def _roles(n: int, tail: bool) -> list[str]:
    tail_count = min(len(TAIL_ROLES), n // 3) if tail else 0
    rest = n - tail_count
    closed = max(1, round(rest * 0.04)) if rest >= 10 else 0
    return list(TAIL_ROLES[:tail_count]) + ["closed"] * closed + ["merged"] * (rest - closed)


def _assign_breaches(rng: random.Random, roles: dict[str, list[str]], active: list[Repository], quirks: bool) -> None:
    """Spread each process breach (and quirk PR) over the repositories, in the middle of history."""
    wanted = list(PR_BREACHES) + (list(QUIRK_ROLES) if quirks else [])
    offset = rng.randrange(len(active))
    for i, breach in enumerate(wanted):
        for attempt in range(len(active)):
            role_list = roles[active[(offset + i + attempt) % len(active)].name]
            merged = [j for j, role in enumerate(role_list) if role == "merged"]
            if len(merged) >= 4:
                role_list[merged[len(merged) // 3 + rng.randrange(len(merged) // 3)]] = breach
                break


def _play_repository(
    sim: Simulation,
    world: World,
    repo: Repository,
    devs: list[User],
    oncall: list[User],
    roles: list[str],
    start: datetime,
    now: datetime,
    weeks: int,
    first_active: bool,
    cadence: tuple[int, float] = (1, 1.0),
) -> None:
    """``cadence``: merges that ride one release, and the share of pull requests with a preview."""
    rng = random.Random(f"repo:{world.seed}:{repo.name}")  # noqa: S311 - reproducible simulation
    workflows = {key: repo.workflow_by_file(file_name) for key, _, file_name in WORKFLOWS}
    is_history_only = "tail_merged" not in roles and not any(r.startswith("open") for r in roles)
    window_end = now - timedelta(hours=3) if not is_history_only else now - timedelta(days=1)
    calendar = WorkCalendar(start + timedelta(days=1), window_end)
    version = (rng.choice((0, 1, 1, 2, 3)), rng.randint(1, 20), 0)
    pipeline = Pipeline(
        sim,
        world,
        repo,
        rng,
        workflows,  # type: ignore[arg-type]  # every simulated repository has the four workflows
        version,
        oncall,
        failure_window=(start + timedelta(days=2), now - timedelta(hours=4)),
        merges_per_release=cadence[0],
    )
    player = PullPlayer(sim, world, repo, pipeline, rng, repo.language)
    _baseline(sim, world, repo, rng, devs, start, pipeline, first_active)

    def sample() -> datetime:
        if calendar.intervals:
            return calendar.sample(rng)
        return window_end - timedelta(seconds=rng.uniform(0, (window_end - start).total_seconds()))

    weights = [rng.uniform(0.5, 2.0) for _ in devs]
    branches: set[str] = set()
    deleted = next((u for u in world.users.values() if u.deleted), None)
    merged_roles = [r for r in roles if r not in ("closed",) and not r.startswith(("open", "tail"))]
    merge_times = sorted(sample() for _ in merged_roles)
    plans: list[PullPlan] = []
    for role, merge_at in zip(merged_roles, merge_times, strict=True):
        author, reviewers, title, branch = _people_for(rng, devs, weights, branches)
        if role == "deleted_author" and deleted is not None:
            author = deleted
        plan = plan_merged(
            rng,
            TimeMode(),
            role=role,
            author=author,
            reviewers=reviewers,
            merge_at=merge_at,
            title=title,
            branch=branch,
        )
        if role == "deleted_author":
            plan.merger = plan.reviews[-1][1]
        if role == "deleted_reviewer" and deleted is not None:
            plan.reviews = [(when, deleted, state) for when, _, state in plan.reviews]
            plan.requested = []
        plans.append(plan)
    for role in roles:
        author, reviewers, title, branch = _people_for(rng, devs, weights, branches)
        if role == "closed":
            plans.append(
                plan_closed(
                    rng, TimeMode(), author=author, reviewers=reviewers, opened=sample(), title=title, branch=branch
                )
            )
        elif role.startswith("open"):
            plans.append(
                plan_open(rng, role=role, author=author, reviewers=reviewers, now=now, title=title, branch=branch)
            )
        elif role in TAIL_MERGES:
            ago, overrides = TAIL_MERGES[role]
            plan = plan_merged(
                rng,
                TimeMode(work=False),
                role=role,
                author=author,
                reviewers=reviewers,
                merge_at=now - minutes(ago),
                title=title,
                branch=branch,
            )
            plan.overrides = dict(overrides)
            if role == "tail_prod_watch":
                plan.overrides["prod_start"] = now - minutes(33)
            plans.append(plan)
    if cadence[1] < 1:  # a random of its own: the rest of the repository's history stays as it is
        previews = random.Random(f"previews:{world.seed}:{repo.name}")  # noqa: S311 - reproducible simulation
        for plan in plans:
            if not _always_previewed(plan.role) and previews.random() >= cadence[1]:
                plan.preview = ""
    for plan in plans:
        player.schedule(plan)
    if not is_history_only:
        author, _, title, branch = _people_for(rng, devs, weights, branches)
        sim.at(now - minutes(50), _branch_only, world, repo, author, branch, title, now - minutes(45))
    _schedule_pipeline_breaches(rng, pipeline, [p for p in plans if p.role == "merged"], first_active)


def _people_for(
    rng: random.Random, devs: list[User], weights: list[float], branches: set[str]
) -> tuple[User, list[User], str, str]:
    author = rng.choices(devs, weights=weights)[0]
    title = pull_title(rng)
    branch = task_branch(author.login, title)
    candidate, n = branch, 1
    while candidate in branches:
        n += 1
        candidate = f"{branch}-{n}"
    branches.add(candidate)
    return author, [d for d in devs if d is not author], title, candidate


def _schedule_pipeline_breaches(rng: random.Random, pipeline: Pipeline, merged: list[PullPlan], first: bool) -> None:
    """The first active repository gets a failed staging deploy, a failed production deploy fixed forward (the next
    pull request merged two hours or more after it is a `hotfix/` branch) and a failed, rolled-back production
    deploy."""
    if not first or len(merged) < 6:
        return
    ordered = sorted(merged, key=lambda p: p.end_at)  # type: ignore[arg-type, return-value]
    third = len(ordered) // 3
    pipeline.fail_staging_after.append(ordered[third].end_at)  # type: ignore[arg-type]
    broken = ordered[third + third // 2].end_at
    fix = next((p for p in ordered if p.end_at >= broken + timedelta(hours=2)), None)  # type: ignore[operator]
    if fix is not None and fix.end_at < ordered[2 * third].end_at:  # type: ignore[operator]
        pipeline.fail_prod_after.append(broken)  # type: ignore[arg-type]
        fix.branch = "hotfix/" + fix.branch.partition("/")[2]
    pipeline.rollback_prod_after.append(ordered[2 * third].end_at)  # type: ignore[arg-type]


def _baseline(
    sim: Simulation,
    world: World,
    repo: Repository,
    rng: random.Random,
    devs: list[User],
    start: datetime,
    pipeline: Pipeline,
    quirky: bool,
) -> None:
    """Root commit, a few direct commits, then the first tag deployed everywhere before the window opens."""
    founder = rng.choice(devs)
    root = ops.create_commit(
        world,
        repo,
        author=founder,
        committer=founder,
        message="Initial commit",
        at=repo.created_at,
        parents=(),
        files=("README.md",),
    )
    ops.create_branch(world, repo, repo.default_branch, root.sha, repo.created_at, founder)
    repo.branches[repo.default_branch].protected = True
    when = start - timedelta(days=30)
    for i in range(rng.randint(3, 6)):
        author = rng.choice(devs)
        commit = ops.create_commit(
            world,
            repo,
            author=author,
            committer=author,
            at=when + timedelta(days=3 * i),
            message=f"Set up {rng.choice(('CI', 'linting', 'deploy workflows', 'logging'))}",
            parents=(repo.main_sha,),
        )
        ops.push(world, repo, repo.default_branch, [commit], commit.committed_at, author)
    if quirky:  # a tag whose commit exists nowhere (history rewritten long ago)
        ops.create_tag(world, repo, "v0.0.0-legacy", world.new_sha("dangling"), start - timedelta(days=10), founder)
        sim.at(start + (sim.now - start) / 2, _abandoned_deployment, world, repo, rng.choice(devs))
    head = repo.main_sha
    sim.at(start - timedelta(days=5), lambda t: pipeline.on_push(t, head, founder, None, {}))


def _abandoned_deployment(t: datetime, world: World, repo: Repository, creator: User) -> None:
    """A deployment somebody created by hand and that never got a status."""
    ops.create_deployment(
        world,
        repo,
        ref=repo.default_branch,
        sha=repo.main_sha,
        environment="staging",
        creator=creator,
        at=t,
        description="Manual deploy (abandoned)",
    )


def _branch_only(
    t: datetime, world: World, repo: Repository, author: User, branch: str, title: str, commit_at: datetime
) -> None:
    """Work started on a branch, no pull request yet."""
    ops.create_branch(world, repo, branch, repo.main_sha, t, author)
    commit = ops.create_commit(
        world, repo, author=author, committer=author, message=title, at=commit_at, parents=(repo.main_sha,)
    )
    ops.push(world, repo, branch, [commit], commit_at, author)
