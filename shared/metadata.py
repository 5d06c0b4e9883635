"""The function's own access token from the metadata server, without google-auth.

Used as the password of IAM database authentication on the direct (private IP)
path, where importing the Cloud SQL connector and google-auth would cost most of
a cold start. Tokens are kept until five minutes before they expire.
"""
from __future__ import annotations

import json
import threading
import time
import urllib.request

from shared.config import settings

TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token"
EARLY_SECONDS = 300

_lock = threading.Lock()
_token: tuple[str, float] | None = None  # the token and when to stop using it


def access_token() -> str:
    global _token
    with _lock:
        if _token is None or _token[1] <= time.monotonic():
            request = urllib.request.Request(f"http://{settings().gce_metadata_host}{TOKEN_PATH}",
                                             headers={"Metadata-Flavor": "Google"})
            with urllib.request.urlopen(request, timeout=5) as response:
                doc = json.load(response)
            _token = (doc["access_token"], time.monotonic() + int(doc["expires_in"]) - EARLY_SECONDS)
        return _token[0]


def forget() -> None:
    global _token
    with _lock:
        _token = None
