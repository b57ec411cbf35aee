"""A manager call as it crosses the network: the body a terminal POSTs to ``/api/v1/manager-calls``.

It says which device called and when, nothing else; the server knows the store from the device's token and
validates requests with this same model. The terminal sends it (``kiosk.device.manager_call``).
"""

from __future__ import annotations

import uuid

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

ENDPOINT = "/api/v1/manager-calls"


class ManagerCallPayload(BaseModel):
    """The body of a manager call; ``call_id`` makes a repeated POST of the same call a no-op."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str = Field(min_length=1, max_length=64, description="The terminal's store.device_id.")
    call_id: uuid.UUID = Field(description="Random per call: a retried request is stored once.")
    called_at: AwareDatetime = Field(description="The terminal's clock at the tap (the server keeps its own too).")
