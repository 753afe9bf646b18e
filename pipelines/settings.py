"""Settings from the environment (DESIGN §4), resolved once per run.

Inside Airflow the same variables come from the worker environment (docker-compose passes them
from `.env`); secrets never come from the repository.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


class SettingsError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    home: Path
    warehouse_url: str
    pseudonym_key: bytes
    pseudonym_key_id: str  # non-secret fingerprint of the key, stored with every run
    production: bool

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def raw(self) -> Path:
        return self.home / "raw"

    @property
    def lake(self) -> Path:
        return self.home / "lake"

    @property
    def docs(self) -> Path:
        return self.home / "docs"

    @property
    def work(self) -> Path:
        """Scratch space for staging a run; lives under KDS_HOME so it is on the same disk as the lake."""
        return self.home / "work"

    @property
    def exports(self) -> Path:
        return self.home / "exports"


def _get(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value:
        return value
    return default


def _pseudonym_key(home: Path, production: bool) -> bytes:
    value = _get("KDS_PSEUDONYM_KEY")
    if value:
        if len(value) < 32:
            raise SettingsError("KDS_PSEUDONYM_KEY is shorter than 32 characters; generate one with `kds key`")
        return value.encode("utf-8")
    if production:
        raise SettingsError(
            "KDS_PSEUDONYM_KEY is not set: production mode (KDS_ENV=production) refuses to run without the "
            "pseudonymisation key; set it from your secret store"
        )
    key_file = home / ".pseudonym_key"
    if not key_file.exists():
        home.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32), encoding="ascii")
        key_file.chmod(0o600)
        log.warning(
            "KDS_PSEUDONYM_KEY is not set: generated a local key in %s (fine for a laptop; "
            "production must set KDS_PSEUDONYM_KEY, or pseudonyms will not match across machines)",
            key_file,
        )
    return key_file.read_text(encoding="ascii").strip().encode("utf-8")


def load_settings() -> Settings:
    """Read the settings; call at run time, never at import or DAG-parse time."""
    import hashlib

    home = Path(_get("KDS_HOME", "./data") or "./data").expanduser().resolve()
    production = (_get("KDS_ENV", "local") or "local").lower() == "production"
    url = _get("KDS_WAREHOUSE_URL") or f"duckdb:///{home / 'warehouse.duckdb'}"
    key = _pseudonym_key(home, production)
    key_id = hashlib.sha256(b"kds-key-id:" + key).hexdigest()[:12]
    return Settings(home=home, warehouse_url=url, pseudonym_key=key, pseudonym_key_id=key_id, production=production)
