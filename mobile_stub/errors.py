"""Errors of the phone stand-in, on top of the SDK's (``sync_client.errors``).

    ClientError (sync_client)             code + one-sentence message
    └── PhoneError                        something about the phone's own state or input
        ├── NotLoggedIn                   no phone session in this home (``not_logged_in``)
        ├── NoInput                       a prompt found standard input at its end (``no_input``)
        ├── PhoneStoreCorrupt             a file in the phone's home cannot be read back
        ├── NoCertificateOnPhone          the keystore has no certificate for the customer
        ├── NoPendingPairing              ``pair --retry`` with nothing received
        └── PairingRefused                the received PFX is not one the phone may store;
                                          codes ``pfx_wrong_customer``, ``certificate_not_current``

Every message is in the customer's words (``msg("phone.…")``, in the language of the run),
and so are the SDK's errors that the phone raises itself to say more than the SDK could (a
mistyped PFX password: the received certificate is kept, and how to type it again).

The CLI prints every ``ClientError`` as ``error: <message> [<code>]`` (its prefix in the
customer's language; ``mobile_stub.messages.user_message`` chooses the message); tests assert
codes.
"""

from __future__ import annotations

from sync_client.errors import ClientError


class PhoneError(ClientError):
    code = "phone_error"


class NotLoggedIn(PhoneError):
    code = "not_logged_in"


class NoInput(PhoneError):
    code = "no_input"


class PhoneStoreCorrupt(PhoneError):
    code = "phone_store_corrupt"


class NoCertificateOnPhone(PhoneError):
    code = "no_certificate_on_phone"


class NoPendingPairing(PhoneError):
    code = "no_pending_pairing"


class PairingRefused(PhoneError):
    code = "pairing_refused"
