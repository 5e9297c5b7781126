"""The Python SDK of the CertSync wire protocol, shared by ``pc_client`` and ``mobile_stub``.

Everything here follows ``docs/PROTOCOL.md``: the HTTP calls (``api``), the relay envelope
(``envelope``), the QR payload (``qr``), PKCS#12 files (``pfx``), key pairs and signatures
(``keys``), and the protocol's pure vocabulary (``protocol``, ``national_id``).
"""
