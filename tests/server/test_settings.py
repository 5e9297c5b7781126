"""Settings: durations with units, the environment read once, validation, secrets masked."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from sync_server.errors import ConfigError
from sync_server.settings import Secret, Settings, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20d", timedelta(days=20)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2w", timedelta(weeks=2)),
        (" 1D 12H ", timedelta(days=1, hours=12)),
    ],
)
def test_durations_with_units(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["20", "", "  ", "-1d", "5x", "d", "1.5d", "0s", "1d-2h", "1 day"])
def test_durations_without_a_unit_or_malformed_are_refused(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_duration(text)


def test_defaults() -> None:
    settings = Settings(data_dir=Path("/nonexistent"))
    assert settings.certificate_validity == timedelta(days=365)
    assert settings.renewal_window == timedelta(days=30)
    assert settings.pfx_password_min_length == 4
    assert settings.login_max_failures == 5 and settings.enrollment_max_attempts == 5
    assert settings.login_lockout == timedelta(minutes=15)
    assert settings.enrollment_code_lifetime == timedelta(days=7)
    assert settings.redownload_lifetime == timedelta(hours=24)
    assert settings.relay_slot_lifetime == timedelta(seconds=120)
    assert settings.max_body_bytes == 128 * 1024
    assert settings.resolved_database_url == "sqlite:////nonexistent/certsync.db"


def test_from_env_reads_a_mapping(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "SYNC_DATA_DIR": str(tmp_path),
            "SYNC_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/certsync",
            "SYNC_PUBLIC_URL": "https://certsync.example/",
            "SYNC_CA_KEY_PASSPHRASE": "hunter2-but-longer",
            "SYNC_CERT_VALIDITY": "20d",
            "SYNC_RENEWAL_WINDOW": "10d",
            "SYNC_LOGIN_LOCKOUT": "1h",
            "SYNC_SESSION_LIFETIME": "30m",
            "SYNC_ENROLLMENT_CODE_LIFETIME": "2d",
            "SYNC_REDOWNLOAD_LIFETIME": "12h",
            "SYNC_CHALLENGE_LIFETIME": "90s",
            "SYNC_RELAY_SLOT_LIFETIME": "60s",
            "SYNC_PFX_PASSWORD_MIN_LENGTH": "8",
            "SYNC_LOGIN_MAX_FAILURES": "3",
            "SYNC_ENROLLMENT_MAX_ATTEMPTS": "4",
            "UNRELATED": "ignored",
        }
    )
    assert settings.data_dir == tmp_path
    assert settings.database_url == "postgresql://postgres@127.0.0.1:5432/certsync"
    assert settings.resolved_database_url == settings.database_url
    assert settings.public_url == "https://certsync.example"
    assert settings.ca_key_passphrase == "hunter2-but-longer"
    assert isinstance(settings.ca_key_passphrase, Secret)
    assert settings.certificate_validity == timedelta(days=20)
    assert settings.renewal_window == timedelta(days=10)
    assert settings.login_lockout == timedelta(hours=1)
    assert settings.session_lifetime == timedelta(minutes=30)
    assert settings.enrollment_code_lifetime == timedelta(days=2)
    assert settings.redownload_lifetime == timedelta(hours=12)
    assert settings.challenge_lifetime == timedelta(seconds=90)
    assert settings.relay_slot_lifetime == timedelta(seconds=60)
    assert settings.pfx_password_min_length == 8
    assert (settings.login_max_failures, settings.enrollment_max_attempts) == (3, 4)


def test_from_env_with_nothing_set_gives_the_defaults(tmp_path: Path) -> None:
    assert Settings.from_env({"SYNC_DATA_DIR": str(tmp_path)}) == Settings(data_dir=tmp_path)
    assert Settings.from_env({"SYNC_DATA_DIR": str(tmp_path), "SYNC_CERT_VALIDITY": " "}) == (
        Settings(data_dir=tmp_path)
    )


@pytest.mark.parametrize(
    "env",
    [
        {"SYNC_CERT_VALIDITY": "20"},
        {"SYNC_RELAY_SLOT_LIFETIME": "two minutes"},
        {"SYNC_LOGIN_MAX_FAILURES": "five"},
        {"SYNC_LOGIN_MAX_FAILURES": "0"},
        {"SYNC_ENROLLMENT_MAX_ATTEMPTS": "-1"},
        {"SYNC_PFX_PASSWORD_MIN_LENGTH": "3"},
        {"SYNC_PFX_PASSWORD_MIN_LENGTH": "65"},
        {"SYNC_CERT_VALIDITY": "10d", "SYNC_RENEWAL_WINDOW": "20d"},
        {"SYNC_CA_KEY_FILE": "/etc/ca.key"},
        {"SYNC_CA_CERT_FILE": "/etc/ca.pem"},
    ],
)
def test_from_env_refuses_bad_values(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env({"SYNC_DATA_DIR": str(tmp_path), **env})


def test_a_renewal_window_longer_than_the_validity_is_allowed_below_twice() -> None:
    # The tester's trick: a 20-day certificate is born inside the 30-day window.
    settings = Settings(data_dir=Path("/x"), certificate_validity=timedelta(days=20))
    assert settings.renewal_window > settings.certificate_validity


def test_settings_are_frozen() -> None:
    settings = Settings(data_dir=Path("/x"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.login_max_failures = 100  # type: ignore[misc]
    changed = settings.replace(login_max_failures=100)
    assert (settings.login_max_failures, changed.login_max_failures) == (5, 100)


def test_repr_hides_the_secrets() -> None:
    settings = Settings.from_env(
        {
            "SYNC_DATA_DIR": "/x",
            "SYNC_CA_KEY_PASSPHRASE": "the-ca-passphrase",
            "SYNC_DATABASE_URL": "postgresql://certsync:db-password-here@db.example/certsync",
        }
    )
    shown = repr(settings) + str(settings) + f"{settings}"
    assert "the-ca-passphrase" not in shown
    assert "db-password-here" not in shown
    assert "the-ca-passphrase" not in repr(settings.ca_key_passphrase)
    assert "the-ca-passphrase" not in repr({"p": settings.ca_key_passphrase})
