"""cs:image --sku: each SKU's parts and tag; refused where it cannot be built."""

from __future__ import annotations

import pytest

from coltec.errors import UsageError
from coltec.runtime.image_sku import image_options
from coltec.skus import SKUS, base_tag, sku_tag


def test_the_predecessors_skus_and_their_parts() -> None:
    assert list(SKUS) == ["base", "base-net", "base-dind", "base-dind-net"]
    dind_net = image_options("", "", False, False, False, "base-dind-net")
    assert (dind_net.docker, dind_net.tailscale) == (True, True)
    base = image_options("", "", False, False, False, "base")
    assert (base.docker, base.tailscale) == (False, False)


def test_a_sku_is_tagged_after_the_base_tag_unless_tag_is_given() -> None:
    name, _, version = base_tag().rpartition(":")
    assert sku_tag("base-dind-net") == f"{name.rpartition('/')[0]}/base-dind-net:{version}"
    assert image_options("", "", False, False, False, "base-dind").tag == sku_tag("base-dind")
    assert image_options("me/x:1", "", False, False, False, "base-dind").tag == "me/x:1"


def test_without_sku_the_options_are_as_before() -> None:
    plain = image_options("", "", False, True, False, "")
    assert plain.tag == base_tag() and not plain.docker and not plain.tailscale


@pytest.mark.parametrize(("sku", "offline", "says"), [
    ("base-dind-nett", False, "no such image SKU"),
    ("base-dind", True, "not with --offline"),
])  # fmt: skip
def test_unbuildable_requests_are_usage_errors(sku: str, offline: bool, says: str) -> None:
    with pytest.raises(UsageError, match=says):
        image_options("", "", offline, False, False, sku)
