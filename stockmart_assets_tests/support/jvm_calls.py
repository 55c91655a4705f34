"""Counting the round trips a block of Python makes to Spark's JVM through py4j."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def jvm_calls(spark: Any, action: Callable[[], object]) -> int:
    """How many py4j round trips to the JVM ``action`` makes from this thread (not py4j's own finalizer thread,
    which tells the JVM of Python's dropped references in the background)."""
    client = spark.sparkContext._gateway._gateway_client
    send, calls = client.send_command, [0]

    def counted(*args, **kwargs):
        calls[0] += threading.current_thread() is threading.main_thread()
        return send(*args, **kwargs)

    client.send_command = counted  # every JVM object of the session sends through this client
    try:
        action()
    finally:
        del client.send_command  # the class's method again
    return calls[0]
