"""Counts the Spark sessions the test process starts: a run should start one, a 30-day backfill too.

Installed once per test session (``conftest.py``); it observes ``lib.deequ.spark.start_session``, through
which ``get_spark`` starts every session, and calls straight through.
"""


class _Starts:
    count = 0


STARTS = _Starts()


def install() -> None:
    from stockmart_assets.lib.deequ import spark as resources

    if getattr(resources.start_session, "counted", False):
        return
    real = resources.start_session

    def counting(*args, **kwargs):
        STARTS.count += 1
        return real(*args, **kwargs)

    counting.counted = True
    resources.start_session = counting
