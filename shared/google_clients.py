"""Google API clients over REST: one HTTPS request per call, no gRPC channel to set
up in a cold start. An endpoint given in the settings is a local stand-in of the
same API, reached without credentials; otherwise Google's, with the function's
own service account."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


def rest_client(client_class: Callable[..., Any], endpoint: str) -> Any:
    if not endpoint:
        return client_class(transport="rest")
    from google.auth.credentials import AnonymousCredentials

    return client_class(transport="rest", credentials=AnonymousCredentials(), client_options={"api_endpoint": endpoint})
