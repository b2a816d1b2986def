"""Who is acting: ``$USER@host``, recorded with every ack, note, silence and override."""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping


def whoami(env: Mapping[str, str] | None = None, host: str | None = None) -> str:
    """``$USER@host`` (``$LOGNAME`` or the password database when ``$USER`` is unset).

    >>> whoami({"USER": "ana"}, host="jump1")
    'ana@jump1'
    """
    env = os.environ if env is None else env
    user = env.get("USER") or env.get("LOGNAME")
    if not user:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
    return f"{user}@{host or socket.gethostname() or 'localhost'}"
