"""Pieces of ``pytest-acme serve``, the standalone drop-in for Pebble and pebble-challtestsrv."""
