"""The HTTP contract of docs/PROTOCOL.md as data: one model per request and response body.

One module per concept (``sessions``, ``info``, ``certificates``, ``enrollment``, ``renewal``,
``redownload``, ``orders``, ``relay``, ``errors``), the field types they share (``base``), and
the route table (``routes``) that names each route's method, path, models, session and codes.
The server parses requests and writes answers with these models, the SDK builds requests and
reads answers with them, and ``/openapi.json`` is generated from them. Plain Pydantic (no ORM),
so the clients need nothing of the server.

Requests are strict and closed (exact JSON types, unknown fields refused, lengths bounded,
ASCII where the protocol says so, times in the one written form); responses tolerate fields
they do not know, so that an older client keeps working against a newer server.
"""
