"""``pc-client``: the customer's PC side of CertSync (docs/PROTOCOL.md, shared/PRODUCT.md).

The local certificate store (``store``), the ten functions as commands (``commands``), the
user-facing text (``messages``), and the command line (``cli``). It talks to the server only
through ``sync_client``.
"""
