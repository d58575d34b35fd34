"""The scale model's arithmetic: shards appear where a limit is crossed, and only there."""

from __future__ import annotations

from benchmarks.scale_model import Load, model


def _line(lines: list[str], start: str) -> str:
    return next(line for line in lines if line.startswith(start))


def test_a_million_mailboxes_needs_a_second_change_queue_and_one_storage_account() -> None:
    lines = model(Load(1_000_000, 1_000, 20, 5))
    assert _line(lines, "changes:") == "changes: 231/s on average, 1,157/s at peak"
    assert _line(lines, "queue hc-changes").endswith("SHARD; plan 2 queue(s) by tenant hash")
    assert "plan 1 account(s)" in _line(lines, "Storage:") and "SHARD" not in _line(lines, "Storage:")
    assert "OVER" not in _line(lines, "Graph, per app")


def test_five_million_mailboxes_shard_storage_and_cross_graph_s_app_limit() -> None:
    lines = model(Load(5_000_000, 3_000, 20, 5))
    assert "SHARD; plan 4 account(s)" in _line(lines, "Storage:")
    assert "OVER: lengthen the catch-up and presence periods" in _line(lines, "Graph, per app")


def test_a_small_deployment_crosses_nothing_and_costs_little() -> None:
    lines = model(Load(5_000, 5, 40, 8))
    assert not [line for line in lines if "SHARD" in line or "OVER" in line]
    total = float(_line(lines, "  total:").split()[1].replace(",", ""))
    assert 0 < total < 100
