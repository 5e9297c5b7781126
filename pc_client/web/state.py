"""What one launch of the page remembers between requests, in memory only.

    language     the page's language (the switch changes it; the store remembers it too)
    gate         the launch secret and the session tokens (``security.LaunchGate``)
    drafts       an application in progress: the slip's code, checked, between its three
                 steps (so the code is never written into a page), and whether the terms were
                 agreed to for the application or the renewal
    pairing      the open 憑證上傳手機 slot: its QR image is served from here, never a file
    info         the brokerage's words (``GET /info``), asked once

One customer uses one launch, but the browser may send requests in parallel (routes run in a
thread pool), so every change takes the lock. Nothing here is written to disk except the
language, through the store's settings.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from pc_client.operations.pair import Pairing, PairingOutcome
from pc_client.web.security import LaunchGate
from pc_client.web.settings import WebSettings
from sync_client.api import BrokerageInfo
from sync_client.i18n import Language

# A slip's code typed on step 1 waits this long for steps 2 and 3.
DRAFT_LIFETIME = 15 * 60.0


@dataclass(frozen=True, repr=False)
class ApplyDraft:
    """Step 1 of an application: the slip's code, as the server accepted it."""

    customer_id: str
    enrollment_code: str
    started: float  # monotonic
    agreed: bool = False  # step 2: the customer agreed to the terms …
    terms_version: str | None = None  # … of this version (None: the server did not say)

    def __repr__(self) -> str:
        return f"ApplyDraft(customer_id={self.customer_id!r}, code=***)"

    def fresh(self, now: float) -> bool:
        """Still within ``DRAFT_LIFETIME`` of step 1."""
        return now - self.started < DRAFT_LIFETIME


@dataclass(frozen=True, repr=False)
class OpenPairing:
    """The pairing the page shows: the slot, its QR image, how it stands."""

    pairing: Pairing
    qr_png: bytes
    outcome: PairingOutcome | None = None  # None: not asked yet

    def __repr__(self) -> str:
        return f"OpenPairing(slot_id={self.pairing.slot_id!r})"


class WebState:
    """The launch's memory; see the module docstring."""

    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self.gate = LaunchGate(settings.launch_secret)
        self._language: Language = settings.language
        self._apply: ApplyDraft | None = None
        self._renew_terms: tuple[str, str | None] | None = None  # (customer, terms version)
        self._pairing: OpenPairing | None = None
        self._info: BrokerageInfo | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"WebState(port={self.settings.port}, language={self._language!r})"

    # -- language -----------------------------------------------------------------------------

    @property
    def language(self) -> Language:
        """The page's language now."""
        return self._language

    def set_language(self, language: Language) -> None:
        with self._lock:
            self._language = language

    # -- the application's steps ----------------------------------------------------------------

    def apply_draft(self, customer_id: str) -> ApplyDraft | None:
        """The customer's application in progress, if still fresh."""
        with self._lock:
            draft = self._apply
            if draft is None or draft.customer_id != customer_id:
                return None
            if not draft.fresh(time.monotonic()):
                self._apply = None
                return None
            return draft

    def start_apply(self, customer_id: str, enrollment_code: str) -> None:
        with self._lock:
            self._apply = ApplyDraft(customer_id, enrollment_code, time.monotonic())

    def agree_apply_terms(self, customer_id: str, terms_version: str | None) -> bool:
        """Record agreement on the draft; ``False`` when there is no draft any more."""
        with self._lock:
            draft = self._apply
            if draft is None or draft.customer_id != customer_id:
                return False
            self._apply = ApplyDraft(
                draft.customer_id, draft.enrollment_code, draft.started, True, terms_version
            )
            return True

    def withdraw_apply_terms(self) -> None:
        """The terms agreed to are no longer the host's: they must be read again."""
        with self._lock:
            draft = self._apply
            if draft is not None:
                self._apply = ApplyDraft(draft.customer_id, draft.enrollment_code, draft.started)

    def end_apply(self) -> None:
        with self._lock:
            self._apply = None

    def agree_renew_terms(self, customer_id: str, terms_version: str | None) -> None:
        with self._lock:
            self._renew_terms = (customer_id, terms_version)

    def renew_terms_agreed(self, customer_id: str) -> bool:
        with self._lock:
            return self._renew_terms is not None and self._renew_terms[0] == customer_id

    def renew_terms_version(self, customer_id: str) -> str | None:
        """The version of the terms agreed to for the renewal (``None``: not known)."""
        with self._lock:
            agreed = self._renew_terms
            return agreed[1] if agreed is not None and agreed[0] == customer_id else None

    def end_renew(self) -> None:
        with self._lock:
            self._renew_terms = None

    # -- the pairing ----------------------------------------------------------------------------

    @property
    def pairing(self) -> OpenPairing | None:
        return self._pairing

    def open_pairing(self, pairing: Pairing) -> OpenPairing:
        with self._lock:
            self._pairing = OpenPairing(pairing, pairing.qr_png_bytes(scale=8))
            return self._pairing

    def record_outcome(self, slot_id: str, outcome: PairingOutcome) -> None:
        """Keep how the slot stands; once it has ended the QR image is dropped."""
        with self._lock:
            current = self._pairing
            if current is None or current.pairing.slot_id != slot_id:
                return
            self._pairing = OpenPairing(
                current.pairing, b"" if outcome.ended else current.qr_png, outcome
            )

    def forget_pairing(self) -> None:
        with self._lock:
            self._pairing = None

    # -- the brokerage's words ------------------------------------------------------------------

    @property
    def info(self) -> BrokerageInfo | None:
        return self._info

    def remember_info(self, info: BrokerageInfo) -> None:
        with self._lock:
            self._info = info

    def forget_info(self) -> None:
        """Ask the server again next time (the terms changed under the customer)."""
        with self._lock:
            self._info = None
