"""Image SKUs: which optional parts `cs:image --sku NAME` builds in, and the tag it gets.

The names are the predecessor's (its images were `…:<version>-base-dind-net`):

- `base`           the worker and rclone only
- `base-net`       + Tailscale
- `base-dind`      + Docker in Docker (Debian/Ubuntu's `docker.io`; dockerd started by the
                   workspace, see extensions/coltec-venture)
- `base-dind-net`  + both (what the coltec-venture and coltec-opencode extensions run on)

Without --sku, `cs:image` builds what its other options say (--no-tailscale, ...).
"""

from __future__ import annotations

from typing import NamedTuple

from coltec.workspaces import REPO_ROOT


class Sku(NamedTuple):
    docker: bool
    tailscale: bool


SKUS = {
    "base": Sku(docker=False, tailscale=False),
    "base-net": Sku(docker=False, tailscale=True),
    "base-dind": Sku(docker=True, tailscale=False),
    "base-dind-net": Sku(docker=True, tailscale=True),
}


def base_tag() -> str:
    """The tag of the plain build (base-image/IMAGE, the template's base_image default)."""
    return (REPO_ROOT / "base-image" / "IMAGE").read_text(encoding="utf-8").strip()


def sku_tag(sku: str) -> str:
    """'coltec/base:latest' and base-dind-net -> 'coltec/base-dind-net:latest'."""
    tag = base_tag()
    name, sep, version = tag.rpartition(":")
    if not sep or "/" in version:  # no tag given: the whole reference is the name
        name, version = tag, "latest"
    repo, slash, _ = name.rpartition("/")
    return f"{repo}{slash}{sku}:{version}"
