"""Settings from the environment (prefix ``FIELDWORK_``) and the data directory."""

from __future__ import annotations

import secrets
from functools import cached_property, lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDWORK_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path("data"), description="Where the SQLite file, media and the secret key live."
    )
    database_url: str = Field(
        default="", description="SQLAlchemy URL; empty means SQLite in data_dir."
    )
    secret_key: str = Field(
        default="", description="Signs access tokens; generated into data_dir when empty."
    )
    token_lifetime_minutes: int = Field(default=12 * 60, ge=1)
    cors_origins: list[str] = Field(default_factory=list)
    max_upload_bytes: int = Field(default=15 * 1024 * 1024, ge=1024)
    shopper_app_dir: Path = Field(
        default=Path(__file__).resolve().parent.parent / "shopper_app",
        description="The static shopper PWA served at /app/.",
    )
    expiry_interval_seconds: int = Field(
        default=60, ge=0, description="0 disables the expiry sweep."
    )
    api_key_rate_limit_per_minute: int = Field(
        default=120, ge=1, description="Requests per minute of an API key without its own limit."
    )

    # Live updates (api/events) and webhooks (api/webhooks); docs/live-updates.md.
    events_heartbeat_seconds: float = Field(
        default=15.0, gt=0, description="A comment line on idle event streams this often."
    )
    events_retry_ms: int = Field(default=3000, ge=0, description="The SSE retry: hint.")
    # A bulk approval of 1000 visits publishes 3000 events at once; queues hold references to
    # the same event objects, so a generous bound costs little.
    events_queue_size: int = Field(
        default=4096, ge=1, description="Events a stream may fall behind before it is closed."
    )
    events_replay_size: int = Field(
        default=5000, ge=0, description="Recent events kept to replay after Last-Event-ID."
    )
    events_max_stream_seconds: float = Field(
        default=900.0, ge=0, description="Streams end after this long (clients reconnect); 0 never."
    )
    events_access_check_seconds: float = Field(
        default=15.0,
        gt=0,
        description="Open streams check their reader's access again this often, and end once "
        "it is gone (a revoked key, a disabled account, a manager taken off the project).",
    )
    webhook_delivery: bool = Field(default=True, description="Run the webhook delivery loop.")
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_retry_base_seconds: float = Field(
        default=30.0, gt=0, description="Retry n waits base · 2^(n−1) seconds (capped at 1 h)."
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_poll_seconds: float = Field(
        default=5.0, gt=0, description="Look for due deliveries at least this often."
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="Let webhooks reach loopback, private, link-local and other non-public "
        "addresses (a test receiver, an intranet); by default they reach public ones only.",
    )
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Server processes of `fieldwork serve`. On SQLite live events reach only "
        "the dashboards of the process that wrote them, so more than one needs PostgreSQL "
        "for live dashboards.",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip().startswith("["):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'fieldwork.sqlite3').resolve()}"

    @cached_property
    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once and kept in the data directory."""
        if self.secret_key:
            return self.secret_key
        key_file = self.data_dir / "secret_key"
        if key_file.exists():
            return key_file.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
