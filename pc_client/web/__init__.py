"""``pc-client ui``: the customer's page, a small web service on 127.0.0.1 (the original's
憑證註冊系統 screen, in the browser).

    settings.py     WebSettings: what one launch is given (options, port, launch secret, …)
    security.py     the launch secret → cookie exchange, Host / Origin / cookie checks, headers
    state.py        what one launch remembers between requests (language, drafts, pairing)
    app.py          create_web_app(settings): routes, middleware, templates, static files
    render.py       the templates and the helpers they are given (msg, times, the menu)
    views.py        facts of the operations → what a page shows (rows, sentences); no rules
    forms.py        a form post: its fields, and the error shown beside a field
    folders.py      the folder browser of the export page (瀏覽 → 確定)
    pages_*.py      the routes, one module per concept: session, status, certificate
                    (apply / redownload / renew), files (export / import), phone (pair),
                    settings (passwd / security setting), doctor
    templates/      Jinja2, every sentence a ``msg("web.…")`` id of the one catalogue
    static/         one CSS file, one small JavaScript file: no build step, nothing from the
                    internet

The page is a view, not a second program (STYLE.md, convention 12): a route parses the form,
calls the same operation (``pc_client.operations``) the command calls, and renders a template.
"""
