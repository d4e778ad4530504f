"""Each semantic rule of coltec_worker.declaration.rules, directly, with its edge cases."""

from __future__ import annotations

import pytest
from coltec_worker.declaration import rules
from coltec_worker.declaration.spec import (
    Encryption,
    Metadata,
    Networking,
    Persistence,
    RcloneConfig,
    SyncPath,
    WorkspaceSpec,
)
from coltec_worker.declaration.storagespec import CryptSpec, RemoteSpec

VALUES = {"org": "acme", "project": "api", "env": "dev", "name": "ws", "user_id": "jdoe"}


def spec(*sync: SyncPath, **changes: object) -> WorkspaceSpec:
    base = WorkspaceSpec(
        name="ws",
        metadata=Metadata(org="acme", project="api"),
        persistence=Persistence(enabled=True, mode="replicated", sync=sync),
    )
    return base._replace(**changes)


def sp(
    name: str = "code", path: str = "/workspace", remote: str = "{org}/{name}", interval: int = 300
) -> SyncPath:
    return SyncPath(name=name, path=path, remote_path=remote, interval=interval)


def findings(s: WorkspaceSpec, user_id: str = "jdoe") -> dict[str, rules.Finding]:
    found = list(rules.check_spec(s, user_id))
    by_path = {f.path: f for f in found}
    assert len(by_path) == len(found), f"two findings on one path: {found}"
    return by_path


def rule_names(s: WorkspaceSpec) -> set[str]:
    return {f.rule for f in rules.check_spec(s, "jdoe")}


def test_a_sound_spec_has_no_findings() -> None:
    assert findings(spec(sp(), sp("home", "/home/vscode", "{org}/users/{user_id}"))) == {}


# -- persistence needs sync paths ---------------------------------------------------


def test_replicated_persistence_needs_a_sync_path() -> None:
    found = findings(spec())
    assert found["$.persistence.sync"].rule == "sync-required"
    assert "persistence.enabled: false" in found["$.persistence.sync"].hint


def test_mounted_persistence_needs_something_to_persist() -> None:
    """The default mode is the predecessor's `mounted`: enabled with nothing is refused."""
    found = findings(spec(persistence=Persistence(enabled=True)))
    assert found["$.persistence.sync"].rule == "persistence-empty"
    assert "mode: replicated" in found["$.persistence.sync"].hint
    with_path = spec(persistence=Persistence(enabled=True, sync=(sp(),)))
    assert findings(with_path) == {}  # the predecessor's daemon synced them in any mode


def test_disabled_persistence_needs_no_sync_path() -> None:
    assert findings(spec(persistence=Persistence(enabled=False))) == {}


# -- names --------------------------------------------------------------------------


def test_sync_names_are_unique() -> None:
    found = findings(spec(sp("a", "/x", "r/x"), sp("b", "/y", "r/y"), sp("a", "/z", "r/z")))
    assert found["$.persistence.sync[2].name"].rule == "unique-name"
    assert "$.persistence.sync[0]" in found["$.persistence.sync[2].name"].message


# -- local paths --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fragment", "hint"),
    [
        ("workspace", "must be absolute", "/workspace/workspace"),
        ("./workspace", "must be absolute", ""),
        ("", "must be absolute", ""),
        ("/", "syncing '/' is not allowed", "/workspace"),
        ("//", "syncing '/' is not allowed", ""),
        ("/.", "syncing '/' is not allowed", ""),
        ("/workspace/..", "must not contain '..'", ""),
        ("/a/../b", "must not contain '..'", ""),
        ("/workspace/", "not normalized", "/workspace"),
        ("/workspace//src", "not normalized", "/workspace/src"),
        ("/workspace/./src", "not normalized", "/workspace/src"),
        ("/work\x00space", "control character", ""),
        ("/workspace\n", "control character", ""),
        ("/work\u202espace", "control character", ""),
    ],
)
def test_bad_local_paths(path: str, fragment: str, hint: str) -> None:
    finding = findings(spec(sp(path=path)))["$.persistence.sync[0].path"]
    assert finding.rule == "local-path"
    assert fragment in finding.message
    assert hint in finding.hint
    assert "\n" not in finding.message and "\x00" not in finding.message


@pytest.mark.parametrize("path", ["/workspace", "/home/vscode/.cache", "/a/..b", "/a/b..", "/é"])
def test_good_local_paths(path: str) -> None:
    assert findings(spec(sp(path=path))) == {}


@pytest.mark.parametrize(
    ("a", "b", "how"),
    [
        ("/data", "/data", "the same as"),
        ("/data", "/data/sub", "nested with"),
        ("/data/sub/deeper", "/data", "nested with"),
    ],
)
def test_local_paths_may_not_nest(a: str, b: str, how: str) -> None:
    found = findings(spec(sp("one", a, "r/one"), sp("two", b, "r/two")))
    assert set(found) == {"$.persistence.sync[1].path"}
    assert how in found["$.persistence.sync[1].path"].message
    assert found["$.persistence.sync[1].path"].rule == "local-overlap"


def test_sibling_local_paths_with_a_common_prefix_are_not_nested() -> None:
    assert findings(spec(sp("one", "/data/a", "r/one"), sp("two", "/data/ab", "r/two"))) == {}


def test_a_bad_local_path_is_not_also_reported_as_overlapping() -> None:
    found = findings(spec(sp("one", "/data", "r/one"), sp("two", "/data/", "r/two")))
    assert found["$.persistence.sync[1].path"].rule == "local-path"


# -- remote paths -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "resolved"),
    [
        ("{org}/{project}/{env}/{name}", "acme/api/dev/ws"),
        ("{org}/users/{user_id}", "acme/users/jdoe"),
        ("bucket-prefix/{name}.v2", "bucket-prefix/ws.v2"),
        ("{org}/{{literal}}", "acme/{literal}"),
        ("a..b/c", "a..b/c"),
    ],
)
def test_good_remote_paths(template: str, resolved: str) -> None:
    assert rules.resolve_checked(sp(remote=template), VALUES) == (resolved, "", "")


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{team}/x", "unknown placeholder {team}"),
        ("{ORG}/x", "unknown placeholder {ORG}"),
        ("{0}/x", "unknown placeholder {0}"),
        ("{}/x", "unknown placeholder {}"),
        ("{org.__class__}/x", "unknown placeholder {org.__class__}"),
        ("{org[0]}/x", "unknown placeholder"),
        ("{org!r}/x", "conversion or format spec"),
        ("{org:>20}/x", "conversion or format spec"),
        ("{org", "unbalanced braces"),
        ("org}", "unbalanced braces"),
        ("", "an empty segment"),
        ("/{org}", "an empty segment"),
        ("{org}/", "an empty segment"),
        ("{org}//x", "an empty segment"),
        (".", "the segment '.'"),
        ("{org}/./x", "the segment '.'"),
        ("{org}/../x", "the segment '..'"),
        ("..", "the segment '..'"),
        ("-x/{org}", "starting with '-'"),
        ("{org}/--dry-run", "starting with '-'"),
        ("other:bucket/{org}", "a ':'"),
        ("{org}/a:b", "a ':'"),
        ("{org}/my files", "whitespace"),
        ("{org}/x\ty", "whitespace"),
        ("{org}/\u00a0x", "whitespace"),  # no-break space
        ("{org}/x\x00", "control character"),
        ("{org}/x\x1b[2J", "control character"),
        ("{org}/x\x7f", "control character"),
        ("{org}/x\x85", "control character"),  # C1
        ("{org}/x\u200b", "control character"),  # zero-width space
        ("{org}/\u202eevil", "control character"),  # right-to-left override
    ],
)
def test_bad_remote_paths(template: str, fragment: str) -> None:
    resolved, message, hint = rules.resolve_checked(sp(remote=template), VALUES)
    assert resolved is None
    assert fragment in message
    assert hint
    assert message.isprintable(), f"control characters are escaped: {message!r}"


def test_an_empty_placeholder_value_makes_an_empty_segment() -> None:
    _, message, _ = rules.resolve_checked(sp(remote="{org}/{user_id}/x"), {**VALUES, "user_id": ""})
    assert "'acme//x'" in message and "empty segment" in message


def test_the_spec_substitutes_user_id_default() -> None:
    """Without a user config, {user_id} stands in as 'user' (never empty)."""
    assert findings(spec(sp(remote="{org}/{user_id}")), user_id="") == {}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("acme/code", "acme/code"),
        ("acme/code", "acme/code/deps"),
        ("acme/code/deps", "acme/code"),
        ("{org}/{project}", "acme/api"),  # equal only after substitution
        ("{org}/{name}", "{org}/ws/sub"),
    ],
)
def test_remote_prefixes_may_not_nest(first: str, second: str) -> None:
    found = findings(spec(sp("one", "/one", first), sp("two", "/two", second)))
    assert set(found) == {"$.persistence.sync[1].remote_path"}
    assert found["$.persistence.sync[1].remote_path"].rule == "remote-overlap"


def test_remote_siblings_with_a_common_prefix_are_fine() -> None:
    assert findings(spec(sp("one", "/one", "acme/code"), sp("two", "/two", "acme/code2"))) == {}


# -- slugs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "bad"),
    [
        ("acme", False),
        ("a", False),
        ("0day", False),
        ("acme-2", False),
        ("Acme", True),
        ("-acme", True),
        ("ac_me", True),
        ("", True),
        ("acme\n", True),
    ],
)
@pytest.mark.parametrize("key", ["org", "project"])
def test_org_and_project_are_slugs(key: str, value: str, bad: bool) -> None:
    meta = Metadata(org="acme", project="api")._replace(**{key: value})
    found = findings(
        spec(sp(), metadata=meta) if not bad else spec(sp(remote="fixed/prefix"), metadata=meta)
    )
    assert (f"$.metadata.{key}" in found) is bad
    if bad:
        assert found[f"$.metadata.{key}"].message.isprintable()


# -- networking ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "hint"),
    [
        ("devcontainer", "tag:devcontainer"),
        ("Tag:Prod", "tag:prod"),
        ("tag:", "tag:devcontainer"),
        ("tag:My Team", "tag:my-team"),
        ("tag:UPPER", "tag:upper"),
    ],
)
def test_networking_tags_look_like_tag_name(tag: str, hint: str) -> None:
    net = Networking(tags=("tag:ok", tag))
    found = findings(spec(sp(), networking=net))
    assert set(found) == {"$.networking.tags[1]"}
    assert found["$.networking.tags[1]"].hint == f"write it as {hint}"


def _named(length: int, prefix: str = "dev-") -> WorkspaceSpec:
    name = "a" * (length - len(prefix))
    return spec(sp(), name=name, networking=Networking(enabled=True, hostname_prefix=prefix))


def test_hostname_of_exactly_63_characters_is_valid() -> None:
    assert findings(_named(63)) == {}


def test_hostname_of_64_characters_is_not() -> None:
    finding = findings(_named(64))["$.networking.hostname_prefix"]
    assert "64 chars" in finding.message and "shorten" in finding.hint


@pytest.mark.parametrize("prefix", ["-", "a--", "x-"])
def test_hostname_label_rules(prefix: str) -> None:
    s = spec(sp(), name="ws", networking=Networking(enabled=True, hostname_prefix=prefix))
    bad = prefix.startswith("-")
    assert ("$.networking.hostname_prefix" in findings(s)) is bad


def test_hostname_is_not_checked_when_networking_is_off() -> None:
    s = spec(sp(), name="a" * 63, networking=Networking(enabled=False))
    assert findings(s) == {}


# -- password_env -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "bad"),
    [
        ("COLTEC_CRYPT_PASSWORD", False),
        ("_X", False),
        ("RCLONE_PASS2", False),
        ("hunter2", True),
        ("S3cr3t!pass", True),
        ("2FAST", True),
        ("", True),
        ("MY PASSWORD", True),
        ("ab$cd", True),
    ],
)
def test_password_env_is_a_variable_name_and_never_echoed(value: str, bad: bool) -> None:
    enc = Encryption(enabled=True, password_env=value)
    pers = Persistence(enabled=True, sync=(sp(),), rclone_config=RcloneConfig(encryption=enc))
    found = findings(spec(persistence=pers))
    key = "$.persistence.rclone_config.encryption.password_env"
    assert (key in found) is bad
    if bad and value:
        assert value not in found[key].message and value not in found[key].hint


# -- user extra sync paths ------------------------------------------------------------


def test_user_paths_are_checked_against_the_workspace() -> None:
    workspace = [("ws::$.persistence.sync[0]", sp(), "acme/code")]
    extra = (sp("code", "/workspace/notes", "{org}/code/notes"), sp("mine", "/home/me", "u/me"))
    found = {
        f.path: f for f in rules.check_sync_paths(extra, "$.extra_sync_paths", VALUES, workspace)
    }
    assert {f.rule for f in found.values()} == {"unique-name", "local-overlap", "remote-overlap"}
    assert set(found) == {
        "$.extra_sync_paths[0].name",
        "$.extra_sync_paths[0].path",
        "$.extra_sync_paths[0].remote_path",
    }
    assert "ws::$.persistence.sync[0]" in found["$.extra_sync_paths[0].name"].message


# -- shown ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain/é", "plain/é"),
        ("a\nb", "a\\nb"),
        ("\x1b[31m", "\\x1b[31m"),
        ("\u202e", "\\u202e"),
    ],
)
def test_shown_escapes_control_characters_only(raw: str, shown: str) -> None:
    assert rules.shown(raw) == shown


def test_every_rule_is_exercised_here() -> None:
    """A new rule in rules.py needs its own test above; this list is the reminder."""
    everything = spec(
        sp("a", "rel", "{nope}", interval=1),
        sp("a", "/x", "r/x"),
        sp("b", "/x/y", "r/x/y"),
        metadata=Metadata(org="Bad", project="api"),
        networking=Networking(enabled=True, hostname_prefix="-", tags=("bad",)),
        persistence=Persistence(
            enabled=True,
            mode="replicated",
            rclone_config=RcloneConfig(
                remote_name="coltec_crypt", encryption=Encryption(password_env="secret")
            ),
        ),
    )
    empty = rule_names(everything)
    nonempty = rule_names(
        everything._replace(
            persistence=everything.persistence._replace(
                sync=(
                    sp("a", "rel", "{nope}", interval=1),
                    sp("a", "/x", "r/x"),
                    sp("b", "/x/y", "r/x/y"),
                ),
            ),
        )
    )
    mounted = rule_names(spec(persistence=Persistence(enabled=True)))
    assert empty | nonempty | mounted == {
        "persistence-empty",
        "slug",
        "sync-required",
        "local-path",
        "remote-path",
        "unique-name",
        "local-overlap",
        "remote-overlap",
        "password-env",
        "remote-name",
        "tag",
        "hostname",
    }


# -- where a path lands: named remotes ------------------------------------------------


def _on(*sync: SyncPath, **remotes: RemoteSpec) -> WorkspaceSpec:
    return spec(*sync)._replace(
        persistence=Persistence(
            enabled=True, mode="replicated", sync=sync, remotes=remotes, default_remote="a"
        )
    )


def test_the_same_remote_path_on_two_buckets_does_not_overlap() -> None:
    one = SyncPath(name="x", path="/x", remote_path="data", remote="a")
    two = SyncPath(name="y", path="/y", remote_path="data", remote="b")
    s = _on(one, two, a=RemoteSpec(bucket="b1"), b=RemoteSpec(bucket="b2"))
    assert findings(s) == {}
    same = _on(one, two, a=RemoteSpec(bucket="b1"), b=RemoteSpec(bucket="b1"))
    assert findings(same)["$.persistence.sync[1].remote_path"].rule == "remote-overlap"


def test_a_crypt_store_overlaps_a_plain_path_around_it() -> None:
    plain = SyncPath(name="x", path="/x", remote_path="enc", remote="a")
    secret = SyncPath(name="y", path="/y", remote_path="s", remote="c")
    crypt = RemoteSpec(
        type="crypt", wrap_remote="a", wrap_path="enc", crypt=CryptSpec(password_env="PW")
    )
    s = _on(plain, secret, a=RemoteSpec(bucket="b1"), c=crypt)
    assert findings(s)["$.persistence.sync[1].remote_path"].rule == "remote-overlap"
    elsewhere = _on(plain._replace(remote_path="plain"), secret, a=RemoteSpec(bucket="b1"), c=crypt)
    assert findings(elsewhere) == {}
