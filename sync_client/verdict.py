"""Host versus client: the check of function 1 (憑證資料檢核), as a pure rule both clients use.

The verdict compares the certificate on this computer with the host's latest certificate by
SHA-256 fingerprint (serial and dates could coincide by accident; the DER cannot):

- ``match``            the same certificate;
- ``no_local_match``   there is no (registered) certificate on this computer;
- ``mismatch``         this computer holds another certificate than the host's latest.

Whether the matching certificate can be used is a separate fact, the host status code: a
``match`` with status 41 is the right file, but expired. ``usable`` combines the two, and is
what export and upload to phone require.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sync_client.protocol import StatusCode


class Verdict(StrEnum):
    """The three verdicts of the original's check."""

    MATCH = "match"
    NO_LOCAL_MATCH = "no_local_match"
    MISMATCH = "mismatch"


@dataclass(frozen=True)
class Check:
    """A verdict together with whether the host's certificate is valid."""

    verdict: Verdict
    host_valid: bool

    @property
    def usable(self) -> bool:
        """The local certificate is the host's current valid one."""
        return self.verdict is Verdict.MATCH and self.host_valid


def check_match(
    *, host_code: int, host_fingerprint: str | None, local_fingerprint: str | None
) -> Check:
    """Compare fingerprints (lower-case hex SHA-256 of the DER); ``None`` means none."""
    host_valid = StatusCode(host_code).is_valid
    if local_fingerprint is None:
        verdict = Verdict.NO_LOCAL_MATCH
    elif host_fingerprint is not None and local_fingerprint == host_fingerprint:
        verdict = Verdict.MATCH
    else:
        verdict = Verdict.MISMATCH
    return Check(verdict, host_valid)
