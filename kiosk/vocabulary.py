"""The product's words, written once: zones, roles, rating values, the aggregated measures, distance bands.

Settings, the core, the wire format, the terminal and the server all name these; a new zone or measure is
added here and every validator that lists them follows. Values only: nothing here imports anything of kiosk.

Example:
    >>> "queue" in WAIT_ZONES, RATINGS[-1]
    (True, 4)
"""

from __future__ import annotations

from typing import Literal, get_args

ZoneName = Literal["staff", "service", "queue"]
ZONES: tuple[ZoneName, ...] = get_args(ZoneName)
WAIT_ZONES: tuple[ZoneName, ...] = ("queue", "service")  # a customer standing here is waiting or being served

Role = Literal["staff", "customer"]  # staff while their track stays in the staff zone (DESIGN §1)
ROLES: tuple[Role, ...] = get_args(Role)

Rating = Literal[1, 2, 3, 4]  # the customer's tap: 1 (unhappy face) to 4 (happy face)
RATINGS: tuple[Rating, ...] = get_args(Rating)

# The measures an aggregate carries statistics of (DESIGN §5), named as Interaction fields.
MEASURES: tuple[str, ...] = ("greeting_s", "wait_s", "eye_contact_ratio", "distance_m_median")

DistanceBand = Literal["intimate", "personal", "social", "public"]  # Hall's proxemic bands (DESIGN §4)
DISTANCE_BANDS: tuple[DistanceBand, ...] = get_args(DistanceBand)
