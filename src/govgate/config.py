"""Settings: which database, which identity the agent has, where reports go.

Precedence, highest first: command-line options, environment (`GOVGATE_*`),
`govgate.toml` (current folder, or `GOVGATE_CONFIG`), built-in defaults.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .errors import BadInput

DEFAULT_DEMO_PATH = "oneroof-demo.db"
DEFAULT_DB_URL = f"sqlite:///{DEFAULT_DEMO_PATH}"
DEFAULT_AGENT_IDENTITY = "govgate-agent"

_TOML_KEYS = {
    "database": {"url": "db_url"},
    "agent": {
        "db": "agent_db_url",
        "identity": "agent_identity",
        "directus_user": "directus_agent_user",
        "report_dir": "report_dir",
        "interval": "agent_interval",
    },
    "directus": {"url": "directus_url", "enabled": "directus"},
}
_ENV_KEYS = {
    "GOVGATE_DB": "db_url",
    "GOVGATE_AGENT_DB": "agent_db_url",
    "GOVGATE_AGENT_IDENTITY": "agent_identity",
    "GOVGATE_DIRECTUS_AGENT_USER": "directus_agent_user",
    "GOVGATE_DIRECTUS_URL": "directus_url",
    "GOVGATE_DIRECTUS_TOKEN": "directus_token",
    "GOVGATE_REPORT_DIR": "report_dir",
}


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know about its surroundings."""

    db_url: str = DEFAULT_DB_URL
    agent_db_url: str | None = None
    agent_identity: str = DEFAULT_AGENT_IDENTITY
    directus_agent_user: str | None = None
    directus_url: str | None = None
    directus_token: str | None = field(default=None, repr=False)
    directus: bool | None = None  # None: detect from the directus_* tables
    report_dir: str = "govgate-reports"
    agent_interval: float = 2.0
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


def mask_url(url: str) -> str:
    """The URL with its password replaced by `***`, safe to print or log."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def load_settings(
    config_path: str | os.PathLike | None = None,
    env: dict[str, str] | None = None,
) -> Settings:
    """Settings from `govgate.toml` and the environment.

    Raises BadInput when the configuration file is unreadable or has unknown keys.
    """
    env = dict(os.environ if env is None else env)
    values: dict[str, object] = {}
    path = Path(config_path or env.get("GOVGATE_CONFIG") or "govgate.toml")
    source = "defaults"
    if path.is_file():
        values.update(_read_toml(path))
        source = str(path)
    for name, attr in _ENV_KEYS.items():
        if env.get(name):
            values[attr] = env[name]
    if "agent_interval" in values:
        values["agent_interval"] = float(values["agent_interval"])  # type: ignore[arg-type]
    return Settings(source=source, **values)  # type: ignore[arg-type]


def _read_toml(path: Path) -> dict[str, object]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadInput(
            f"{path}: cannot read configuration: {exc}",
            hint="fix the file or point GOVGATE_CONFIG at another",
        ) from exc
    values: dict[str, object] = {}
    for section, body in data.items():
        keys = _TOML_KEYS.get(section)
        if keys is None or not isinstance(body, dict):
            raise BadInput(
                f"{path}: unknown section [{section}]",
                hint=f"known sections: {', '.join(sorted(_TOML_KEYS))}",
            )
        for key, value in body.items():
            if key not in keys:
                raise BadInput(
                    f"{path}: unknown key '{key}' in [{section}]",
                    hint=f"known keys: {', '.join(sorted(keys))}",
                )
            values[keys[key]] = value
    return values
