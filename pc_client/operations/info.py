"""The operator's words from the server (``GET /api/v1/info``): the brokerage's name, the
customer-service line and hours, and the terms with their version.

The page shows them in its header, its footer and before apply and renew, and sends the terms'
version back with the customer's agreement (``terms_version=`` of ``apply_for_certificate``
and ``renew_certificate``), so the host knows which text was agreed to.
"""

from __future__ import annotations

from pc_client.app import Context
from sync_client.api import BrokerageInfo


def fetch_brokerage_info(ctx: Context) -> BrokerageInfo:
    """The server's ``BrokerageInfo`` (no login needed); ``ServerRefused`` ``bad_response`` when
    the answer has another shape, ``ServerUnreachable`` when there is none."""
    return ctx.client().info()
