"""Work the server hands to other threads and processes, bounded.

- `Slots`: the count of requests in flight, refused past a limit instead of queued without end.
- `WarmProcesses`: a set of worker processes, each warmed before use, replaced when one dies,
  for models whose Python parts would otherwise hold the server's interpreter lock.
"""

from offload.processes import ProcessPoolFront, WarmProcesses, WorkerDied
from offload.slots import Slots, SlotsClosed, SlotsFull

__all__ = [
    "ProcessPoolFront",
    "Slots",
    "SlotsClosed",
    "SlotsFull",
    "WarmProcesses",
    "WorkerDied",
]
