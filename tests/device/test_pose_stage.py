"""Building the pose stage sets up the process for it."""

from __future__ import annotations

from threadpoolctl import threadpool_info, threadpool_limits

from kiosk.device.pipeline import pose_stage
from kiosk.settings.tree import Settings


def test_building_the_pose_stage_leaves_numpy_one_blas_thread() -> None:
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas, "NumPy should load a BLAS library"
    with threadpool_limits(limits=2, user_api="blas"):  # as a 2-core machine starts
        stage = pose_stage(Settings())
        try:
            assert {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"} == {1}
        finally:
            stage.close()
