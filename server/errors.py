"""The server package's exceptions.

ServerError
 ├── Problem        an HTTP request fails; rendered as application/problem+json
 └── InvalidToken   a bearer token is malformed, tampered with, or expired
"""

from __future__ import annotations


class ServerError(Exception):
    """Root of the server package's exceptions."""
