"""The pinned assets (Kong's CRDs, Gateway API CRDs, decK's schema): pins, fetch, offline-of-github.

The fetch tests run the real ``go mod download`` against the Go module proxy (the only network
the project needs) into a fresh module cache, with the checksum database made unreachable: the
committed go.sum is what verifies the modules.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from kic_trio.testing.controlplane import _assets, _versions
from kic_trio.testing.controlplane._build import BuildError

SRC = Path(_assets.__file__).resolve().parents[2]  # src/kic_trio


def test_go_mod_and_go_sum_carry_exactly_the_pins() -> None:
    gomod = (_assets.GO_MODULE_DIR / "go.mod").read_text()
    required = dict(re.findall(r"^\s+(\S+)\s+(v\S+)\s*$", gomod, flags=re.M))
    assert required == _assets.MODULES
    sums = (_assets.GO_MODULE_DIR / "go.sum").read_text().splitlines()
    expected = {f"{m} {v}" for m, v in _assets.MODULES.items()}
    expected |= {f"{m} {v}/go.mod" for m, v in _assets.MODULES.items()}
    assert {line.rsplit(" ", 1)[0] for line in sums} == expected
    assert all(line.rsplit(" ", 1)[1].startswith("h1:") for line in sums)


def test_pins_match_what_upstream_uses() -> None:
    # KIC main 1fa68f864 (the v3.5 line the golden cases come from) pins these two.
    assert _versions.KONG_CONFIGURATION_VERSION == "v2.0.0-alpha.1"
    assert _versions.DECK_RECONCILER_VERSION == "v1.31.6"
    assert _versions.GATEWAY_API_VERSION == "v1.6.1"
    assert _versions.assets_dir().parent == _versions.cache_root()


def test_go_env_uses_the_proxy_and_go_sum_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOFLAGS", "-mod=vendor -modfile=/nowhere/go.mod")
    monkeypatch.setenv("GONOSUMDB", "*")
    monkeypatch.setenv("GOPRIVATE", "github.com/kong/*")
    monkeypatch.setenv("GONOPROXY", "*")
    monkeypatch.setenv("GOPROXY", "direct")
    env = _assets.go_env()
    assert env["GOFLAGS"] == "-mod=readonly"
    assert env["GONOSUMDB"] == env["GOPRIVATE"] == env["GONOPROXY"] == ""
    assert env["GOPROXY"] == "https://proxy.golang.org,direct"
    assert env["GOTOOLCHAIN"] == "local" and env["GOWORK"] == "off"
    monkeypatch.setenv("GOPROXY", "https://mirror.example/go")
    assert _assets.go_env()["GOPROXY"] == "https://mirror.example/go"  # a company mirror is kept


def test_json_stream_of_go_mod_download() -> None:
    text = '{\n\t"Path": "a",\n\t"Dir": "/x"\n}\n{\n\t"Path": "b"\n}\n'
    assert _assets._parse_json_stream(text) == [{"Path": "a", "Dir": "/x"}, {"Path": "b"}]
    assert _assets._parse_json_stream("") == []


def test_nothing_under_src_reads_the_shared_shelf() -> None:
    """DESIGN rule 9: ``../shared`` is the team's shelf, never a run-time input."""
    pattern = re.compile(r"""["']\.\./shared|["']shared["']|/shared/""")
    offenders = [
        f"{p.relative_to(SRC)}:{n}"
        for p in sorted(SRC.rglob("*"))
        if p.is_file() and p.suffix in (".py", ".sh", ".mod", ".toml", ".yaml")
        for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache and module cache; the checksum database unreachable; hostile Go env."""
    if shutil.which("go") is None:
        pytest.fail("the Go toolchain is needed (it builds the control plane too)")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(_versions.ASSETS_DIR_ENV, raising=False)
    monkeypatch.setenv("GOSUMDB", "sum.golang.invalid")  # any lookup would fail
    monkeypatch.setenv("GOFLAGS", "-mod=vendor")
    monkeypatch.setenv("GONOSUMDB", "")
    return tmp_path


def _chmod_tree(path: Path) -> None:
    for p in path.rglob("*"):
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)  # the module cache is read-only; let tmp_path be removed


def test_fetch_into_a_fresh_cache_without_the_checksum_database(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    modcache = fresh / "gomodcache"
    try:
        where = _assets.ensure_assets(gomodcache=str(modcache))
        assert where == _versions.assets_dir() and _assets.assets_present(where)
        kong = sorted(p.name for p in _assets.kong_crd_dir(where).iterdir())
        assert "configuration.konghq.com_kongplugins.yaml" in kong
        assert "incubator.ingress-controller.konghq.com_kongservicefacades.yaml" in kong
        assert len(kong) == 13
        gw = sorted(p.name for p in _assets.gateway_api_crd_dir(where).iterdir())
        assert "gateway.networking.k8s.io_httproutes.yaml" in gw
        # only CRDs: the experimental channel's ValidatingAdmissionPolicy is left out
        assert not any("vap" in n for n in gw)
        for f in [
            *_assets.kong_crd_dir(where).iterdir(),
            *_assets.gateway_api_crd_dir(where).iterdir(),
        ]:
            docs = [d for d in yaml.safe_load_all(f.read_text()) if d]
            assert {d["kind"] for d in docs} == {"CustomResourceDefinition"}, f.name
        schema = json.loads(_assets.schema_file(where).read_text())
        assert schema["$schema"].startswith("http://json-schema.org/draft-04")
        assert "services" in schema["properties"]
        sources = json.loads((where / "SOURCES.json").read_text())
        assert sources["modules"] == _assets.MODULES
        # a second call is a file read: with `go` unfindable it still answers
        monkeypatch.setenv("PATH", "")
        assert _assets.ensure_assets() == where
    finally:
        _chmod_tree(modcache)


def test_a_tampered_go_sum_is_refused(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pins = fresh / "pins"
    pins.mkdir()
    shutil.copyfile(_assets.GO_MODULE_DIR / "go.mod", pins / "go.mod")
    lines = (_assets.GO_MODULE_DIR / "go.sum").read_text().splitlines()
    bad = [
        re.sub(r"h1:\S+", "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", line)
        if line.startswith(_assets.DECK_RECONCILER + " ") and "/go.mod" not in line
        else line
        for line in lines
    ]
    (pins / "go.sum").write_text("\n".join(bad) + "\n")
    monkeypatch.setattr(_assets, "GO_MODULE_DIR", pins)
    modcache = fresh / "gomodcache"
    try:
        with pytest.raises(BuildError, match="go-database-reconciler"):
            _assets.ensure_assets(gomodcache=str(modcache))
        assert not _assets.assets_present()
    finally:
        _chmod_tree(modcache)


def test_control_plane_reads_its_crds_from_the_assets() -> None:
    from kic_trio.testing.controlplane import ControlPlane

    docs = ControlPlane()._crd_documents()
    groups = {d["spec"]["group"] for d in docs}
    assert groups == {
        "configuration.konghq.com",
        "incubator.ingress-controller.konghq.com",
        "gateway.networking.k8s.io",
        "gateway.networking.x-k8s.io",
    }
    assert {d["kind"] for d in docs} == {"CustomResourceDefinition"}


def test_control_plane_without_assets_or_go_says_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kic_trio.testing.controlplane import ControlPlane, ControlPlaneError

    monkeypatch.setenv(_versions.ASSETS_DIR_ENV, str(tmp_path / "none"))
    monkeypatch.setenv("PATH", "")
    with pytest.raises(ControlPlaneError, match="controlplane assets"):
        ControlPlane()._crd_documents()
    with pytest.raises(ControlPlaneError, match="does not exist"):
        ControlPlane(crd_dir=tmp_path / "missing")._crd_documents()
