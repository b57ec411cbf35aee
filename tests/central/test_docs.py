"""Every setting and every API route explains itself (STYLE 9: a docs test keeps them documented)."""

from __future__ import annotations

import pytest

from kiosk.central.app import create_app
from kiosk.settings.central import AlertSettings, CentralSettings, ThrottleSettings


@pytest.mark.parametrize("model", [CentralSettings, AlertSettings, ThrottleSettings])
def test_every_setting_has_a_description(model: type) -> None:
    missing = [name for name, f in model.model_fields.items() if not f.description]
    assert missing == []


def test_every_api_route_is_described(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(CentralSettings(db_url=f"sqlite:///{tmp_path / 'c.sqlite'}"))
    undocumented = [
        f"{method.upper()} {path}"
        for path, ops in app.openapi()["paths"].items()
        for method, op in ops.items()
        if not op.get("description")
    ]
    app.state.engine.dispose()
    assert undocumented == []
