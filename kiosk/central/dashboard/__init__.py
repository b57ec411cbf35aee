"""The dashboards' presentation: figure texts in three languages, indices and the extra views the pages show."""
