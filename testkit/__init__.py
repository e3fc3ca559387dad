"""What the tests and the benchmarks share to drive a real server: never shipped in the wheel.

- `testkit.timing`: waits that scale with ``TL_TEST_TIMEOUT_SCALE`` on slow machines;
- `testkit.ports`: a free port on 127.0.0.1;
- `testkit.server`: the app under uvicorn in a thread, configured as ``trust-lesson serve``;
- `testkit.processes`: ``trust-lesson serve`` in its own process;
- `testkit.services`: a fresh PostgreSQL database and the Redis of this machine;
- `testkit.api`: an HTTP API client and a classroom made through it;
- `testkit.blocking`: the same client for synchronous code (the browser tests);
- `testkit.participants`, `testkit.lessons`: Socket.IO connections that record what they get,
  and the steps of a lesson (join, prompt, wait for a state);
- `testkit.tokens`: forged access tokens;
- `testkit.frames`, `testkit.synth`: real face frames and labelled scenes, built at run time;
- `testkit.fixtures`: the pytest fixtures over all of this (``pytest_plugins`` in tests/).

Import it from the repository root (``python -m pytest``, ``python -m bench.X``).
"""
