"""Schedules, on the service's clock (Asia/Seoul).

- ``daily``: at 01:00 Seoul time, yesterday's partition, end to end, whatever changed. Off by default: the
  ``landing_files`` sensor already runs each day when its files arrive; this is for a deployment that wants
  a fixed time instead.
- ``market_daily``: at 09:30 Seoul time, yesterday's market data (off by default: it calls the internet).
- ``refresh_30min``: every 30 minutes, today's partition (off by default), so intraday trades reach the mart
  through the same gates.
"""

import datetime as dt

import dagster as dg

from stockmart_assets.defs.orchestration import jobs
from stockmart_assets.lib.landing.contract import SERVICE_TIMEZONE


@dg.schedule(name="daily", job=jobs.daily_job, cron_schedule="0 1 * * *", execution_timezone=SERVICE_TIMEZONE,
             default_status=dg.DefaultScheduleStatus.STOPPED)
def daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    day = (context.scheduled_execution_time.date() - dt.timedelta(days=1)).isoformat()
    return dg.RunRequest(partition_key=day, run_key=f"daily:{day}")


@dg.schedule(name="refresh_30min", job=jobs.daily_job, cron_schedule="*/30 * * * *", execution_timezone=SERVICE_TIMEZONE,
             default_status=dg.DefaultScheduleStatus.STOPPED)
def refresh_30min(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    day = context.scheduled_execution_time.date().isoformat()
    return dg.RunRequest(partition_key=day, run_key=f"refresh:{context.scheduled_execution_time.isoformat()}")


@dg.schedule(name="market_daily", job=jobs.market_job, cron_schedule="30 9 * * *", execution_timezone=SERVICE_TIMEZONE,
             default_status=dg.DefaultScheduleStatus.STOPPED)
def market_daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """At 09:30 Seoul time the previous UTC day is over (and the US session closed): fetch it. Off by default:
    it calls Yahoo and Upbit, which a machine without internet cannot reach."""
    day = (context.scheduled_execution_time.date() - dt.timedelta(days=1)).isoformat()
    return dg.RunRequest(partition_key=day, run_key=f"market:{day}")
