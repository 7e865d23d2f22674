"""The names GitHub gives a webhook delivery's parts: its headers and its events, each written once here (the tests
keep GitHub's literal strings: they pin what GitHub sends)."""

from __future__ import annotations

from enum import StrEnum

EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"  # the delivery's GUID, the same for its redeliveries
SIGNATURE_HEADER = "X-Hub-Signature-256"
HOOK_ID_HEADER = "X-GitHub-Hook-ID"


class GitHubEvent(StrEnum):
    """The events Trunkline handles, and the ping GitHub sends when a hook is made."""

    PING = "ping"
    PULL_REQUEST = "pull_request"
    PULL_REQUEST_REVIEW = "pull_request_review"
    PUSH = "push"
    CREATE = "create"
    DELETE = "delete"
    DEPLOYMENT = "deployment"
    DEPLOYMENT_STATUS = "deployment_status"
    WORKFLOW_RUN = "workflow_run"
    RELEASE = "release"
    REPOSITORY = "repository"
    INSTALLATION = "installation"
    INSTALLATION_REPOSITORIES = "installation_repositories"
