"""py4j's view of the JVM, with the classes and methods it has resolved remembered.

py4j resolves ``jvm.com.amazon.deequ.analyzers.Completeness`` one dotted part at a time, a round trip to the
JVM each, every time the name is written, and so does a static method's name on its class. A Deequ pass writes
such names for every analyzer it builds and every day it evaluates: over a thousand round trips for one pass
of one day, in a JVM that has not yet compiled the code that answers them. A fully qualified name means the
same class for the life of the JVM, so the view resolves each once.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


class Names:
    """A package, a class or the whole JVM (``spark._jvm``), whose packages, classes and methods are resolved
    once. A class is called as py4j's is (its constructor); a static field's value is read each time."""

    __slots__ = ("_target", "_names")

    def __init__(self, target: Any):
        self._target = target
        self._names: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        from py4j.java_gateway import JavaClass, JavaMember, JavaPackage

        if name in self._names:
            return self._names[name]
        found = getattr(self._target, name)
        if isinstance(found, (JavaPackage, JavaClass)):
            found = Names(found)
        elif not isinstance(found, JavaMember):
            return found  # a field's value, or the view's own attributes: not a name that stays
        self._names[name] = found
        return found

    def __call__(self, *args: Any) -> Any:
        return self._target(*args)


@lru_cache(maxsize=2)  # the session's JVM; a session started again has a new one
def names(jvm: Any) -> Names:
    """The remembering view of ``jvm`` (a SparkSession's ``_jvm``), one per JVM."""
    return Names(jvm)
