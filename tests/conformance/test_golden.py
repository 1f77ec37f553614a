"""Golden conformance: upstream's cases (semantic match) and our own cases (exact match).

Upstream cases live in ``../shared/conformance/kic-golden`` relative to the repository root; the
test skips with a reason when that folder is absent. Our own cases are
``tests/conformance/cases/<name>/{in.yaml,out.yaml}`` (optional ``settings.yaml`` with
TranslatorOptions fields). Regenerate ours after a deliberate change with
``KIC_TRIO_UPDATE_GOLDEN=1 pytest tests/conformance`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from _compare import canonical, diff
from _kong import available, kong_errors
from _schema import schema_errors, validator

from kic_trio.translator import TranslatorOptions, load_manifests, translate_objects

ROOT = Path(__file__).resolve().parents[2]
UPSTREAM = (ROOT / ".." / "shared" / "conformance" / "kic-golden").resolve()
CASES = Path(__file__).parent / "cases"
UPDATE = os.environ.get("KIC_TRIO_UPDATE_GOLDEN") == "1"

upstream_cases = sorted(p.name for p in UPSTREAM.iterdir()) if UPSTREAM.is_dir() else []
own_cases = sorted(p.name for p in CASES.iterdir() if p.is_dir()) if CASES.is_dir() else []


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason=f"upstream golden cases not found at {UPSTREAM}")
@pytest.mark.parametrize("case", upstream_cases)
def test_upstream_golden(case: str) -> None:
    folder = UPSTREAM / case
    # upstream settings: class kong, FillIDs on, cluster domain cluster.local
    opts = TranslatorOptions(ingress_class="kong", cluster_domain="cluster.local")
    result = translate_objects(load_manifests([folder / "in.yaml"]), opts)
    expected = yaml.safe_load((folder / "default_golden.yaml").read_text())
    problems = diff(canonical(expected), canonical(result.config))
    assert not problems, "\n".join(problems)


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


@pytest.mark.skipif(validator() is None, reason="../shared/kong/kong_json_schema.json not found")
@pytest.mark.parametrize(
    "folder",
    [UPSTREAM / c / "in.yaml" for c in upstream_cases] + [CASES / c / "in.yaml" for c in own_cases],
    ids=[f"upstream-{c}" for c in upstream_cases] + own_cases,
)
def test_output_is_schema_valid(folder: Path) -> None:
    settings = _settings(folder.parent) if folder.parent.parent == CASES else TranslatorOptions()
    result = translate_objects(load_manifests([folder]), settings)
    errors = schema_errors(result.config)
    assert not errors, "\n".join(errors)


@pytest.mark.skipif(
    not available(), reason="Kong's schema not found: FakeKong's validator unavailable"
)
@pytest.mark.parametrize(
    "folder",
    [UPSTREAM / c / "in.yaml" for c in upstream_cases] + [CASES / c / "in.yaml" for c in own_cases],
    ids=[f"upstream-{c}" for c in upstream_cases] + own_cases,
)
def test_output_is_accepted_by_fake_kong(folder: Path) -> None:
    settings = _settings(folder.parent) if folder.parent.parent == CASES else TranslatorOptions()
    result = translate_objects(load_manifests([folder]), settings)
    errors = kong_errors(result.config)
    assert not errors, "\n".join(errors)
