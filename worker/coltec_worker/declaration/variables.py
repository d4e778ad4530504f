"""Environment variable names and `${VAR}`s: the rules the host and the worker share.

- `variables_in` / `expand`: `${NAME}` and `$NAME` in a remote's bucket and options,
  expanded from the worker's environment at run time. A `$` not followed by a name is
  kept as written; there is no escape. Expansion is one pass (a value is never
  expanded again), and an unset or empty variable is an error (Unset), never the
  literal text passed on as a credential.
- `is_system_variable`: names that steer a process (PATH, HOME, LD_*, PYTHON*, ...,
  and rclone's and the worker's own control variables). cs:up never delivers them,
  the worker never takes them from the secrets file, and no `${VAR}` or password
  variable may name one: a committed spec must not be able to set the worker's
  LD_PRELOAD or PATH, nor read the container's PATH as a crypt password.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

SECRETS_FILE_VAR = "COLTEC_SECRETS_FILE"
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_SYSTEM_NAMES = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "PWD", "OLDPWD", "TERM", "LANG",
        "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP", "IFS", "ENV", "BASH_ENV", "CDPATH",
        "MAIL", "HOSTNAME", "HOSTALIASES", "LOCALDOMAIN", "RES_OPTIONS", "GCONV_PATH",
        "NLSPATH", "PS1", "PS2", "PS4", "PROMPT_COMMAND", "DISPLAY", "SSH_AUTH_SOCK",
        "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE",
        "NODE_OPTIONS", "NODE_PATH", "RUBYOPT", "RUBYLIB", "PERLLIB", "PERL5LIB",
        "PERL5OPT", "JAVA_TOOL_OPTIONS", "CLASSPATH", "HTTP_PROXY", "HTTPS_PROXY",
        "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy", "all_proxy",
        # rclone's own control variables: a config file, its password, a command
        "RCLONE_CONFIG", "RCLONE_CONFIG_DIR", "RCLONE_CONFIG_PASS",
        "RCLONE_PASSWORD_COMMAND", "RCLONE_CACHE_DIR", "RCLONE_LOG_FILE",
        # the worker's and cs:up's own
        SECRETS_FILE_VAR, "COLTEC_CONFIG", "COLTEC_STATE_DIR", "COLTEC_DISABLED",
        "COLTEC_RUNTIME_DIR", "COLTEC_SECRETS_DIR",
    }
)  # fmt: skip
_SYSTEM_PREFIXES = (
    "LD_", "DYLD_", "PYTHON", "LC_", "BASH_FUNC_", "MALLOC_", "GLIBC_", "XDG_", "SUDO_",
    "GIT_",
)  # fmt: skip


def is_system_variable(name: str) -> bool:
    """A name that steers a process rather than holding a secret (see module docstring)."""
    return name in _SYSTEM_NAMES or name.startswith(_SYSTEM_PREFIXES)


def variables_in(text: str) -> list[str]:
    """The variable names `text` uses, in order (`${A}/$B` -> ['A', 'B'])."""
    return [m.group(1) or m.group(2) for m in VARIABLE.finditer(text)]


class Unset(KeyError):
    """A variable `expand` needs is unset, empty or a system variable (.name)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def expand(text: str, env: Mapping[str, str]) -> str:
    """`text` with every `${NAME}`/`$NAME` replaced from env; Unset if one is missing."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        found = env.get(name, "")
        if not found or is_system_variable(name):
            raise Unset(name)
        return found

    return VARIABLE.sub(value, text)
