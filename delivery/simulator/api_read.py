"""GET handlers: organization, people, repositories, pull requests and git data."""

from __future__ import annotations

from urllib.parse import unquote

from .api_base import ApiBase, ApiError, Request, Result, invalid, not_found, parse_time
from .models import Commit, PullRequest, Repository, User


class ReadApi(ApiBase):
    # -- organization ----------------------------------------------------------------------------
    def get_org(self, req: Request) -> Result:
        self.org_check(req)
        return Result(200, self.r.org_full())

    def list_org_repos(self, req: Request) -> Result:
        self.org_check(req)
        sort = req.q("sort", "created")
        direction = req.q("direction", "asc" if sort == "full_name" else "desc")
        key = {"updated": lambda r: r.updated_at, "pushed": lambda r: r.pushed_at, "full_name": lambda r: r.name}.get(
            sort or "", lambda r: r.created_at
        )
        repos = sorted(self.world.repos.values(), key=key, reverse=direction == "desc")
        return self.page_of(req, repos, self.r.repository)

    def list_members(self, req: Request) -> Result:
        self.org_check(req)
        role = req.q("role", "all")
        members = [u for u in self.world.members if role == "all" or u.role == role]
        return self.page_of(req, members, self.r.user)

    def check_member(self, req: Request) -> Result:
        self.org_check(req)
        user = self.world.user(req.params["username"])
        if user is None or not user.is_member:
            raise ApiError(404, "User does not exist or is not a member of the organization")
        return Result(204)

    def list_teams(self, req: Request) -> Result:
        self.org_check(req)
        return self.page_of(req, self.world.teams, self.r.team)

    def list_team_members(self, req: Request) -> Result:
        self.org_check(req)
        team = next((t for t in self.world.teams if t.slug == req.params["team_slug"]), None)
        if team is None:
            raise not_found()
        return self.page_of(req, team.members, self.r.user)

    def rate_limit(self, req: Request) -> Result:
        assert req.rate is not None
        core = req.rate.as_json()
        other = {"limit": 30, "used": 0, "remaining": 30, "reset": core["reset"]}
        graphql = {"limit": req.rate.limit, "used": 0, "remaining": req.rate.limit, "reset": core["reset"]}
        if self.graphql_rate is not None:
            graphql = self.graphql_rate.peek(req.user.id if req.user is not None else "anonymous").as_json()
        return Result(200, {"resources": {"core": core, "search": other, "graphql": graphql}, "rate": core})

    # -- the authenticated user ------------------------------------------------------------------
    def _me(self, req: Request) -> User:
        if req.user is None:
            raise ApiError(
                401,
                "Requires authentication",
                documentation_url="https://docs.github.com/rest/users/users#get-the-authenticated-user",
            )
        return req.user

    def get_user(self, req: Request) -> Result:
        return Result(200, self.r.private_user(self._me(req)))

    def list_emails(self, req: Request) -> Result:
        return self.page_of(req, self.r.emails(self._me(req)), lambda e: e)

    def get_membership(self, req: Request) -> Result:
        me = self._me(req)
        self.org_check(req)
        if not (me.is_member or me is self.world.service_account):
            raise not_found()
        return Result(200, self.r.membership(me))

    # -- repositories & pull requests ------------------------------------------------------------
    def get_repo(self, req: Request) -> Result:
        return Result(200, self.r.repository(self.repo_of(req)))

    def list_pulls(self, req: Request) -> Result:
        repo = self.repo_of(req)
        state = req.q("state", "open")
        if state not in ("open", "closed", "all"):
            raise invalid("Validation Failed", errors=[{"resource": "Issue", "field": "state", "code": "invalid"}])
        sort = req.q("sort", "created")
        if sort not in ("created", "updated", "popularity", "long-running"):
            sort = "created"
        direction = req.q("direction") or ("desc" if sort == "created" else "asc")
        pulls = self.world.pulls(repo, state or "open", sort or "created", direction)
        head, base = req.q("head"), req.q("base")
        if head or base:
            ref = head.split(":", 1)[-1] if head else None
            pulls = [p for p in pulls if (ref is None or p.head_ref == ref) and (base is None or p.base_ref == base)]
        return self.page_of(req, pulls, lambda p: self.r.pull(repo, p, full=False))

    def _pull(self, req: Request) -> tuple[Repository, PullRequest]:
        repo = self.repo_of(req)
        pr = repo.pulls.get(self.int_param(req, "pull_number"))
        if pr is None:
            raise not_found()
        return repo, pr

    def get_pull(self, req: Request) -> Result:
        repo, pr = self._pull(req)
        return Result(200, self.r.pull(repo, pr, full=True))

    def list_pull_commits(self, req: Request) -> Result:
        repo, pr = self._pull(req)
        commits = [repo.commits[s] for s in pr.commit_shas[:250]]
        return self.page_of(req, commits, lambda c: self.git.commit(repo, c))

    def list_pull_reviews(self, req: Request) -> Result:
        repo, pr = self._pull(req)
        return self.page_of(req, pr.reviews, lambda rv: self.r.review(repo, pr, rv))

    # -- git -------------------------------------------------------------------------------------
    def _resolve(self, repo: Repository, ref: str, status: int = 404) -> Commit:
        sha = self.world.resolve_ref(repo, ref)
        if sha is None or sha not in repo.commits:
            raise ApiError(status, f"No commit found for SHA: {ref}")
        return repo.commits[sha]

    def list_commits(self, req: Request) -> Result:
        repo = self.repo_of(req)
        head = self._resolve(repo, req.q("sha") or repo.default_branch)
        commits = self.world.reachable(repo, head.sha)
        since, until, author = parse_time(req.q("since")), parse_time(req.q("until")), req.q("author")
        if since or until or author:
            commits = [
                c
                for c in commits
                if (since is None or c.committed_at >= since)
                and (until is None or c.committed_at <= until)
                and (author is None or (c.author is not None and c.author.login == author) or c.author_email == author)
            ]
        return self.page_of(req, commits, lambda c: self.git.commit(repo, c))

    def get_commit(self, req: Request) -> Result:
        repo = self.repo_of(req)
        commit = self._resolve(repo, unquote(req.params["ref"]), status=422)
        return Result(200, self.git.commit_detail(repo, commit))

    def list_branches(self, req: Request) -> Result:
        repo = self.repo_of(req)
        branches = sorted(repo.branches.values(), key=lambda b: b.name)
        protected = req.q("protected")
        if protected in ("true", "false"):
            branches = [b for b in branches if b.protected == (protected == "true")]
        return self.page_of(req, branches, lambda b: self.git.branch(repo, b))

    def list_tags(self, req: Request) -> Result:
        repo = self.repo_of(req)
        tags = self.world.cached(repo, "tags_newest_first", lambda: list(reversed(repo.tags.values())))
        return self.page_of(req, tags, lambda t: self.git.tag(repo, t))

    def matching_refs(self, req: Request) -> Result:
        repo = self.repo_of(req)
        prefix = "refs/" + unquote(req.params["ref"]).removeprefix("refs/")
        refs = [r for r in self.git.all_refs(repo) if r[0].startswith(prefix)]
        return Result(200, [self.git.ref(repo, name, sha, kind) for name, sha, kind in refs])

    def get_ref(self, req: Request) -> Result:
        repo = self.repo_of(req)
        wanted = "refs/" + unquote(req.params["ref"]).removeprefix("refs/")
        for name, sha, kind in self.git.all_refs(repo):
            if name == wanted:
                return Result(200, self.git.ref(repo, name, sha, kind))
        raise not_found()

    def compare(self, req: Request) -> Result:
        repo = self.repo_of(req)
        basehead = unquote(req.params["basehead"])
        if "..." not in basehead:
            raise not_found()
        base_ref, head_ref = (part.split(":", 1)[-1] for part in basehead.split("...", 1))
        base, head = self._resolve(repo, base_ref), self._resolve(repo, head_ref)
        base_set, head_set = self.world.reachable_set(repo, base.sha), self.world.reachable_set(repo, head.sha)
        ahead = [c for c in self.world.reachable(repo, head.sha) if c.sha not in base_set]
        behind = sum(1 for s in base_set if s not in head_set)
        merge_base = next((c for c in self.world.reachable(repo, head.sha) if c.sha in base_set), base)
        ahead.reverse()  # oldest first, like GitHub
        shown = ahead[:250]
        if req.q("per_page") or req.q("page"):
            shown, headers = self.paginate(req, ahead)  # type: ignore[assignment]
        else:
            headers = []
        body = self.git.compare(repo, base_ref, head_ref, base, merge_base, list(shown), len(ahead), behind)
        body["total_commits"] = len(ahead)
        return Result(200, body, headers)

    def list_releases(self, req: Request) -> Result:
        repo = self.repo_of(req)
        return self.page_of(req, list(reversed(repo.releases)), lambda rel: self.delivery.release(repo, rel))
