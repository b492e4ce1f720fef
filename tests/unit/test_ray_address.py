"""`--ray ADDRESS` is checked before Ray is asked: a malformed address or one nothing listens on is exit 2
with a message (the cluster tests start a real one: tests/integration/test_ray_embed.py)."""

from __future__ import annotations

import socket

import pytest

from taxospec.embeddings.ray_stage import reachable
from taxospec.errors import OptionError


@pytest.mark.parametrize("address", ["cluster", "127.0.0.1", "host:port", ":6379"])
def test_a_malformed_address_is_refused(address: str) -> None:
    with pytest.raises(OptionError, match="give host:port, ray://host:port, auto or local") as raised:
        reachable(address)
    assert raised.value.exit_code == 2


def test_an_address_nothing_listens_on_is_refused_and_one_that_listens_is_not() -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        reachable(f"127.0.0.1:{port}")
        reachable(f"ray://127.0.0.1:{port}")
    with pytest.raises(OptionError, match=f"cannot reach the Ray cluster at 127.0.0.1:{port}"):
        reachable(f"127.0.0.1:{port}")
    reachable("local")
    reachable("auto")


def test_embed_without_a_media_source_says_where_to_point_it(run_cli: object) -> None:
    from ..conftest import EXAMPLES

    demo = EXAMPLES / "synthetic-signals"
    result = run_cli("embed", demo / "spec.yaml", demo / "export.json")  # type: ignore[operator]
    assert result.exit_code == 2 and "say where the media is (--media-root" in result.stderr
    far = run_cli("embed", demo / "spec.yaml", demo / "export.json", "--ls-document-root", demo, "--ray", "x")  # type: ignore[operator]
    assert far.exit_code == 2 and "give host:port" in far.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--encoders", "2"], "--encoders and --gpus-per-encoder need --ray ADDRESS"),
        (["--gpus-per-encoder", "1"], "--encoders and --gpus-per-encoder need --ray ADDRESS"),
        (["--ray", "auto", "--no-embeddings"], "cannot go with --no-embeddings or --embeddings"),
    ],
)
def test_check_refuses_ray_options_that_cannot_apply(run_cli: object, extra: list[str], message: str) -> None:
    from ..conftest import EXAMPLES

    demo = EXAMPLES / "synthetic-signals"
    result = run_cli("check", demo / "spec.yaml", demo / "export.json", "--ls-document-root", demo, *extra)  # type: ignore[operator]
    assert result.exit_code == 2 and message in result.stderr


@pytest.mark.parametrize("command", ["check", "todo"])
def test_an_unreachable_cluster_is_exit_2_before_the_model_loads(run_cli: object, command: str) -> None:
    from ..conftest import EXAMPLES

    demo = EXAMPLES / "synthetic-signals"
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    args = [command, demo / "spec.yaml", demo / "export.json", "--ls-document-root", demo, "--ray", f"127.0.0.1:{port}"]
    result = run_cli(*args)  # type: ignore[operator]
    assert result.exit_code == 2 and f"cannot reach the Ray cluster at 127.0.0.1:{port}" in result.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--encoders", "2"], "--encoders and --gpus-per-encoder need --ray ADDRESS"),
        (["--ray", "auto"], "--ray embeds the labeled data's media: it needs the media options"),
        (["--ray", "auto", "--ls-document-root", "DEMO", "--split", "val"], "no --embeddings and no --split"),
        (["--ray", "auto", "--embeddings", "DEMO/embeddings.npz"], "no --embeddings and no --split"),
    ],
)
def test_todo_refuses_ray_options_that_cannot_apply(run_cli: object, extra: list[str], message: str) -> None:
    from ..conftest import EXAMPLES

    demo = EXAMPLES / "synthetic-signals"
    args = [str(demo) + a[4:] if a.startswith("DEMO") else a for a in extra]
    result = run_cli("todo", demo / "spec.yaml", demo / "export.json", *args)  # type: ignore[operator]
    assert result.exit_code == 2 and message in result.stderr, result.stderr
