"""The measuring core: values in, values out, time only from frame timestamps.

observation (what vision reports) -> geometry, body_model, plausibility, placement (a person on the floor) ->
tracking (tracks, zones, roles) -> scene (one frame of tracked people) -> episodes, facing, measures (one state
machine per customer) -> interaction (the stored record) -> rubrics (scores), privacy (aggregates with
k-suppression), report (tables and JSON of interactions). No camera, clock, database, network, UI or globals: a
test feeds plain data (tests/core/). ``tests/test_layers.py`` keeps it that way.
"""
