"""What an interrupted `stockmart run` leaves in its Dagster home, cleared before the next one starts.

`stockmart run` executes in its own process, where no daemon watches: a killed process leaves its run STARTED
(it would look like work in progress for ever) and any pool slot it held taken (every later mart step would
wait). In a deployment the daemon does this (``run_monitoring``).
"""

import os

import dagster as dg

RUNNER_PID_TAG = "stockmart/pid"  # on the runs `stockmart run` executes in its own process


def fail_runs_of_dead_processes(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the runs a killed `stockmart run` left unfinished; return their ids.

    `stockmart run` executes in its own process, where no daemon watches: if that process is killed its run
    stays STARTED, and would look like work in progress for ever.
    """
    ended = []
    in_flight = instance.get_run_records(dg.RunsFilter(statuses=[
        dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]))
    for record in in_flight:
        run = record.dagster_run
        pid = run.tags.get(RUNNER_PID_TAG)
        if pid and pid.isdigit() and not _is_alive(int(pid)):
            instance.report_run_failed(run, f"the process that ran it (pid {pid}) is gone")
            ended.append(run.run_id)
    return ended


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def free_slots_of_finished_runs(instance: dg.DagsterInstance) -> int:
    """Free the pool slots (and queue places) of runs that have ended; return how many runs had some.

    A run interrupted inside a mart step ends without freeing its slot, and every later mart step would wait.
    In a deployment the daemon does this (``run_monitoring.free_slots_after_run_end_seconds``); ``stockmart run``
    has no daemon, so it does it before it starts.
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return 0
    run_ids = list(storage.get_concurrency_run_ids())
    if not run_ids:
        return 0
    finished = instance.get_run_records(dg.RunsFilter(run_ids=run_ids, statuses=[
        dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]))
    for record in finished:
        storage.free_concurrency_slots_for_run(record.dagster_run.run_id)
    return len(finished)
