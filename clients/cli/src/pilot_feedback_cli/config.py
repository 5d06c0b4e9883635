"""Where the API is and who calls it: PILOT_FEEDBACK_URL and PILOT_FEEDBACK_TOKEN, or
else what `pilot-feedback login` stored in the user's config directory (mode 0600)."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import click

APP = "pilot-feedback"
URL_VARIABLE = "PILOT_FEEDBACK_URL"
TOKEN_VARIABLE = "PILOT_FEEDBACK_TOKEN"


@dataclass(frozen=True)
class Settings:
    url: str
    token: str | None


def path() -> Path:
    return Path(click.get_app_dir(APP)) / "config.json"


def stored() -> dict[str, str]:
    try:
        found = json.loads(path().read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{path()} cannot be read ({exc}): run `pilot-feedback login` again.") from None
    return found if isinstance(found, dict) else {}


def load() -> Settings:
    saved = stored()
    url = os.environ.get(URL_VARIABLE) or saved.get("url")
    if not url:
        raise click.UsageError(
            f"No API address: set {URL_VARIABLE} (such as http://127.0.0.1:8080/api/v1) or run `pilot-feedback login`.")
    return Settings(url.rstrip("/"), os.environ.get(TOKEN_VARIABLE) or saved.get("token") or None)


def save(url: str, token: str) -> Path:
    """Store the address and token, readable by the user alone."""
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # the file may have existed with wider rights
    with os.fdopen(fd, "w") as out:
        json.dump({"url": url.rstrip("/"), "token": token}, out)
    return target


def forget() -> bool:
    try:
        path().unlink()
    except FileNotFoundError:
        return False
    return True
