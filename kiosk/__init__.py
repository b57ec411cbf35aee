"""Service-quality terminal: on-device measures of how customers are served, anonymous aggregates out."""

__version__ = "0.1.0"
