"""``kic-trio translate`` input: duplicate keys and wrongly typed documents are errors on that
document (file, document, line, key), never a silently dropped object or a crash, and the
other documents still translate (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kic_trio._translate_cli import load_manifests, main, read_manifests
from kic_trio.translator import ManifestError

GOOD = """\
apiVersion: v1
kind: Service
metadata: {name: good, namespace: default}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: good, namespace: default}
spec:
  ingressClassName: kong
  rules:
  - host: good.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: good, port: {number: 80}}}}
"""

# Two objects pasted into one document: YAML keeps the last kind/metadata, one object vanishes.
DUPLICATE = """\
apiVersion: v1
kind: Service
metadata: {name: first, namespace: default}
kind: Secret
metadata: {name: second, namespace: default}
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_duplicate_key_names_file_document_line_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path, "m.yaml", GOOD + "---\n" + DUPLICATE)
    objects, problems = read_manifests([path])
    assert [o["metadata"]["name"] for o in objects] == ["good", "good"]
    assert len(problems) == 1
    text = str(problems[0])
    assert str(path) in text and "document 3" in text and "'kind'" in text
    assert problems[0].line == 20  # the second "kind:" (the document starts at line 17)


def test_nested_duplicate_keys_are_found_too(tmp_path: Path) -> None:
    doc = "kind: Service\nmetadata:\n  name: a\n  name: b\n"
    _, problems = read_manifests([_write(tmp_path, "m.yaml", doc)])
    assert [p.reason for p in problems] == ["duplicate key 'name'"]


def test_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    doc = "base: &b {port: 80}\nkind: Service\nmetadata: {name: a}\nspec:\n  <<: *b\n  port: 81\n"
    objects, problems = read_manifests([_write(tmp_path, "m.yaml", doc)])
    assert problems == [] and objects[0]["spec"] == {"port": 81}


@pytest.mark.parametrize(
    "doc, reason",
    [
        ("kind: 7\nmetadata: {name: a}\n", "kind must be a string, not int"),
        ("kind: [Service]\nmetadata: {name: a}\n", "kind must be a string, not list"),
        (
            "apiVersion: 1\nkind: Service\nmetadata: {name: a}\n",
            "apiVersion must be a string, not int",
        ),
        ("kind: Service\nmetadata: a\n", "metadata must be a mapping, not str"),
        ("kind: Service\nmetadata: [a]\n", "metadata must be a mapping, not list"),
        ("kind: Service\nmetadata: {name: 5}\n", "metadata.name must be a string, not int"),
        (
            "kind: Service\nmetadata: {name: a, namespace: {x: 1}}\n",
            "metadata.namespace must be a string",
        ),
        ("- kind: Service\n", "the document is a list, not a mapping"),
        ("just text\n", "the document is a str, not a mapping"),
        ("kind: List\nitems: [{kind: 3}]\n", "List.items[0]: kind must be a string"),
        ("kind: List\nitems: {a: 1}\n", "List.items must be a list"),
    ],
)
def test_wrongly_typed_document_is_a_problem_and_the_rest_translate(
    tmp_path: Path, doc: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "m.yaml", GOOD + "---\n" + doc)
    _, problems = read_manifests([path])
    assert len(problems) == 1 and reason in problems[0].reason and problems[0].document == 3
    assert main(["-f", str(path), "-o", "json"]) == 1
    out, err = capsys.readouterr()
    assert "good.example.com" in out  # the good documents still translated
    assert f"error: {path}: document 3" in err and reason in err


def test_cli_reports_duplicates_even_with_no_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "m.yaml", GOOD + "---\n" + DUPLICATE)
    assert main(["-f", str(path), "-o", "json", "--no-fail"]) == 1
    out, err = capsys.readouterr()
    assert "good.example.com" in json.dumps(json.loads(out))
    assert "duplicate key 'kind'" in err


def test_syntax_error_ends_that_file_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _write(tmp_path, "a-bad.yaml", "kind: Service\nmetadata: {name: [x\n")
    good = _write(tmp_path, "b-good.yaml", GOOD)
    objects, problems = read_manifests([tmp_path])
    assert len(objects) == 2
    assert (
        len(problems) == 1
        and str(bad) in str(problems[0])
        and "not valid YAML" in problems[0].reason
    )
    assert main(["-f", str(bad), "-f", str(good), "-o", "json"]) == 1
    assert "good.example.com" in capsys.readouterr().out


def test_problems_never_quote_values(tmp_path: Path) -> None:
    doc = "kind: Secret\nmetadata: {name: s}\ndata: {token: c2VjcmV0LXZhbHVl, token: c2VjcmV0LXZhbHVl}\n"
    _, problems = read_manifests([_write(tmp_path, "m.yaml", doc)])
    assert problems and "c2VjcmV0LXZhbHVl" not in str(problems[0])


def test_json_duplicate_keys(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "m.json", '{"kind": "Service", "metadata": {"name": "a"}, "kind": "Secret"}'
    )
    _, problems = read_manifests([path])
    assert [p.reason for p in problems] == ["duplicate key 'kind'"]


def test_load_manifests_raises_listing_every_problem(tmp_path: Path) -> None:
    path = _write(tmp_path, "m.yaml", DUPLICATE + "---\nkind: 1\n")
    with pytest.raises(ManifestError) as info:
        load_manifests([path])
    assert len(info.value.problems) == 2
    assert load_manifests([_write(tmp_path, "ok.yaml", GOOD)])[0]["kind"] == "Service"
