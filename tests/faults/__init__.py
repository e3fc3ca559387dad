"""Faults injected into a running server: the database cut off, the judge or the detector
raising or slow, a client leaving mid-check, a server process killed or stopped."""
