"""Golden conformance: upstream's cases (semantic match) and our own cases (exact match).

Upstream cases are the team's shelf, ``../shared/conformance/kic-golden`` (matched) and
``kic-golden-next`` (open work), relative to the repository root; without ``../shared`` those
tests skip with the reason, and everything else here still runs. Every case runs with default
settings and with every ``<variant>_settings.yaml`` beside it (``feature_flags:``
``ExpressionRoutes`` = Kong's expressions router, ``KongServiceFacade`` = that feature gate).
Upstream cases run through ``kic-trio translate``'s own entry point (:func:`upstream_argv`
gives the flags; one test runs the real command in a subprocess). A case whose objects carry
``test.konghq.com/broken: "true"`` is a fallback case: each such object is passed as
``--assume-refused``, and the golden is the configuration pushed after Kong refused them — the
translation without them and what depends on them, planned by the applier's own fallback
(``kic_trio.kong._fallback``) with upstream's object graph (``kic_trio.kong._dependencies``).

The cases not matched yet are in ONE list, :data:`NOT_YET`: strict expected failures, so a
case that starts passing fails the run until its entry is removed — the list only shrinks.

Our own cases are ``tests/conformance/cases/<name>/{in.yaml,out.yaml}`` (optional
``settings.yaml`` with TranslatorOptions fields). Regenerate ours after a deliberate change with
``KIC_TRIO_UPDATE_GOLDEN=1 pytest tests/conformance`` and review the diff.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from _compare import canonical, diff
from _kong import available, kong_errors
from _schema import MISSING, schema_errors, validator

from kic_trio import _translate_cli
from kic_trio._translate_cli import load_manifests
from kic_trio.kong._parse import CLUSTER_SCOPED
from kic_trio.translator import TranslatorOptions, translate_objects

ROOT = Path(__file__).resolve().parents[2]
SHARED = (ROOT / ".." / "shared" / "conformance").resolve()
UPSTREAM_DIRS = (SHARED / "kic-golden", SHARED / "kic-golden-next")
CASES = Path(__file__).parent / "cases"
UPDATE = os.environ.get("KIC_TRIO_UPDATE_GOLDEN") == "1"
BROKEN = "test.konghq.com/broken"

#: Upstream cases (``folder/case/variant``) not matched yet, each with why. Strict: remove an
#: entry as soon as its work lands (the run fails while a listed case passes).
#: Ingress expression routes are done (translator/_expressions.py); these kinds' are not.
_EXPRESSIONS = (
    "their expression routes (ExpressionRoutes) come with the kind itself; Ingress ones are "
    "done (issue 16)"
)
_GATEWAY_API = "Gateway API routes are not translated yet (issue 15)"
NOT_YET: dict[str, str] = {}


def _upstream_variants() -> Iterator[tuple[str, Path, Path | None]]:
    """(id, case folder, settings file or None for default) for every case and variant."""
    for top in UPSTREAM_DIRS:
        if not top.is_dir():
            continue
        for case in sorted(p for p in top.iterdir() if p.is_dir()):
            yield f"{top.name}/{case.name}/default", case, None
            for settings in sorted(case.glob("*_settings.yaml")):
                variant = settings.name.removesuffix("_settings.yaml")
                yield f"{top.name}/{case.name}/{variant}", case, settings


UPSTREAM_VARIANTS = list(_upstream_variants())
upstream_cases = [
    c for top in UPSTREAM_DIRS if top.is_dir() for c in sorted(top.iterdir()) if c.is_dir()
]
own_cases = sorted(p.name for p in CASES.iterdir() if p.is_dir()) if CASES.is_dir() else []


def upstream_argv(case: Path, settings: Path | None) -> list[str]:
    """The ``kic-trio translate`` flags for an upstream case: upstream's golden settings
    (class ``kong``, FillIDs, ``cluster.local``), the variant's ``feature_flags`` (
    ``ExpressionRoutes`` is Kong's router flavor, which upstream learns from ``GET /``; the
    rest are feature gates), ``--assume-attached`` (upstream loads routes straight into its
    cache) and ``--assume-refused`` for every object annotated broken."""
    flags: Mapping[str, Any] = (
        (yaml.safe_load(settings.read_text()) or {}).get("feature_flags") or {} if settings else {}
    )
    argv = ["-f", str(case / "in.yaml"), "-o", "json", "--no-fail", "--assume-attached"]
    argv += ["--ingress-class", "kong", "--cluster-domain", "cluster.local"]
    if flags.get("ExpressionRoutes"):
        argv += ["--router-flavor", "expressions"]
    gates = ",".join(
        f"{k}={str(bool(v)).lower()}" for k, v in flags.items() if k != "ExpressionRoutes"
    )
    if gates:
        argv += ["--feature-gates", gates]
    for refused in _broken(load_manifests([case / "in.yaml"])):
        argv += ["--assume-refused", refused]
    return argv


def _broken(objects: list[Mapping[str, Any]]) -> list[str]:
    out = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        if str((meta.get("annotations") or {}).get(BROKEN, "")).lower() == "true":
            kind = str(obj.get("kind"))
            if kind in CLUSTER_SCOPED:
                out.append(f"{kind}/{meta['name']}")
            else:
                out.append(f"{kind}/{meta.get('namespace') or 'default'}/{meta['name']}")
    return out


def upstream_output(case: Path, settings: Path | None) -> Any:
    """What ``kic-trio translate`` prints for an upstream case (the fallback for broken objects)."""
    outcome = _translate_cli.run(upstream_argv(case, settings))
    assert outcome.config is not None, "\n".join(outcome.messages)
    return outcome.config


def _variant_params() -> list[Any]:
    out = []
    for vid, case, settings in UPSTREAM_VARIANTS:
        marks = [pytest.mark.xfail(strict=True, reason=NOT_YET[vid])] if vid in NOT_YET else []
        out.append(pytest.param(case, settings, id=vid, marks=marks))
    return out


@pytest.mark.skipif(not UPSTREAM_VARIANTS, reason=f"upstream golden cases not found under {SHARED}")
@pytest.mark.parametrize(("case", "settings"), _variant_params())
def test_upstream_golden(case: Path, settings: Path | None) -> None:
    golden = case / (
        settings.name.replace("_settings.yaml", "_golden.yaml")
        if settings
        else "default_golden.yaml"
    )
    expected = yaml.safe_load(golden.read_text())
    problems = diff(canonical(expected), canonical(upstream_output(case, settings)))
    assert not problems, "\n".join(problems)


_FALLBACK_CASE = SHARED / "kic-golden-next" / "fallback-config-kong-plugin"


@pytest.mark.skipif(
    not _FALLBACK_CASE.is_dir(), reason=f"upstream golden case not found: {_FALLBACK_CASE}"
)
def test_translate_command_prints_the_fallback() -> None:
    """The real command, as a user runs it, prints upstream's fallback for a refused plugin."""
    argv = upstream_argv(_FALLBACK_CASE, None)
    argv.remove("--no-fail")
    done = subprocess.run(
        [sys.executable, "-m", "kic_trio", "translate", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr  # refused objects are failures
    expected = yaml.safe_load((_FALLBACK_CASE / "default_golden.yaml").read_text())
    problems = diff(canonical(expected), canonical(yaml.safe_load(done.stdout)))
    assert not problems, "\n".join(problems)
    assert "left out: KongPlugin default/plugin: Kong refused it" in done.stderr
    assert "left out: Service default/service:" in done.stderr


def test_not_yet_names_real_cases() -> None:
    """Every entry of the expected-failure list is a case that exists (no stale entries)."""
    if not UPSTREAM_VARIANTS:
        pytest.skip(f"upstream golden cases not found under {SHARED}")
    known = {vid for vid, _, _ in UPSTREAM_VARIANTS}
    assert sorted(set(NOT_YET) - known) == []


def _settings(folder: Path) -> TranslatorOptions:
    path = folder / "settings.yaml"
    if not path.exists():
        return TranslatorOptions()
    return TranslatorOptions(**yaml.safe_load(path.read_text()))


def _own_output(folder: Path) -> dict[str, Any]:
    result = translate_objects(load_manifests([folder / "in.yaml"]), _settings(folder))
    return {"config": result.config, "failures": [str(f) for f in result.failures]}


@pytest.mark.parametrize("case", own_cases)
def test_own_golden(case: str) -> None:
    folder = CASES / case
    actual = _own_output(folder)
    out = folder / "out.yaml"
    if UPDATE:
        out.write_text(yaml.safe_dump(actual, sort_keys=True, allow_unicode=True, width=100))
    expected = yaml.safe_load(out.read_text())
    assert actual == expected, "\n".join(diff(expected, actual))


def test_enough_own_cases() -> None:
    assert len(own_cases) >= 30


_INPUTS = [c / "in.yaml" for c in upstream_cases] + [CASES / c / "in.yaml" for c in own_cases]
_INPUT_IDS = [f"upstream-{c.parent.name}/{c.name}" for c in upstream_cases] + own_cases


@pytest.mark.parametrize("folder", _INPUTS, ids=_INPUT_IDS)
def test_output_is_schema_valid(folder: Path) -> None:
    assert validator() is not None, MISSING
    settings = _settings(folder.parent) if folder.parent.parent == CASES else TranslatorOptions()
    result = translate_objects(load_manifests([folder]), settings)
    errors = schema_errors(result.config)
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("folder", _INPUTS, ids=_INPUT_IDS)
def test_output_is_accepted_by_fake_kong(folder: Path) -> None:
    assert available(), MISSING
    settings = _settings(folder.parent) if folder.parent.parent == CASES else TranslatorOptions()
    result = translate_objects(load_manifests([folder]), settings)
    errors = kong_errors(
        result.config,
        enterprise=folder.parent.name.endswith("-ee"),
        router_flavor=settings.router_flavor,
    )
    assert not errors, "\n".join(errors)
