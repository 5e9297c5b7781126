"""CertSync benchmarks: one command (``python -m bench``) that prints one table.

The harness starts real servers as subprocesses on free loopback ports (``sync-server serve``
on a temporary SQLite file, or on a temporary PostgreSQL database it creates and drops), prepares
customers, sessions and enrollment slips through the server's own library against the same
database (not timed), and drives load from this process. The modules, one concept each:

    cli.py        the run order, the header and the JSON file
    options.py    the command line's arguments
    profiles.py   the figures and how much each does (default, ``--quick``, ``--smoke``)
    session.py    a session's folder and rows; CPU metering of each timed action
    figures_server.py    issuance, logins, status, pairing rows against one server
    figures_local.py     start-up, PFX open, CRL and size rows (no server running)
    figures_scaleout.py  the two-instance rows and the at-most-once races' row
    servers.py    server subprocesses, free ports, temporary PostgreSQL databases
    prepare.py    customers, sessions, slips, certificates and CSRs made before timing
    load.py       the closed-loop load generator: K workers, keep-alive, warmed before timing
    wire.py       the lean HTTP/1.1 client it uses (httpx2 costs more CPU than the bare server)
    stats.py      samples, medians of runs, percentiles and the printed table
    issuance.py   enrolment over HTTP, the CA's raw signing rate and the login rate
    cfssl_peer.py the issuance peer: ``cfssl serve`` with a throwaway CA, the same CSRs
    status.py     the status endpoint beside a bare Starlette endpoint
    bare_app.py   that bare endpoint, served by uvicorn exactly as ``sync-server serve`` does
    pairing.py    open → upload → claim → PC notified, timed end to end (lean client and SDK's)
    handoff.py    ``pc-client pair`` → ``mobile-stub pair`` as processes, beside magic-wormhole
    sizes.py      the hot paths at 1,000 and 100,000 customers (nothing O(n))
    startup.py    CLI start-up time beside bare Python
    pfx_open.py   opening a PFX at 600,000 and at 2,048 PBKDF2 iterations
    scaleout.py   two instances on one PostgreSQL database, and the at-most-once checks
    profile_areas.py  a py-spy profile of the server grouped into areas (not part of a run)

Nothing here is imported by the product; the test suite runs only a tiny smoke run
(``tests/test_bench_smoke.py``).
"""
