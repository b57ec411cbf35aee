"""Scripted scenes -> observations with ground truth (``simulate.py``): the core's test bench, no pixels.

Composed real-people video lives in ``kiosk.vision.compose`` (it draws pixels and uses :func:`simulate.states_at`).
"""
