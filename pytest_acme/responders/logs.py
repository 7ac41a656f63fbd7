"""The responders' logs: how many entries they keep, and how much of each."""

from __future__ import annotations

from typing import Optional, overload

#: Entries a responder's log keeps (the newest); older ones are dropped and counted.
HISTORY_SIZE = 1000
#: Characters of a path, Host header or name a log entry keeps (a DNS name has at
#: most 253, a challenge path under 100): the rest of a longer one is cut off.
HISTORY_TEXT_LIMIT = 1024


@overload
def clip(text: str) -> str: ...
@overload
def clip(text: None) -> None: ...
@overload
def clip(text: Optional[str]) -> Optional[str]: ...


def clip(text: Optional[str]) -> Optional[str]:
    """``text`` cut to :data:`HISTORY_TEXT_LIMIT` characters, for a log entry."""
    if text is None or len(text) <= HISTORY_TEXT_LIMIT:
        return text
    return text[:HISTORY_TEXT_LIMIT]
