"""Read models: the manager's day and the regional comparison, computed from the rollups."""
