"""``pc-client``'s way to the one message catalogue (``sync_client.i18n``).

Every sentence ``pc-client`` (and its page) shows a person is ``msg(id, **values)``: the id's
template in the current language, from ``sync_client/locale``. Machine codes (``[code]`` in
errors, ``--json`` fields) are never translated. Messages never contain a password, a key or a
token: templates only take public values.
"""

from __future__ import annotations

from sync_client.i18n import N_, msg, placeholders

__all__ = ["N_", "describe_setting", "msg", "placeholders"]

SETTING_DESCRIPTIONS = {
    1: N_("setting.description.1"),
    2: N_("setting.description.2"),
    3: N_("setting.description.3"),
}


def describe_setting(setting: int) -> str:
    """The security setting's meaning, for people."""
    return msg(SETTING_DESCRIPTIONS[setting])
