"""The counter terminal app (Kivy): one-tap rating, privacy notice, honest wait estimate, staff screen.

Only this package imports Kivy, and only its UI modules do (``app``, ``widgets``, ``screens``, ``fonts``'s
registration): ``settings``, ``feed``, ``fakefeed``, ``ratings``, ``wait``, ``pin``, ``i18n`` and ``staffstatus``
are plain Python, so the core and the tests can use them without a display.
"""
