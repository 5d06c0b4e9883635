"""What a submission says about where it came from: the OS, Python, this CLI's version,
and the git remote, branch and commit of the current directory."""
from __future__ import annotations

import platform
import subprocess
import urllib.parse
from typing import Any

from pilot_feedback_cli import __version__


def gather() -> dict[str, Any]:
    found: dict[str, Any] = {
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "cli_version": __version__,
    }
    remote = _git("config", "--get", "remote.origin.url")
    for key, value in (("git_remote", remote and without_credentials(remote)),
                       ("git_branch", _git("rev-parse", "--abbrev-ref", "HEAD")),
                       ("git_commit", _git("rev-parse", "HEAD"))):
        if value:
            found[key] = value
    return found


def without_credentials(remote: str) -> str:
    """A remote's URL without the user and password some clones carry in it."""
    parts = urllib.parse.urlsplit(remote)
    if not parts.scheme or not parts.netloc or "@" not in parts.netloc:
        return remote  # a path, or scp-like git@host:owner/repo (the user is no secret)
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None
