"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .labelstudio_server import TOKEN, running


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real Label Studio 1.23.2 for the whole test run (installed into build/ls-venv on first use),
    on a free loopback port with a fresh data folder; stopped by process group at the end."""
    with running(tmp_path_factory.mktemp("label-studio")) as url:
        yield url


@pytest.fixture
def ls_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test server's token in $LABEL_STUDIO_API_KEY, as a user would set it."""
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", TOKEN)
