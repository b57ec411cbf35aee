"""Settings of the counter terminal app (``[terminal]`` in the settings file, ``KIOSK_TERMINAL__*`` in the
environment once the lead adds it to :class:`kiosk.settings.tree.Settings` as ``terminal``).

Defaults follow RUBRIC-SOURCES §4: rating optional and asked once, a generous ~30 s before the rating screen
gives up (R11), one rating per interaction (R6/R8), and an honest "up to" wait estimate (W10/W11: p80 of recent
waits, off until the store turns it on). This module imports no Kivy, so the core can validate it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kiosk.settings.pin import parse_pin_hash

Language = Literal["ru", "fa", "en"]


class TerminalSettings(BaseModel):
    """The Kivy terminal: timings, the wait estimate, the staff PIN, languages and the window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # ---- rating (RUBRIC-SOURCES R6, R8, R9-R11, X24) --------------------------------------------------------
    rating_dedupe_window_s: float = Field(
        8.0, ge=0, le=600,
        description="Taps within this many seconds of a counted tap are the same customer's repeat: counted once "
                    "(rubric R6/R8). 0 counts every tap.")
    rating_link_window_s: float = Field(
        45.0, ge=0, le=600,
        description="A tap links to an interaction that ended up to this long before it, or, when a customer is "
                    "at the service spot, to the interaction that ends within this long after it; otherwise the "
                    "tap is stored alone.")
    rating_timeout_s: float = Field(
        30.0, ge=5, le=300,
        description="The rating screen goes back to idle after this long without a tap (rubric R11: enough "
                    "time; X24: no answer is fine).")
    reason_timeout_s: float = Field(
        20.0, ge=5, le=300,
        description="The optional follow-up question shown after every rating closes after this long.")
    thanks_s: float = Field(4.0, ge=1, le=60, description="How long the thank-you screen stays.")
    notice_timeout_s: float = Field(
        60.0, ge=10, le=600, description="The privacy notice goes back to idle after this long without a touch.")
    manager_call_timeout_s: float = Field(
        5.0, gt=0, le=30,
        description="How long the terminal waits for the central server to take a manager call before it tells the "
                    "customer to ask at the counter (the call is sent once, never queued).")
    auto_prompt: bool = Field(
        True,
        description="Show the rating screen by itself when a customer steps up to the service spot (once per "
                    "customer, rubric R10/X24); a tap on the idle screen always opens it.")

    # ---- the privacy notice: who answers for the data (GDPR Art. 13) ------------------------------------------
    operator_name: str = Field(
        "", max_length=120,
        description="Who runs this system (the data controller), shown on the notice screen. Empty shows a dash: "
                    "set it before the terminal goes on the counter.")
    operator_contact: str = Field(
        "", max_length=120,
        description="How customers reach the operator about their data (e-mail, phone or address), shown on the "
                    "notice screen.")

    # ---- honest wait estimate (RUBRIC-SOURCES W10/W11, §6) -------------------------------------------------
    wait_estimate_enabled: bool = Field(False, description="Show 'up to N min' on the idle screen (store's choice).")
    wait_percentile: float = Field(
        80.0, ge=50, le=99, description="The upper percentile of recent waits shown as 'up to' (W10/W11).")
    wait_window_min: float = Field(60.0, gt=0, le=24 * 60, description="Waits of interactions started this recently count.")
    wait_min_samples: int = Field(
        5, ge=1, le=1000, description="Fewer recent waits than this: no estimate is shown (never an invented figure).")
    wait_refresh_s: float = Field(60.0, ge=5, le=3600, description="How often the estimate is recomputed.")

    # ---- staff screen ----------------------------------------------------------------------------------------
    staff_pin_hash: str | None = Field(
        None,
        description="The staff PIN's hash as `kiosk set-pin` writes it (scrypt, never the plain PIN). "
                    "Unset: the staff screen cannot be opened.")
    pin_max_attempts: int = Field(5, ge=1, le=100, description="Wrong PINs in a row before the pad locks.")
    pin_lockout_s: float = Field(60.0, ge=0, le=3600, description="How long the pad stays locked.")
    staff_timeout_s: float = Field(
        120.0, ge=10, le=3600, description="The staff screen closes itself (and the preview stops) after this long untouched.")
    status_refresh_s: float = Field(2.0, ge=0.5, le=60, description="Staff screen: outbox, disk and sync refresh period.")

    # ---- languages and window --------------------------------------------------------------------------------
    languages: tuple[Language, ...] = Field(
        ("ru", "fa", "en"), min_length=1, description="Languages offered on screen, in this order.")
    default_language: Language = Field("ru", description="The language the idle screen returns to.")
    fullscreen: bool = Field(True, description="Full screen (kiosk); off for a window on a desktop.")
    orientation: Literal["auto", "landscape", "portrait"] = Field(
        "auto", description="auto follows the display; landscape/portrait set the window shape when windowed.")
    window_width_px: int = Field(1280, ge=320, le=7680, description="Window width when not full screen.")
    window_height_px: int = Field(800, ge=240, le=7680, description="Window height when not full screen.")
    snapshot_poll_s: float = Field(0.2, ge=0.02, le=5, description="How often the UI reads the pipeline's snapshot.")

    @field_validator("languages")
    @classmethod
    def _no_repeats(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(v)) != len(v):
            raise ValueError(f"languages must not repeat, got {list(v)}")
        return v

    @field_validator("staff_pin_hash")
    @classmethod
    def _looks_hashed(cls, v: str | None) -> str | None:
        if v is not None:
            parse_pin_hash(v)  # raises ValueError naming the expected form; a plain PIN never parses
        return v

    @model_validator(mode="after")
    def _default_is_offered(self) -> TerminalSettings:
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {self.default_language!r} is not in languages {list(self.languages)}")
        return self
