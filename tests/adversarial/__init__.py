"""Hostile clients: forged tokens, malformed payloads and frames, floods, other sites' origins,
password guessing; the server answers each clearly and keeps serving the class."""
