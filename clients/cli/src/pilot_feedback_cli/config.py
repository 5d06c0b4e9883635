"""Where the API is and who calls it: PILOT_FEEDBACK_URL and PILOT_FEEDBACK_TOKEN, or else
what `pilot-feedback login` stored in the user's config directory (mode 0600).

Tokens are kept per host, as GitHub's `gh` keeps them: by the API's origin (scheme, host
and port), so that a token goes only to the host it was saved for, whatever address
PILOT_FEEDBACK_URL names. The last login's address is the default one:

    {"url": "https://feedback.example.com/api/v1",
     "hosts": {"https://feedback.example.com": {"token": "pfk_..."}}}
"""
from __future__ import annotations

import json
import os
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

APP = "pilot-feedback"
URL_VARIABLE = "PILOT_FEEDBACK_URL"
TOKEN_VARIABLE = "PILOT_FEEDBACK_TOKEN"
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Settings:
    url: str
    token: str | None


def path() -> Path:
    return Path(click.get_app_dir(APP)) / "config.json"


def origin(url: str) -> str:
    """The API's origin, as browsers compare them: scheme, host and port (the default port left out)."""
    parts = urllib.parse.urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(url)
        port = parts.port  # a ValueError too when it is no number from 0 to 65535
    except ValueError:
        raise click.UsageError(f"{url!r} is not an http:// or https:// address, such as "
                               "https://feedback.example.com/api/v1.") from None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{scheme}://{host}" + (f":{port}" if port not in (None, DEFAULT_PORTS[scheme]) else "")


def stored() -> dict[str, Any]:
    """The config file: {"url": the default address, "hosts": {origin: {"token": ...}}}."""
    try:
        found = json.loads(path().read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{path()} cannot be read ({exc}): run `pilot-feedback login` again.") from None
    if not isinstance(found, dict):
        return {}
    if "hosts" not in found and found.get("url") and found.get("token"):
        # Written before tokens were kept per host: its one token belongs to its address's host.
        return {"url": found["url"], "hosts": {origin(found["url"]): {"token": found["token"]}}}
    return found


def _saved_token(saved: dict[str, Any], url: str) -> str | None:
    return (saved.get("hosts") or {}).get(origin(url), {}).get("token") or None


def address(saved: dict[str, Any]) -> str:
    """PILOT_FEEDBACK_URL, or else the last login's address."""
    url = os.environ.get(URL_VARIABLE) or saved.get("url")
    if not url:
        raise click.UsageError(
            f"No API address: set {URL_VARIABLE} (such as http://127.0.0.1:8080/api/v1) or run `pilot-feedback login`.")
    return url.rstrip("/")


def load() -> Settings:
    """The address, and the token to send there: PILOT_FEEDBACK_TOKEN if set (it goes wherever
    the address points), or else the one saved for the address's origin, if any."""
    saved = stored()
    url = address(saved)
    return Settings(url, os.environ.get(TOKEN_VARIABLE) or _saved_token(saved, url))


def login_hint(url: str) -> str:
    return (f"No token is saved for {origin(url)}: run `pilot-feedback login --url {url}`, "
            f"or set {TOKEN_VARIABLE}.")


def save(url: str, token: str) -> Path:
    """Keep the token for the address's origin, and the address as the default one."""
    url = url.rstrip("/")
    hosts = {**(stored().get("hosts") or {}), origin(url): {"token": token}}
    return _write_private({"url": url, "hosts": hosts})


def forget(url: str) -> bool:
    """Drop the token of the address's origin (the file, when it was the last); whether there was one."""
    saved = stored()
    hosts = dict(saved.get("hosts") or {})
    if hosts.pop(origin(url), None) is None:
        return False
    if not hosts:
        path().unlink()
        return True
    default = saved.get("url")
    _write_private({**({"url": default} if default and origin(default) in hosts else {}), "hosts": hosts})
    return True


def _write_private(doc: dict[str, Any]) -> Path:
    """Write the config atomically, readable by the user alone: a temporary file in the same
    directory, then os.replace (which Windows has too, unlike os.fchmod). mkstemp makes the
    file 0600 where the OS has file modes, so an older file's wider rights go with it; on
    Windows the user's own profile directory keeps it private."""
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".config.json.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(doc, out, indent=2)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise
    return target
