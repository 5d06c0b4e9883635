"""Which repository a GitHub issue page belongs to, on this deployment's GitHub."""
from __future__ import annotations

import urllib.parse

from shared.config import settings


def web_host() -> str:
    """Where GitHub's pages are: github.com for its API, the server's host for Enterprise Server."""
    host = urllib.parse.urlsplit(settings().github_api_url).netloc
    return "github.com" if host == "api.github.com" else host


def same_repository(issue_url: str, repository: str) -> bool:
    """Whether an issue page belongs to owner/name on this deployment's GitHub (names
    are compared as GitHub does, without regard to case)."""
    parts = urllib.parse.urlsplit(issue_url)
    owner_name = "/".join(parts.path.split("/")[1:3])
    return parts.netloc.lower() == web_host().lower() and owner_name.lower() == repository.lower()
