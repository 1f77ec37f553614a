"""The demo's pieces that need no control plane: the folder watch and the start-up log filter."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import trio
import trio.testing

from kic_trio import demo


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("kic_trio.k8s", logging.WARNING, __file__, 1, message, (), None)


def test_only_the_start_up_429_is_kept_out_of_the_demo() -> None:
    quiet = demo._QuietStartup()
    assert not quiet.filter(
        record(
            "<Reflector Ingress>: GET /apis/...: 429 storage is (re)initializing; retrying in 0.4s"
        )
    )
    assert quiet.filter(record("push to http://127.0.0.1:34290 failed: HTTP 400"))


def test_snapshot_sees_yaml_files_only(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("{}")
    (tmp_path / "b.yml").write_text("{}")
    (tmp_path / "notes.txt").write_text("")
    assert sorted(p.name for p in demo.snapshot(tmp_path)) == ["a.yaml", "b.yml"]


def test_object_key_names_kind_namespace_and_name() -> None:
    obj = {"kind": "Ingress", "metadata": {"name": "web", "namespace": "demo"}}
    assert demo.object_key(obj) == ("Ingress", "demo", "web")
    assert demo.object_key({"kind": "IngressClass", "metadata": {"name": "kong"}}) == (
        "IngressClass",
        "",
        "kong",
    )


async def test_watch_folder_calls_back_on_save_add_and_remove(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    manifest = tmp_path / "demo.yaml"
    manifest.write_text("{}")
    changes: list[set[str]] = []
    changed = trio.Event()

    async def on_change() -> None:
        nonlocal changed
        changes.append({p.name for p in demo.snapshot(tmp_path)})
        changed.set()
        changed = trio.Event()

    with trio.fail_after(30):  # virtual seconds (MockClock): the polls cost no real time
        async with trio.open_nursery() as nursery:
            nursery.start_soon(demo.watch_folder, tmp_path, on_change, demo.snapshot(tmp_path))
            await trio.sleep(2)  # several polls, nothing changed
            assert changes == []

            stat = manifest.stat()
            os.utime(manifest, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a save
            await changed.wait()
            (tmp_path / "more.yaml").write_text("{}")
            await changed.wait()
            manifest.unlink()
            await changed.wait()
            nursery.cancel_scope.cancel()
    assert changes == [{"demo.yaml"}, {"demo.yaml", "more.yaml"}, {"more.yaml"}]


async def test_a_save_made_before_the_watch_starts_is_not_missed(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """The demo snapshots before its first apply: an edit while it starts up is re-applied."""
    manifest = tmp_path / "demo.yaml"
    manifest.write_text("{}")
    before_apply = demo.snapshot(tmp_path)
    manifest.write_text("{} # edited while the control plane was starting")
    changed = trio.Event()

    async def on_change() -> None:
        changed.set()

    with trio.fail_after(30):  # virtual seconds
        async with trio.open_nursery() as nursery:
            nursery.start_soon(demo.watch_folder, tmp_path, on_change, before_apply)
            await changed.wait()
            nursery.cancel_scope.cancel()
