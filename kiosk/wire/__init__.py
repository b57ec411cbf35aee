"""What crosses the network between a terminal and the central server, imported by both sides.

``aggregate.py`` (the anonymous aggregates a terminal sends), ``heartbeat.py`` (the "alive" beat and the rule that
calls a device ok or stale), ``manager_call.py`` (a customer's call for a manager). The server validates requests
with these same models, so nothing beyond them can be sent or accepted. Nothing here sends anything.
"""
