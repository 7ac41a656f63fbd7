"""What every reply of the standalone HTTP APIs (the management port, the
challtestsrv API) obeys, applied where each application answers."""

from __future__ import annotations

from werkzeug.wrappers import Response


def without_type_when_empty(response: Response) -> Response:
    """``response`` without ``Content-Type`` when it has no body.

    RFC 9110 §8.3: Content-Type describes the content; a reply without content
    has nothing to describe, and a client told ``application/json`` may try to
    parse an empty document and fail.  Pebble and pebble-challtestsrv (Go's
    ``net/http`` types only what a handler writes) send none on such replies.
    A HEAD reply keeps the type of the GET it stands for: its body is judged.

    Example: an empty ``200`` from ``/clear-txt`` has ``Content-Length: 0`` and no type.
    """
    if not response.get_data():
        response.headers.pop("Content-Type", None)
    return response
