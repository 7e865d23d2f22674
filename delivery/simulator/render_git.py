"""GitHub-shaped JSON for git objects: commits, branches, refs, tags and comparisons."""

from __future__ import annotations

import hashlib

from .models import Branch, Commit, GitTagObject, Repository, Tag
from .render import Json, Renderer, iso, node


class GitRenderer:
    def __init__(self, renderer: Renderer) -> None:
        self.r = renderer

    def commit(self, repo: Repository, commit: Commit) -> Json:
        """The Commit shape used by lists."""
        api, html = self.r.repo_api(repo), self.r.repo_html(repo)
        return {
            "sha": commit.sha,
            "node_id": node("C", commit.sha[:20]),
            "url": f"{api}/commits/{commit.sha}",
            "html_url": f"{html}/commit/{commit.sha}",
            "comments_url": f"{api}/commits/{commit.sha}/comments",
            "commit": {
                "author": {"name": commit.author_name, "email": commit.author_email, "date": iso(commit.authored_at)},
                "committer": {
                    "name": commit.committer_name,
                    "email": commit.committer_email,
                    "date": iso(commit.committed_at),
                },
                "message": commit.message,
                "tree": {"sha": commit.tree_sha, "url": f"{api}/git/trees/{commit.tree_sha}"},
                "url": f"{api}/git/commits/{commit.sha}",
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "author": self.r.user(commit.author),
            "committer": self.r.user(commit.committer),
            "parents": [
                {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{html}/commit/{p}"} for p in commit.parents
            ],
        }

    def commit_detail(self, repo: Repository, commit: Commit) -> Json:
        """``GET /commits/{ref}``: adds stats and files."""
        data = dict(self.commit(repo, commit))
        files = commit.files or ("README.md",)
        adds, dels = _split(commit.additions, len(files)), _split(commit.deletions, len(files))
        data["stats"] = {
            "additions": commit.additions,
            "deletions": commit.deletions,
            "total": commit.additions + commit.deletions,
        }
        data["files"] = [self._file(repo, commit, name, a, d) for name, a, d in zip(files, adds, dels, strict=True)]
        return data

    def _file(self, repo: Repository, commit: Commit, name: str, additions: int, deletions: int) -> Json:
        html = self.r.repo_html(repo)
        return {
            "sha": hashlib.sha1(f"{commit.sha}:{name}".encode(), usedforsecurity=False).hexdigest(),
            "filename": name,
            "status": "modified",
            "additions": additions,
            "deletions": deletions,
            "changes": additions + deletions,
            "blob_url": f"{html}/blob/{commit.sha}/{name}",
            "raw_url": f"{html}/raw/{commit.sha}/{name}",
            "contents_url": f"{self.r.repo_api(repo)}/contents/{name}?ref={commit.sha}",
            "patch": f"@@ -1,{deletions} +1,{additions} @@",
        }

    def branch(self, repo: Repository, branch: Branch) -> Json:
        url = f"{self.r.repo_api(repo)}/commits/{branch.sha}"
        return {"name": branch.name, "commit": {"sha": branch.sha, "url": url}, "protected": branch.protected}

    def tag(self, repo: Repository, tag: Tag) -> Json:
        api = self.r.repo_api(repo)
        return {
            "name": tag.name,
            "commit": {"sha": tag.sha, "url": f"{api}/commits/{tag.sha}"},
            "zipball_url": f"{api}/zipball/refs/tags/{tag.name}",
            "tarball_url": f"{api}/tarball/refs/tags/{tag.name}",
            "node_id": node("REF", f"{repo.id}:refs/tags/{tag.name}"),
        }

    def ref(self, repo: Repository, ref: str, sha: str, kind: str = "commit") -> Json:
        """``ref`` is the full name, e.g. ``refs/heads/main``."""
        api = self.r.repo_api(repo)
        target = f"{api}/git/tags/{sha}" if kind == "tag" else f"{api}/git/commits/{sha}"
        return {
            "ref": ref,
            "node_id": node("REF", f"{repo.id}:{ref}"),
            "url": f"{api}/git/{ref}",
            "object": {"type": kind, "sha": sha, "url": target},
        }

    def all_refs(self, repo: Repository) -> list[tuple[str, str, str]]:
        """(full ref, sha, object type), sorted by name like GitHub."""
        refs = [(f"refs/heads/{b.name}", b.sha, "commit") for b in repo.branches.values()]
        refs += [(f"refs/tags/{t.name}", t.object_sha, t.object_type) for t in repo.tags.values()]
        refs.sort()
        return refs

    def tag_object(self, repo: Repository, obj: GitTagObject) -> Json:
        api = self.r.repo_api(repo)
        kind = "commits" if obj.object_type == "commit" else "tags"
        target = f"{api}/git/{kind}/{obj.object_sha}"
        return {
            "node_id": node("TAG", obj.sha[:20]),
            "tag": obj.tag,
            "sha": obj.sha,
            "url": f"{api}/git/tags/{obj.sha}",
            "message": obj.message,
            "tagger": {"date": iso(obj.tagged_at), "name": obj.tagger_name, "email": obj.tagger_email},
            "object": {"sha": obj.object_sha, "type": obj.object_type, "url": target},
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        }

    def compare(
        self,
        repo: Repository,
        base: str,
        head: str,
        base_commit: Commit,
        merge_base: Commit,
        commits: list[Commit],
        ahead: int,
        behind: int,
    ) -> Json:
        status = (
            "identical"
            if not ahead and not behind
            else "ahead"
            if not behind
            else "behind"
            if not ahead
            else "diverged"
        )
        html = f"{self.r.repo_html(repo)}/compare/{base}...{head}"
        return {
            "url": f"{self.r.repo_api(repo)}/compare/{base}...{head}",
            "html_url": html,
            "permalink_url": f"{self.r.repo_html(repo)}/compare/{base_commit.sha[:7]}...{head}",
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "base_commit": self.commit(repo, base_commit),
            "merge_base_commit": self.commit(repo, merge_base),
            "status": status,
            "ahead_by": ahead,
            "behind_by": behind,
            "total_commits": len(commits),
            "commits": [self.commit(repo, c) for c in commits],
            "files": [],
        }


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]
