from tests.integration.conftest import api, participants, server_url  # noqa: F401
