"""Where another file must state an interval bound or default (the org policy's schema,
its default layer), it states the spec schema's; the template reads them from the schema."""

from __future__ import annotations

from pathlib import Path

import yaml
from coltec_worker.declaration.fields import schema_property
from coltec_worker.declaration.schemacheck import load_schema

REPO = Path(__file__).resolve().parents[3]
INTERVAL = schema_property("syncPath", "interval")


def test_the_org_policy_schema_has_the_specs_interval_bounds() -> None:
    policy = load_schema("org-policy.schema.json")["properties"]
    default = policy["defaults"]["properties"]["sync"]["properties"]["interval"]
    assert (default["minimum"], default["default"]) == (INTERVAL["minimum"], INTERVAL["default"])
    bounds = policy["rules"]["properties"]["interval"]["properties"]
    assert bounds["min"]["minimum"] == bounds["max"]["minimum"] == INTERVAL["minimum"]
    assert bounds["min"]["default"] == INTERVAL["minimum"]


def test_the_default_policy_admits_every_interval_the_spec_does() -> None:
    layer = yaml.safe_load((REPO / "policy" / "default.yaml").read_text(encoding="utf-8"))
    assert layer["rules"]["interval"]["min"] == INTERVAL["minimum"]
    assert layer["defaults"]["sync"]["interval"] == INTERVAL["default"]


def test_the_template_reads_the_interval_from_the_schema() -> None:
    question = yaml.safe_load((REPO / "copier.yaml").read_text(encoding="utf-8"))["sync_interval"]
    for key in ("default", "validator"):
        assert "schema/workspace-spec.schema.json" in question[key]
        assert "300" not in question[key] and "30 " not in question[key]
