"""`cs:image --sku NAME`: the image options of a SKU (coltec.skus), checked once here."""

from __future__ import annotations

import dataclasses

from coltec.errors import UsageError
from coltec.runtime.image import DEFAULT_BASE, ImageOptions, default_tag
from coltec.skus import SKUS, sku_tag


def image_options(
    tag: str, base_image: str, offline: bool, no_tailscale: bool, no_mise: bool, sku: str
) -> ImageOptions:
    """cs:image's options as given on its command line (empty: the default)."""
    options = ImageOptions(
        tag or default_tag(),
        base_image or DEFAULT_BASE,
        offline,
        tailscale=not no_tailscale,
        mise=not no_mise,
    )
    return with_sku(options, sku, tag_given=bool(tag))


def with_sku(options: ImageOptions, sku: str, *, tag_given: bool) -> ImageOptions:
    """`options` with the SKU's parts switched on or off, tagged as the SKU unless --tag."""
    if not sku:
        return options
    parts = SKUS.get(sku)
    if parts is None:
        raise UsageError(f"--sku {sku}: no such image SKU", f"SKUs: {', '.join(SKUS)}")
    if options.offline and (parts.docker or parts.tailscale):
        raise UsageError(
            f"--sku {sku} installs Docker/Tailscale from package repositories: not with --offline",
            "build it with network access, or use --sku base offline",
        )
    return dataclasses.replace(
        options,
        tag=options.tag if tag_given else sku_tag(sku),
        docker=parts.docker,
        tailscale=parts.tailscale,
    )
