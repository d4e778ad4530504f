"""`cs:image --host NAME... | --all-hosts`: the base image on hosts of the hosts file.

Built once, on the first host chosen (the order of --host, else the file's), then sent
to each other host with docker save | docker load over that host's own connection
(coltec.runtime.imagecopy); a host that has the same image id already is skipped, and
a host that fails does not stop the others — the result names every one that failed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from coltec.errors import ColtecError, ImageError, UsageError
from coltec.hosts.hostsfile import Host, load_hosts
from coltec.runtime.docker import DockerEngine
from coltec.runtime.image import ImageOptions, ImageResult, build
from coltec.runtime.imagecopy import Sent, send_to_all

Progress = Callable[[str], None]


@dataclass(frozen=True)
class OnHosts:
    built: ImageResult
    builder: str  # the host it was built on; "" without --host/--all-hosts
    sent: tuple[tuple[str, Sent], ...]  # (host name, what happened there), the others

    @property
    def failed(self) -> list[str]:
        return [name for name, sent in self.sent if not sent.ok]

    def check(self) -> None:
        """ImageError naming every host the image did not reach."""
        if self.failed:
            lines = [f"{name}: {sent.detail}" for name, sent in self.sent if not sent.ok]
            raise ImageError(
                f"{self.built.tag} did not reach {len(lines)} of {len(self.sent) + 1} hosts:\n"
                + "\n".join(lines),
                "fix the connection to those hosts, then run the same command again "
                "(hosts that have the image are skipped)",
            )


def chosen_hosts(names: Sequence[str], all_hosts: bool, docker_host: str = "") -> list[Host]:
    """The hosts named by --host (in that order, once each) or every host (--all-hosts)."""
    if names and all_hosts:
        raise UsageError("--host and --all-hosts: give one of them", "e.g. --all-hosts")
    found = load_hosts(docker_host=docker_host)
    if found.path is None:
        raise UsageError(
            "--host and --all-hosts name hosts of a hosts file, and there is none",
            "list your hosts in hosts.yaml at the nexus root (README § Hosts), "
            "or point COLTEC_HOSTS at one",
        )
    return list(found.hosts) if all_hosts else [found.get(n) for n in dict.fromkeys(names)]


def build_image(
    options: ImageOptions,
    names: Sequence[str],
    all_hosts: bool,
    docker_host: str,
    progress: Progress,
) -> OnHosts:
    """cs:image: build on --docker-host (or DOCKER_HOST) alone, or onto the hosts chosen."""
    if not (names or all_hosts):
        return OnHosts(build(DockerEngine.from_option(docker_host), options, progress), "", ())
    hosts = chosen_hosts(names, all_hosts, docker_host)
    first, others = hosts[0], hosts[1:]
    engine = first.engine()
    progress(f"building {options.tag} on {engine.where}, then sending it to {len(others)} host(s)")
    try:
        built = build(engine, options, progress)
    except ColtecError as exc:  # keep its exit code; say where it failed
        exc.message = f"on host {first.name}: {exc.message}"
        raise
    sent = send_to_all(options.tag, engine, [h.engine() for h in others], progress)
    return OnHosts(built, first.name, tuple(zip((h.name for h in others), sent, strict=True)))
