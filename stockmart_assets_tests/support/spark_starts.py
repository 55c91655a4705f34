"""Counts the Spark sessions the test process starts (a run should start one, a 30-day backfill too), and
notes when each running session was stopped.

Installed once per test session (``conftest.py``); it observes ``lib.deequ.spark.start_session``, through
which ``get_spark`` starts every session, and ``stop_spark``, and calls straight through.
"""

import time


class _Starts:
    count = 0
    stopped_at: list[float] = []  # time.time() of each stop of a running session


STARTS = _Starts()


def install() -> None:
    from stockmart_assets.lib.deequ import spark as resources

    if getattr(resources.start_session, "counted", False):
        return
    real_start, real_stop = resources.start_session, resources.stop_spark

    def counting(*args, **kwargs):
        STARTS.count += 1
        return real_start(*args, **kwargs)

    def noting(*args, **kwargs):
        running = resources._session is not None
        result = real_stop(*args, **kwargs)
        if running:
            STARTS.stopped_at.append(time.time())
        return result

    counting.counted = True
    resources.start_session, resources.stop_spark = counting, noting
