"""The shared fixtures (a real server, API clients, Socket.IO participants, PostgreSQL and
Redis) come from testkit/; see testkit/fixtures.py."""

pytest_plugins = ["testkit.fixtures"]
