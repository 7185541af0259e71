"""Asterisk side of the telephony bridge: AMI events in, call outcomes POSTed to the platform.

Imports nothing from ``app/``; it talks to the platform over HTTP with a bearer token only.

- ``protocol``     AMI wire format: incremental parser and action encoder (pure)
- ``calls``        outcome detection: events → outcomes (pure); the ``CallTracker``
- ``correlation``  which call an event belongs to: Linkedid, aliases, Asterisk 11 links (pure)
- ``event_fields`` what an event's headers say about a call (pure)
- ``call_state``   the Call record, the rules the dialplan sets, the posted Outcome
- ``client``       TCP session: login, Ping, reconnect with backoff, CoreShowChannels/QueueStatus resync
- ``poster``       bounded outcome queue and ordered, retried HTTP delivery
- ``bridge``       wires the above; ``__main__`` runs it from environment variables (``settings``)
- ``fake_pbx``     a scripted fake AMI server for tests and demos
"""
