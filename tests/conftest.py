"""Shared fixtures: the real feeds in ../shared/feeds (never copied into the project)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FEEDS = SHARED / "feeds"


@pytest.fixture(scope="session")
def feeds_dir() -> Path:
    """../shared/feeds, or skip: the payloads live beside the repo, never inside it."""
    if not FEEDS.is_dir():
        pytest.skip(f"{FEEDS} is absent: the real feed payloads are not on this machine")
    return FEEDS


@pytest.fixture(scope="session")
def api_samples_dir() -> Path:
    d = SHARED / "api-samples"
    if not d.is_dir():
        pytest.skip(f"{d} is absent")
    return d
