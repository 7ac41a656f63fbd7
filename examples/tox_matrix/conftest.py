"""``project/`` is a project of its own, with its own ``tox.ini`` settings: the
repository's test run leaves its tests to ``test_tox_matrix.py``, which runs
them from that directory, as tox does.  Run from ``project/`` itself, this
hook does nothing."""

from pathlib import Path

PROJECT = Path(__file__).parent / "project"


def pytest_ignore_collect(collection_path, config):
    if collection_path == PROJECT and config.rootpath != PROJECT:
        return True
    return None
