"""Kong's CRDs, the Gateway API CRDs and decK's schema, by pinned version, from the Go module proxy.

The control plane installs the CRDs at start and FakeKong validates against the schema. They are
upstream's data files, so they come the way the binaries do: the Go module proxy, at the versions
pinned in :mod:`._versions`, verified against the committed ``assets/go.sum`` (so no checksum
database is needed, only the proxy), and copied into the cache beside the binaries::

    <cache>/assets_.../
        crds/kong/*.yaml          kubernetes-configuration config/crd/ingress-controller(-incubator)
        crds/gateway-api/*.yaml   gateway-api config/crd/experimental (its kustomization's list)
        kong/kong_json_schema.json  go-database-reconciler pkg/file/kong_json_schema.json
        licenses/<module>.LICENSE
        SOURCES.json              what was fetched (module, version, h1 sum); written last

Which files are taken is read from each module's own ``kustomization.yaml``, so the set follows
upstream's install instructions rather than a list of ours. The folder is filled in a temporary
sibling and renamed into place, so a half-finished fetch is never mistaken for a cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from ._build import BuildError
from ._versions import (
    DECK_RECONCILER_VERSION,
    GATEWAY_API_VERSION,
    KONG_CONFIGURATION_VERSION,
    assets_dir,
)

#: The committed go.mod + go.sum that carry the pins and their hashes.
GO_MODULE_DIR = Path(__file__).with_name("assets")

KONG_CONFIGURATION = "github.com/kong/kubernetes-configuration/v2"
GATEWAY_API = "sigs.k8s.io/gateway-api"
DECK_RECONCILER = "github.com/kong/go-database-reconciler"

#: module -> version, the single list every step below reads.
MODULES: dict[str, str] = {
    KONG_CONFIGURATION: KONG_CONFIGURATION_VERSION,
    GATEWAY_API: GATEWAY_API_VERSION,
    DECK_RECONCILER: DECK_RECONCILER_VERSION,
}

#: (module, folder in the module with a kustomization.yaml, destination under ``crds/``).
_CRD_SOURCES = (
    (KONG_CONFIGURATION, "config/crd/ingress-controller", "kong"),
    (KONG_CONFIGURATION, "config/crd/ingress-controller-incubator", "kong"),
    (GATEWAY_API, "config/crd/experimental", "gateway-api"),
)
_SCHEMA_IN_MODULE = "pkg/file/kong_json_schema.json"
_MARKER = "SOURCES.json"


def kong_crd_dir(where: Path | None = None) -> Path:
    return (where or assets_dir()) / "crds" / "kong"


def gateway_api_crd_dir(where: Path | None = None) -> Path:
    return (where or assets_dir()) / "crds" / "gateway-api"


def schema_file(where: Path | None = None) -> Path:
    """Where decK's schema is in the assets folder (it may not have been fetched)."""
    return (where or assets_dir()) / "kong" / "kong_json_schema.json"


def assets_present(where: Path | None = None) -> bool:
    """True when a complete fetch of the current pins is in ``where`` (default: the cache)."""
    marker = (where or assets_dir()) / _MARKER
    try:
        data = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("modules") == MODULES


def crd_dirs(where: Path | None = None) -> list[Path]:
    """The folders of CRDs the control plane installs: Kong's, then the Gateway API's."""
    return [kong_crd_dir(where), gateway_api_crd_dir(where)]


def go_env(gomodcache: str | None = None) -> dict[str, str]:
    """The environment for ``go mod download``: the proxy only, the committed go.sum only.

    * ``GOFLAGS=-mod=readonly``: whatever the caller's GOFLAGS say (``-mod=vendor``,
      ``-modfile=``), the pins' go.sum is used and never rewritten;
    * ``GONOSUMDB``/``GOPRIVATE``/``GONOPROXY`` cleared: no module skips the proxy (there is
      no route to github.com from CI), and every hash is checked against go.sum — which
      holds them all, so the checksum database is never asked;
    * ``GOPROXY`` kept when set (a company mirror), else Go's default proxy;
    * ``GOTOOLCHAIN=local``, ``GOWORK=off``: no toolchain download, no enclosing go.work.
    """
    env = dict(os.environ)
    env.update(
        GOFLAGS="-mod=readonly",
        GONOSUMDB="",
        GOPRIVATE="",
        GONOPROXY="",
        GOTOOLCHAIN="local",
        GOWORK="off",
    )
    proxy = env.get("GOPROXY", "")
    if not proxy or proxy in ("direct", "off"):
        env["GOPROXY"] = "https://proxy.golang.org,direct"
    if gomodcache:
        env["GOMODCACHE"] = gomodcache
    return env


def _parse_json_stream(text: str) -> list[dict[str, Any]]:
    """``go mod download -json`` prints one JSON object per module, back to back."""
    decoder = json.JSONDecoder()
    out: list[dict[str, Any]] = []
    i = 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        obj, i = decoder.raw_decode(text, i)
        if isinstance(obj, dict):
            out.append(obj)


def download_modules(gomodcache: str | None = None) -> dict[str, dict[str, Any]]:
    """``go mod download -json`` of every pinned module; module path -> Go's answer (Dir, Sum).

    Runs in a scratch copy of the committed go.mod/go.sum (the package folder may be read-only).
    """
    if shutil.which("go") is None:
        raise BuildError("the Go toolchain (`go`) is needed to fetch the CRDs and Kong's schema")
    with tempfile.TemporaryDirectory(prefix="kic-trio-assets-") as work:
        for name in ("go.mod", "go.sum"):
            shutil.copyfile(GO_MODULE_DIR / name, Path(work) / name)
        args = [f"{m}@{v}" for m, v in MODULES.items()]
        proc = subprocess.run(
            ["go", "mod", "download", "-json", *args],
            cwd=work,
            env=go_env(gomodcache),
            capture_output=True,
            text=True,
            check=False,
        )
    try:
        answers = _parse_json_stream(proc.stdout)
    except ValueError:
        answers = []
    by_path = {a.get("Path", ""): a for a in answers}
    errors = [f"{p}: {a['Error']}" for p, a in by_path.items() if a.get("Error")]
    missing = [m for m in MODULES if m not in by_path or not by_path[m].get("Dir")]
    if proc.returncode != 0 or errors or missing:
        detail = "\n".join(errors) or proc.stderr.strip()[-2000:] or f"missing: {missing}"
        raise BuildError(
            f"`go mod download` of the pinned assets failed (exit {proc.returncode}):\n{detail}\n"
            "Only the Go module proxy is needed (GOPROXY); check it is reachable."
        )
    return by_path


def _kustomization_files(folder: Path) -> list[Path]:
    """The files a kustomization.yaml lists under ``resources`` (local files only)."""
    doc = yaml.safe_load((folder / "kustomization.yaml").read_text())
    names = (doc.get("resources") or []) if isinstance(doc, dict) else []
    files = [folder / str(n) for n in names if "://" not in str(n)]
    absent = [f for f in files if not f.is_file()]
    if absent:
        raise BuildError(f"{folder}/kustomization.yaml lists missing files: {absent}")
    return files


def _fill(dest: Path, answers: dict[str, dict[str, Any]]) -> None:
    dirs = {m: Path(answers[m]["Dir"]) for m in MODULES}
    for module, sub, into in _CRD_SOURCES:
        target = dest / "crds" / into
        target.mkdir(parents=True, exist_ok=True)
        for f in _kustomization_files(dirs[module] / sub):
            # Only CustomResourceDefinitions (the experimental channel also ships a
            # ValidatingAdmissionPolicy the control plane has no use for).
            docs = [d for d in yaml.safe_load_all(f.read_text()) if isinstance(d, dict)]
            if any(d.get("kind") == "CustomResourceDefinition" for d in docs):
                shutil.copyfile(f, target / f.name)
    schema = dirs[DECK_RECONCILER] / _SCHEMA_IN_MODULE
    json.loads(schema.read_text())  # a real JSON file (go:embed'ed by decK), not a Go string
    (dest / "kong").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(schema, dest / "kong" / schema.name)
    (dest / "licenses").mkdir(exist_ok=True)
    for module, d in dirs.items():
        if (d / "LICENSE").is_file():
            shutil.copyfile(
                d / "LICENSE", dest / "licenses" / f"{module.replace('/', '_')}.LICENSE"
            )
    for p in dest.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)  # the module cache's copies are read-only
    sources = {
        "modules": MODULES,
        "sums": {m: answers[m].get("Sum", "") for m in MODULES},
        "crds": {
            into: sorted(p.name for p in (dest / "crds" / into).iterdir())
            for into in ("kong", "gateway-api")
        },
    }
    (dest / _MARKER).write_text(json.dumps(sources, indent=2, sort_keys=True) + "\n")


def ensure_assets(*, force: bool = False, gomodcache: str | None = None) -> Path:
    """Return the assets folder, fetching the pinned modules first when it is absent.

    Cold: one ``go mod download`` of three small modules (seconds); afterwards a file read.
    """
    dest = assets_dir()
    if assets_present(dest) and not force:
        return dest
    answers = download_modules(gomodcache)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        _fill(tmp, answers)
        if assets_present(dest) and not force:
            return dest  # another process (a parallel test run) got there first
        if dest.exists():
            shutil.rmtree(dest)
        try:
            os.replace(tmp, dest)
        except OSError:
            if not assets_present(dest):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest
