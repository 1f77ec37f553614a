"""The command line and the environment are generated from Config: parity, precedence, errors."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import attrs
import pytest

from kic_trio import Config, ConfigError
from kic_trio._cli import flags_markdown, main
from kic_trio.config import config_fields, config_from_args, config_from_mapping, env_of, flag_of

ROOT = pathlib.Path(__file__).resolve().parents[2]

# A value, as a command-line string, for every kind of field, and what it must become.
SAMPLES = {
    "str": ("kong/admin", "kong/admin"),
    "bool": ("false", False),
    "int": ("7", 7),
    "float": ("1.5", 1.5),
    "duration": ("1m30s", 90.0),
    "list": ("a,b", ("a", "b")),
    "tristate": ("false", False),
}


def test_empty_argv_is_exactly_config() -> None:
    assert config_from_args([], environ={}) == Config()


def _sample(field: attrs.Attribute[object]) -> tuple[str, object]:
    kind = field.metadata["kind"]
    if kind == "gates":
        return "RewriteURIs=true", None
    if field.name == "ingress_class":
        return "other", "other"
    return SAMPLES[kind]


@pytest.mark.parametrize("field", config_fields(), ids=lambda f: f.name)
def test_one_flag_and_one_env_var_per_field(field: attrs.Attribute[object]) -> None:
    raw, expected = _sample(field)
    from_flag = config_from_args([f"{flag_of(field.name)}={raw}"], environ={})
    from_env = config_from_args([], environ={env_of(field.name): raw})
    assert getattr(from_flag, field.name) == getattr(from_env, field.name)
    if expected is not None:
        assert getattr(from_flag, field.name) == expected
    else:
        assert from_flag.feature_gates["RewriteURIs"] is True
    # nothing else moved
    others = {f.name for f in config_fields()} - {field.name}
    for name in others:
        assert getattr(from_flag, name) == getattr(Config(), name), name


def test_help_lists_every_flag() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "kic_trio", "run", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for f in config_fields():
        assert flag_of(f.name) in out, f.name


def test_flag_wins_over_env() -> None:
    cfg = config_from_args(["--ingress-class=flag"], environ={"CONTROLLER_INGRESS_CLASS": "env"})
    assert cfg.ingress_class == "flag"


def test_bool_flag_forms() -> None:
    assert config_from_args(["--kong-admin-tls-skip-verify"], environ={}).kong_admin_tls_skip_verify is True
    assert config_from_args(["--kong-admin-tls-skip-verify=true"], environ={}).kong_admin_tls_skip_verify is True
    assert config_from_args(["--emit-kubernetes-events=false"], environ={}).emit_kubernetes_events is False


def test_list_flags_repeat_or_split() -> None:
    cfg = config_from_args(
        ["--kong-admin-url=http://a:8001", "--kong-admin-url", "http://b:8001,http://c:8001"], environ={}
    )
    assert cfg.kong_admin_url == ("http://a:8001", "http://b:8001", "http://c:8001")
    env = config_from_args([], environ={"CONTROLLER_WATCH_NAMESPACE": "one,two"})
    assert env.watch_namespace == ("one", "two")


def test_pod_env_fills_pod_fields() -> None:
    cfg = config_from_args([], environ={"POD_NAME": "kic-0", "POD_NAMESPACE": "kong"})
    assert (cfg.pod_name, cfg.pod_namespace) == ("kic-0", "kong")


def test_bad_value_names_the_flag() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_args(["--proxy-sync-seconds=soon", "--emit-kubernetes-events=maybe"], environ={})
    flags = {p[1] for p in info.value.problems}
    assert flags == {"--proxy-sync-seconds", "--emit-kubernetes-events"}


def test_command_exits_nonzero_naming_the_flag() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kic_trio", "run", "--log-level=bogus"], capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert "--log-level" in proc.stderr


def test_unknown_flag_is_an_error() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_args(["--no-such-flag=1"], environ={})
    assert "--no-such-flag" in str(info.value)


def test_config_file_mapping(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text("ingress-class: internal\nkong_admin_url: [http://k:8001]\nproxy_sync_seconds: 1\nsync_period: 5m\n")
    cfg = config_from_args([f"--config={path}", "--proxy-sync-seconds=2"], environ={})
    assert cfg.ingress_class == "internal"
    assert cfg.kong_admin_url == ("http://k:8001",)
    assert cfg.proxy_sync_seconds == 2.0  # the flag wins over the file
    assert cfg.sync_period == 300.0


def test_mapping_errors_name_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_mapping({"ingres_class": "x", "kong_admin_init_retries": "lots"})
    text = str(info.value)
    assert "ingres_class" in text
    assert "kong_admin_init_retries" in text


def test_config_from_mapping_method() -> None:
    assert Config.from_mapping({"ingress_class": "x"}).ingress_class == "x"


def test_readme_flag_table_is_current() -> None:
    readme = (ROOT / "README.md").read_text()
    begin, end = "<!-- flags:begin -->\n", "<!-- flags:end -->"
    assert begin in readme and end in readme, "README lacks the generated flag table markers"
    table = readme.split(begin, 1)[1].split(end, 1)[0]
    assert table == flags_markdown(), "README flag table is stale: run `kic-trio flags` and paste it"


def test_version_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert json.loads(capsys.readouterr().out)["release"]
