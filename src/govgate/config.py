"""Settings: which database, which identity the agent has, where reports go.

Precedence, highest first: command-line options, environment (`GOVGATE_*`),
`govgate.toml` (current folder, or `GOVGATE_CONFIG`), built-in defaults.

Configuration fails loudly, when it is loaded and before anything changes (BadInput,
exit 2); it never falls back to defaults in silence:

- A file named by `--config` or `GOVGATE_CONFIG` must exist and be a readable file;
  missing, a directory or unreadable, the error names the file and the option or
  variable. Only `govgate.toml` in the current folder is optional (absent: defaults).
  An empty `GOVGATE_CONFIG` counts as unset; `/dev/null` names an empty configuration.
- Every value has a type, checked strictly (pydantic): `enabled = "no"` is not a
  boolean, `interval = "abc"` or `-1` not a number of seconds, `report_dir = [1]` not
  a path; unknown sections and keys are refused. The error names the file, the line,
  `[section] key`, and what is expected.
- An environment variable with a bad value (a URL govgate cannot use) is named alike.
- Provenance is never switched off in silence: `[directus] enabled = false` on a
  database that has Directus's tables is refused (`check_against`, which needs a
  connection and so runs where the database is opened). Only Directus's own activity
  records prove that a person created an approval; on a Directus database that check
  cannot be configured away.

`pydantic-settings` does not fit here: `Settings` must stay a dataclass (the code base and its
tests use `dataclasses.replace` on it), each source is validated on its own so that an error can
name its file line or variable, and `Settings(...)` must not read the environment behind its back.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import field, replace
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic.dataclasses import dataclass

from .errors import BadInput
from .files import MiB, read_bounded
from .toml_lines import deep_line, line_of
from .urls import url_problem

DEFAULT_DEMO_PATH = "oneroof-demo.db"
DEFAULT_DB_URL = f"sqlite:///{DEFAULT_DEMO_PATH}"
DEFAULT_AGENT_IDENTITY = "govgate-agent"
DEFAULT_CONFIG = "govgate.toml"
MIN_INTERVAL = 0.05  # seconds; the same floor as `agent --interval`
DEFAULT_VALID_DAYS = 14  # an approval starts no rollout after this many days, unless said otherwise

_STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)
Seconds = Annotated[float, Field(ge=MIN_INTERVAL)]
ValidDays = Annotated[int, Field(ge=1, le=366)]
# Kernel containment of the rollout (guards.containment): "required" refuses a rollout where
# Landlock cannot contain it, "auto" contains it where it can, "off" never (for debugging).
Containment = Literal["required", "auto", "off"]


@dataclass(frozen=True, config=_STRICT)
class Settings:
    """Everything a command needs to know about its surroundings (typed, checked on creation)."""

    db_url: str = DEFAULT_DB_URL
    agent_db_url: str | None = None
    agent_identity: str = DEFAULT_AGENT_IDENTITY
    directus_agent_user: str | None = None
    directus_url: str | None = None
    directus_token: str | None = field(default=None, repr=False)
    directus: bool | None = None  # None: detect from the directus_* tables
    report_dir: str = "govgate-reports"
    agent_interval: Seconds = 2.0
    agent_stale_after: Seconds = 60.0  # an agent not seen for longer is reported as not running
    metrics_file: str | None = None  # Prometheus text for node_exporter's textfile collector
    allowed_signers: str | None = None  # the trust root for signed approvals: outside the database
    require_signature: bool = False
    require_user_presence: bool = False  # security-key signatures must say a human touched the key
    approval_valid_days: ValidDays = DEFAULT_VALID_DAYS
    containment: Containment = "auto"
    source: str = "defaults"
    rehearsal: bool = False  # set only by `rehearse`, on its scratch copy; never from configuration

    @property
    def agent_url(self) -> str:
        """The URL the agent connects with; the main one unless configured."""
        return self.agent_db_url or self.db_url

    def with_db(self, url: str | None, agent_url: str | None = None) -> Settings:
        """These settings pointed at another database (and agent URL)."""
        if url is None:
            return self if agent_url is None else replace(self, agent_db_url=agent_url)
        return replace(self, db_url=url, agent_db_url=agent_url)


def check_against(settings: Settings, is_directus: bool) -> None:
    """Raises BadInput when SETTINGS would switch provenance off on a Directus database.

    IS_DIRECTUS: the database has Directus's system tables (`directus.identity.is_directus`).
    `[directus] enabled = false` there would let an approval inserted with bare SQL count,
    since only Directus's activity records prove that a person created it: refused.
    """
    if settings.directus is False and is_directus:
        raise BadInput(
            f"{settings.source}: [directus] enabled = false, but this database has Directus's "
            "tables (directus_*): provenance cannot be switched off on a Directus database",
            hint="remove `enabled = false` from [directus]; on a Directus database an approval "
            "counts only when Directus recorded that a person created it",
        )


# -- what a configuration may say --------------------------------------------------------


def _database_url(value: str) -> str:
    problem = url_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http(s) URL")
    return value


Name = Annotated[str, Field(min_length=1)]
DatabaseUrl = Annotated[str, Field(min_length=1), AfterValidator(_database_url)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
_URL = 'a database URL (SQLAlchemy form), e.g. "sqlite:///path.db" or "postgresql+psycopg://…"'


class _Section(BaseModel):
    model_config = _STRICT


class _Database(_Section):
    url: DatabaseUrl = Field(None, description=_URL)


class _Agent(_Section):
    db: DatabaseUrl = Field(None, description=_URL)
    identity: Name = Field(None, description='a name (a string), e.g. "govgate-agent"')
    directus_user: Name = Field(None, description="the agent's Directus e-mail or user id")
    report_dir: Name = Field(None, description='a folder (a string), e.g. "govgate-reports"')
    interval: Seconds = Field(
        None, description=f"a number of seconds, at least {MIN_INTERVAL}, e.g. 2.0"
    )
    stale_after: Seconds = Field(None, description="a number of seconds, e.g. 60.0")
    metrics_file: Name = Field(None, description='a file path, e.g. "/var/lib/govgate/a.prom"')
    containment: Containment = Field(None, description='"required", "auto" or "off"')


class _Directus(_Section):
    url: HttpUrl = Field(None, description='an http(s) URL, e.g. "http://127.0.0.1:8055"')
    enabled: bool = Field(None, description="true or false (a TOML boolean, without quotes)")


class _Approvals(_Section):
    allowed_signers: Name = Field(
        None, description='the path of an OpenSSH allowed_signers file, e.g. "allowed_signers"'
    )
    require_signature: bool = Field(None, description="true or false (a TOML boolean)")
    require_user_presence: bool = Field(None, description="true or false (a TOML boolean)")
    valid_days: ValidDays = Field(None, description="a whole number of days, 1 to 366, e.g. 14")


class _File(_Section):
    database: _Database = _Database()
    agent: _Agent = _Agent()
    directus: _Directus = _Directus()
    approvals: _Approvals = _Approvals()


# (section, key) -> Settings attribute; the environment variables that set the same.
_FILE_KEYS = {
    ("database", "url"): "db_url",
    ("agent", "db"): "agent_db_url",
    ("agent", "identity"): "agent_identity",
    ("agent", "directus_user"): "directus_agent_user",
    ("agent", "report_dir"): "report_dir",
    ("agent", "interval"): "agent_interval",
    ("agent", "stale_after"): "agent_stale_after",
    ("agent", "metrics_file"): "metrics_file",
    ("agent", "containment"): "containment",
    ("directus", "url"): "directus_url",
    ("directus", "enabled"): "directus",
    ("approvals", "allowed_signers"): "allowed_signers",
    ("approvals", "require_signature"): "require_signature",
    ("approvals", "require_user_presence"): "require_user_presence",
    ("approvals", "valid_days"): "approval_valid_days",
}
_ENV_KEYS = {
    "GOVGATE_DB": ("database", "url"),
    "GOVGATE_AGENT_DB": ("agent", "db"),
    "GOVGATE_AGENT_IDENTITY": ("agent", "identity"),
    "GOVGATE_DIRECTUS_AGENT_USER": ("agent", "directus_user"),
    "GOVGATE_DIRECTUS_URL": ("directus", "url"),
    "GOVGATE_REPORT_DIR": ("agent", "report_dir"),
    "GOVGATE_METRICS_FILE": ("agent", "metrics_file"),
    "GOVGATE_CONTAINMENT": ("agent", "containment"),
    "GOVGATE_ALLOWED_SIGNERS": ("approvals", "allowed_signers"),
}
_SECRET_ENV = {"GOVGATE_DIRECTUS_TOKEN": "directus_token"}  # environment only, never a file
_QUIET = {("database", "url"), ("agent", "db")}  # may hold a password: never echoed


# -- loading --------------------------------------------------------------------------


def load_settings(
    config_path: str | os.PathLike | None = None,
    env: dict[str, str] | None = None,
) -> Settings:
    """Settings from the configuration file and the environment, validated.

    CONFIG_PATH is the file `--config` names; else `GOVGATE_CONFIG`; else `govgate.toml`
    in the current folder when there is one. Raises BadInput naming the file and line,
    or the variable, for anything missing, unreadable, unknown or of the wrong type.
    """
    env = dict(os.environ if env is None else env)
    if config_path is not None:
        path, origin = str(config_path), "--config"
    elif env.get("GOVGATE_CONFIG"):
        path, origin = env["GOVGATE_CONFIG"], "GOVGATE_CONFIG"
    else:
        path, origin = DEFAULT_CONFIG, None
    values: dict[str, object] = {}
    source = "defaults"
    text = _read(path, origin)
    if text is not None:
        values.update(_parse(text, path, origin))
        source = path
        signers = values.get("allowed_signers")
        if isinstance(signers, str):  # relative to the file that names it, like ssh's own
            values["allowed_signers"] = str(Path(path).parent / Path(signers).expanduser())
    values.update(_from_environment(env))
    try:
        return Settings(source=source, **values)  # type: ignore[arg-type]
    except ValidationError as exc:  # each source was checked: this is not expected
        raise BadInput(f"invalid settings: {exc.errors()[0]['msg']}") from None


def _read(path: str, origin: str | None) -> str | None:
    """The text of the configuration file; None when the optional default one is absent."""
    what = f"the configuration file {path!r} " + (f"named by {origin}" if origin else "here")
    stop = (
        f"or stop naming it with {origin} (then ./{DEFAULT_CONFIG} is read when present, "
        "else the defaults)"
        if origin
        else f"or remove ./{DEFAULT_CONFIG} to run on the defaults"
    )
    if not path:
        raise BadInput(f"{what} is empty", hint=f"name a file, {stop}")
    try:
        is_dir = Path(path).is_dir()
        text = None if is_dir else read_bounded(path, MiB).decode("utf-8")
    except (FileNotFoundError, NotADirectoryError):
        if origin is None:
            return None
        raise BadInput(f"{what} does not exist", hint=f"create it, {stop}") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise BadInput(f"{path}:{line}: {what} is not UTF-8 text", hint=f"fix it, {stop}") from None
    except OSError as exc:
        raise BadInput(
            f"{what} cannot be read: {exc.strerror or exc}", hint=f"make it readable, {stop}"
        ) from None
    if is_dir:
        raise BadInput(f"{what} is a directory, not a file", hint=f"name a file, {stop}")
    return text


def _parse(text: str, path: str, origin: str | None) -> dict[str, object]:
    """The Settings attributes the TOML TEXT sets; BadInput naming file, line and key."""
    hint = f"fix {path}" + (f" (named by {origin})" if origin else "")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        at = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
        where = f"{path}:{at[1]}" if at else path
        detail = message[: at.start()] + f" (column {at[2]})" if at else message
        raise BadInput(f"{where}: not valid TOML: {detail}", hint=hint) from None
    except RecursionError:  # tomllib recurses once per level of nested arrays and tables
        line = deep_line(text)
        raise BadInput(f"{path}:{line}: values nested too deeply", hint=hint) from None
    try:
        model = _File.model_validate(data)
    except ValidationError as exc:
        found = sorted((_problem(err, text, path) for err in exc.errors()), key=lambda x: x[0])
        raise BadInput("; ".join(message for _, message in found), hint=hint) from None
    values: dict[str, object] = {}
    for (section, key), attr in _FILE_KEYS.items():
        if key in getattr(model, section).model_fields_set:
            values[attr] = getattr(getattr(model, section), key)
    return values


def _problem(err: dict, text: str, path: str) -> tuple[int, str]:
    """(line, what is wrong there) for one validation error of the file."""
    loc = tuple(str(x) for x in err["loc"])
    section, key = loc[0], loc[1] if len(loc) > 1 else None
    line = line_of(text, section, key)
    return line or 0, _explain(err, section, key, f"{path}:{line}" if line else path)


def _explain(err: dict, section: str, key: str | None, where: str) -> str:
    if err["type"] == "extra_forbidden" and key is None:
        known = ", ".join(f"[{s}]" for s in _File.model_fields)
        return f"{where}: unknown section [{section}] (known: {known})"
    model = _File.model_fields[section].annotation
    if key is None:
        return f"{where}: [{section}] must be a table of keys, got {_kind(err['input'])}"
    if err["type"] == "extra_forbidden":
        known = ", ".join(model.model_fields)
        extra = " (the token is read from GOVGATE_DIRECTUS_TOKEN only)" if key == "token" else ""
        return f"{where}: unknown key '{key}' in [{section}] (known: {known}){extra}"
    expected = model.model_fields[key].description
    kind = _kind(err["input"])
    got = kind if (section, key) in _QUIET else f"{_show(err['input'])} ({kind})"
    return f"{where}: [{section}] {key}: expected {expected}, got {got}{_why(err)}"


def _why(err: dict) -> str:
    """A validator's own reason (never the value, which may hold a password)."""
    return f": {err['ctx']['error']}" if err["type"] == "value_error" else ""


def _from_environment(env: dict[str, str]) -> dict[str, object]:
    """The Settings attributes the environment sets; BadInput naming the variable."""
    values: dict[str, object] = {}
    for name, (section, key) in _ENV_KEYS.items():
        if not env.get(name):
            continue  # unset or empty: not set
        model = _File.model_fields[section].annotation
        try:
            model.model_validate({key: env[name]})
        except ValidationError as exc:
            expected = model.model_fields[key].description
            got = "" if (section, key) in _QUIET else f" (got {_show(env[name])})"
            raise BadInput(
                f"environment variable {name}: expected {expected}{got}{_why(exc.errors()[0])}",
                hint=f"fix or unset {name}",
            ) from None
        values[_FILE_KEYS[(section, key)]] = env[name]
    for name, attr in _SECRET_ENV.items():
        if env.get(name):
            values[attr] = env[name]
    return values


def _show(value) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def _kind(value) -> str:
    kinds = [(bool, "a boolean"), (str, "a string"), (int, "an integer"), (float, "a number")]
    kinds += [(list, "an array"), (dict, "a table")]
    return next((name for t, name in kinds if isinstance(value, t)), "a date or time")
