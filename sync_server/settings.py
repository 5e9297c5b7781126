"""Settings, read once from the environment (and command-line flags) into one frozen object.

Nothing else in the server reads the environment. ``Settings.from_env()`` is called by the
command line; tests build ``Settings(...)`` directly. Durations accept units (``90s``, ``15m``,
``12h``, ``20d``, ``2w``, combined as ``1d12h``) so that a tester can issue a certificate that is
already inside its renewal window (``SYNC_CERT_VALIDITY=20d``). The operator's info file
(``SYNC_INFO_FILE``: the brokerage's name, service line and terms) is read here too, once: its
words are settings like the rest, and a bad file stops the start with one line.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import platformdirs

from sync_server.errors import ConfigError
from sync_server.info import DEFAULT_INFO, BrokerageInfo, load_info

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# ASCII digits only: ``\d`` would take ``٣d`` (Arabic-Indic three) for three days.
_DURATION = re.compile(r"([0-9]+)([smhdw])", re.ASCII)
# No setting needs more; past it, ``timedelta`` overflows (and ``int`` of a 5,000-digit number
# raises its own error), so the bound keeps the one error type for any text.
# Printable ASCII, no blank at either end: it is one line of every order's signed message.
_AUDIENCE = re.compile(r"[\x21-\x7E](?:[\x20-\x7E]{0,198}[\x21-\x7E])?", re.ASCII)
MAX_DURATION = timedelta(days=3660)  # ten years and a bit


def parse_duration(text: str) -> timedelta:
    """``"1d12h"`` → ``timedelta(days=1, hours=12)``. A bare number is refused: say the unit.
    Anything but a sum of ASCII numbers with units, more than zero and at most
    ``MAX_DURATION``, is a ``ConfigError``."""
    compact = text.strip(" \t").lower().replace(" ", "")
    parts = _DURATION.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise ConfigError(
            f"{text[:40]!r} is not a duration; write a number with a unit s, m, h, d or w "
            "(e.g. 20d)."
        )
    limit = int(MAX_DURATION.total_seconds())
    if any(len(n.lstrip("0")) > len(str(limit)) for n, _ in parts):
        seconds = limit + 1
    else:
        seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ConfigError(f"The duration {text!r} must be longer than zero.")
    if seconds > limit:
        raise ConfigError(f"The duration {text[:40]!r} is longer than {MAX_DURATION.days} days.")
    return timedelta(seconds=seconds)


class Secret(str):
    """A string that never shows itself in ``repr``/``str`` formatting of containers."""

    def __repr__(self) -> str:
        return "Secret('**********')"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("certsync", appauthor=False))


@dataclass(frozen=True)
class Settings:
    """Everything the server is told from outside. Secrets are ``Secret`` and masked in repr."""

    data_dir: Path = field(default_factory=default_data_dir)
    # None: SQLite file in data_dir. Out of repr: a PostgreSQL URL may carry a password.
    database_url: str | None = field(default=None, repr=False)
    public_url: str | None = None  # base URL clients see, for the CRL distribution point
    # What signed orders name as their deployment; None: "certsync:" + the CA's fingerprint.
    order_audience: str | None = None
    ca_key_passphrase: Secret | None = None
    ca_key_file: Path | None = None  # load an existing issuing CA instead of generating one
    ca_cert_file: Path | None = None
    ca_chain_file: Path | None = None
    tls_cert_file: Path | None = None  # serve HTTPS itself (else plain HTTP behind a proxy)
    tls_key_file: Path | None = None
    certificate_validity: timedelta = timedelta(days=365)
    renewal_window: timedelta = timedelta(days=30)
    pfx_password_min_length: int = 4
    # Login throttling (``sync_server.login_throttle``): after ``login_max_failures`` wrong
    # passwords for one account from one source in ``login_failure_window``, that source waits
    # ``login_delay`` before its next try for the account, doubling per failure up to
    # ``login_lockout``. One source against any accounts, and one account from all sources,
    # earn the same delays after their own, much higher, counts.
    login_max_failures: int = 5
    login_source_max_failures: int = 100
    login_account_max_failures: int = 50
    login_delay: timedelta = timedelta(minutes=1)
    login_lockout: timedelta = timedelta(minutes=15)  # the longest delay
    login_failure_window: timedelta = timedelta(hours=1)
    session_lifetime: timedelta = timedelta(hours=8)
    enrollment_code_lifetime: timedelta = timedelta(days=7)
    enrollment_max_attempts: int = 5
    redownload_lifetime: timedelta = timedelta(hours=24)
    challenge_lifetime: timedelta = timedelta(minutes=5)
    relay_slot_lifetime: timedelta = timedelta(seconds=120)
    relay_max_ciphertext_bytes: int = 64 * 1024
    max_body_bytes: int = 128 * 1024
    order_clock_tolerance: timedelta = timedelta(minutes=5)
    crl_lifetime: timedelta = timedelta(days=1)
    password_kdf_memory_kib: int = 19456  # Argon2id, OWASP's minimum profile (19 MiB, t=2)
    password_kdf_iterations: int = 2
    # The brokerage's name, service line and terms (SYNC_INFO_FILE, read once by from_env).
    # Out of repr and hash: long texts, in read-only mappings.
    info: BrokerageInfo = field(default=DEFAULT_INFO, repr=False, hash=False)

    def __post_init__(self) -> None:
        if self.renewal_window >= self.certificate_validity * 2:
            raise ConfigError("The renewal window must be shorter than twice the validity.")
        if not 4 <= self.pfx_password_min_length <= 64:
            raise ConfigError("The PFX password minimum length must be between 4 and 64.")
        for name in (
            "login_max_failures",
            "login_source_max_failures",
            "login_account_max_failures",
            "enrollment_max_attempts",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1.")
        if self.login_delay > self.login_lockout:
            raise ConfigError("The first login delay must not be longer than the longest one.")
        if (self.ca_key_file is None) != (self.ca_cert_file is None):
            raise ConfigError("Set both SYNC_CA_KEY_FILE and SYNC_CA_CERT_FILE, or neither.")
        if self.order_audience is not None and not _AUDIENCE.fullmatch(self.order_audience):
            raise ConfigError(
                "SYNC_ORDER_AUDIENCE must be 1 to 200 printable ASCII characters "
                "(for example certsync:yiyin-production)."
            )
        if (self.tls_key_file is None) != (self.tls_cert_file is None):
            raise ConfigError("Set both SYNC_TLS_KEY_FILE and SYNC_TLS_CERT_FILE, or neither.")

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'certsync.db'}"

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``SYNC_*`` variables; unknown values fail with a one-line ``ConfigError``."""
        env = os.environ if environ is None else environ
        kwargs: dict[str, object] = {}

        def text(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def integer(name: str) -> int | None:
            value = text(name)
            if value is None:
                return None
            try:
                return int(value)
            except ValueError:
                raise ConfigError(f"{name} must be a whole number, not {value!r}.") from None

        if (v := text("SYNC_DATA_DIR")) is not None:
            kwargs["data_dir"] = Path(v).expanduser()
        if (v := text("SYNC_DATABASE_URL")) is not None:
            kwargs["database_url"] = v
        if (v := text("SYNC_PUBLIC_URL")) is not None:
            kwargs["public_url"] = v.rstrip("/")
        if (v := text("SYNC_ORDER_AUDIENCE")) is not None:
            kwargs["order_audience"] = v
        if (v := text("SYNC_INFO_FILE")) is not None:
            kwargs["info"] = load_info(Path(v).expanduser())
        if (v := text("SYNC_CA_KEY_PASSPHRASE")) is not None:
            kwargs["ca_key_passphrase"] = Secret(v)
        for name, key in (
            ("SYNC_CA_KEY_FILE", "ca_key_file"),
            ("SYNC_CA_CERT_FILE", "ca_cert_file"),
            ("SYNC_CA_CHAIN_FILE", "ca_chain_file"),
            ("SYNC_TLS_CERT_FILE", "tls_cert_file"),
            ("SYNC_TLS_KEY_FILE", "tls_key_file"),
        ):
            if (v := text(name)) is not None:
                kwargs[key] = Path(v).expanduser()
        durations = {
            "SYNC_CERT_VALIDITY": "certificate_validity",
            "SYNC_RENEWAL_WINDOW": "renewal_window",
            "SYNC_LOGIN_LOCKOUT": "login_lockout",
            "SYNC_LOGIN_DELAY": "login_delay",
            "SYNC_LOGIN_FAILURE_WINDOW": "login_failure_window",
            "SYNC_SESSION_LIFETIME": "session_lifetime",
            "SYNC_ENROLLMENT_CODE_LIFETIME": "enrollment_code_lifetime",
            "SYNC_REDOWNLOAD_LIFETIME": "redownload_lifetime",
            "SYNC_CHALLENGE_LIFETIME": "challenge_lifetime",
            "SYNC_RELAY_SLOT_LIFETIME": "relay_slot_lifetime",
        }
        for name, key in durations.items():
            if (v := text(name)) is not None:
                kwargs[key] = parse_duration(v)
        integers = {
            "SYNC_PFX_PASSWORD_MIN_LENGTH": "pfx_password_min_length",
            "SYNC_LOGIN_MAX_FAILURES": "login_max_failures",
            "SYNC_LOGIN_SOURCE_MAX_FAILURES": "login_source_max_failures",
            "SYNC_LOGIN_ACCOUNT_MAX_FAILURES": "login_account_max_failures",
            "SYNC_ENROLLMENT_MAX_ATTEMPTS": "enrollment_max_attempts",
        }
        for name, key in integers.items():
            if (n := integer(name)) is not None:
                kwargs[key] = n
        return cls(**kwargs)  # type: ignore[arg-type]
