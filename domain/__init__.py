"""The attendance domain: what a prompt, a student's state and a lesson's verdict are.

Plain types and rules with no I/O, shared by every layer: ``storage`` stores them, ``realtime``
plays a live lesson by them, ``server`` reports with them. Nothing here imports the project's
other packages, so any of them can import it without running upward.
"""
