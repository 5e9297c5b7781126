"""Errors of the phone stand-in, on top of the SDK's (``sync_client.errors``).

    ClientError (sync_client)             code + one-sentence message
    ├── NotLoggedIn (sync_client)         no phone session in this home (``not_logged_in``)
    ├── WrongServer (sync_client)         ``--server`` is not the session's server
    ├── PasswordNotRemembered (sync_client)  setting 3, but no PFX password is kept
    └── PhoneError                        something about the phone's own state or input
        ├── PhoneStoreCorrupt             a file in the phone's home cannot be read back
        ├── NoCertificateOnPhone          the keystore has no certificate for the customer
        ├── NoPendingPairing              ``pair --retry`` with nothing received
        ├── QrForAnotherServer            the QR code names another server than the session's
                                          (``qr_other_server``; nothing is sent anywhere)
        └── PairingRefused                the received PFX is not one the phone may store;
                                          codes ``pfx_invalid``, ``pfx_wrong_customer``,
                                          ``certificate_not_current``

Every code the phone decides itself is a member of ``PhoneCode`` (codes both clients decide are
the SDK's ``ClientCode``; a refusal that means a server code's condition uses its ``ErrorCode``).

Every message is in the customer's words (``msg("phone.…")``, in the language of the run),
and so are the SDK's errors that the phone raises itself to say more than the SDK could (a
mistyped PFX password: the received certificate is kept, and how to type it again).

The CLI prints every ``ClientError`` as ``error: <message> [<code>]`` (its prefix in the
customer's language; ``mobile_stub.messages.user_message`` chooses the message); tests assert
codes.
"""

from __future__ import annotations

from enum import StrEnum

from sync_client.errors import ClientError, NotLoggedIn

__all__ = [
    "NoCertificateOnPhone",
    "NoPendingPairing",
    "NotLoggedIn",
    "PairingRefused",
    "PhoneCode",
    "PhoneError",
    "PhoneStoreCorrupt",
    "QrForAnotherServer",
]


class PhoneCode(StrEnum):
    """The codes of the phone's own refusals."""

    PHONE_ERROR = "phone_error"
    PHONE_STORE_CORRUPT = "phone_store_corrupt"
    NO_CERTIFICATE_ON_PHONE = "no_certificate_on_phone"
    NO_PENDING_PAIRING = "no_pending_pairing"
    PAIRING_REFUSED = "pairing_refused"
    QR_OTHER_SERVER = "qr_other_server"  # the QR code's origin is not the session's server
    FILE_ERROR = "file_error"  # the phone's own files: a full disk, a read-only folder


class PhoneError(ClientError):
    code = PhoneCode.PHONE_ERROR


class PhoneStoreCorrupt(PhoneError):
    code = PhoneCode.PHONE_STORE_CORRUPT


class NoCertificateOnPhone(PhoneError):
    code = PhoneCode.NO_CERTIFICATE_ON_PHONE


class NoPendingPairing(PhoneError):
    code = PhoneCode.NO_PENDING_PAIRING


class PairingRefused(PhoneError):
    code = PhoneCode.PAIRING_REFUSED


class QrForAnotherServer(PhoneError):
    """A QR code for another server than the one the phone logged in to: a mistake, or a
    stranger's code leading the phone elsewhere. Refused before any request."""

    code = PhoneCode.QR_OTHER_SERVER
