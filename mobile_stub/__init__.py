"""A stand-in for the phone trading app: log in, receive the certificate by QR code, sign.

Talks to ``sync-server`` only through the wire protocol (``sync_client``); imports nothing from
``sync_server`` or ``pc_client``. The command line is ``mobile_stub.cli``.
"""
