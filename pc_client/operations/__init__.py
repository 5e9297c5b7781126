"""The customer's functions, once, for both front ends: the ``pc-client`` commands and the page.

    status     function 1: gather_status, advise (facts), status_label
    allowed    which functions the rules allow now, and why not (pure, over the status view)
    enroll     function 2 apply, 3 redownload; install_issued (shared with renew)
    renew      function 4
    pair       function 5: start, wait or poll, cancel; the QR code as PNG bytes or text
    transfer   function 6 export, 7 import (from a path or from bytes)
    password   function 8 passwd, 9 security setting; the new password's minimum length
    doctor     function 10: the table's rows, fix one item or all
    environment  the checks behind those rows (each looks, none changes anything)
    session    login, logout
    order      sign an order and send it
    info       the operator's words: brokerage name, service line, the terms and their version

An operation is a plain function over a ``pc_client.app.Context`` and explicit inputs (the
passwords, paths, the security setting, booleans such as ``overwrite`` or ``terms_accepted``).
It returns frozen dataclasses of facts or raises the package's errors (``pc_client.errors``,
``sync_client.errors``, each with its stable ``code``). It never prompts, prints, reads
standard input, or builds the lines a person reads: the click command and the page each render
the facts their own way. That is why operations take a ``Context``, which has no prompter,
rather than the command line's ``App``: a prompt cannot slip in.

Where a function refuses some things before the customer types anything (the command line
asks only then), it has a ``check_*`` step; its answer goes back in as ``checked=`` (from the
same ``Context``). Leaving ``checked`` out runs the check inside, as a page's form post does.

Submodules are imported by their users, not here, so that a command loads only what it needs.
"""
