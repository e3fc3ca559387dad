"""The browser pages, installed with the server as package data.

``pages/`` holds the HTML, ``static/`` the scripts, styles and icon served at ``/static/``, and
``node_modules/socket.io-client/dist/`` (from ``npm ci``) the one vendored script. In a clone
these are read where they are; a wheel carries the same files in the same places.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent
