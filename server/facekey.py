"""The key that seals face templates: ``TL_FACE_KEY``, or in development a key file beside the
SQLite database, made on first start and readable by its owner alone."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url

from identity.crypto import TemplateCipher, decode_key, key_file_for, load_or_create_key_file
from server.settings import Settings

logger = logging.getLogger(__name__)


def face_cipher(settings: Settings) -> TemplateCipher:
    if settings.face_key is not None:
        return TemplateCipher(decode_key(settings.face_key))
    # Production without TL_FACE_KEY is refused by Settings; this is development.
    url = make_url(settings.database_url)
    database = url.database
    if url.get_backend_name() == "sqlite" and database and database != ":memory:":
        return TemplateCipher(load_or_create_key_file(key_file_for(Path(database))))
    logger.warning(
        "no TL_FACE_KEY and no SQLite file to keep a key beside: face templates enrolled now "
        "will not open after a restart"
    )
    return TemplateCipher(secrets.token_bytes(32))
