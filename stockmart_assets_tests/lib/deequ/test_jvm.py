"""The remembering view of Spark's JVM (``lib.deequ.jvm``), on a real session."""

from __future__ import annotations

import pytest

from stockmart_assets.lib.deequ.jvm import Names, names
from stockmart_assets_tests.support.jvm_calls import jvm_calls

pytestmark = pytest.mark.spark


def test_a_class_and_its_static_methods_are_resolved_once_then_called_as_py4j_calls_them(spark):
    jvm = Names(spark._jvm)  # a view of its own: the process's (``names``) may have resolved these already

    def build() -> None:
        jvm.com.amazon.deequ.analyzers.Completeness("quantity", jvm.scala.Option.apply(None),
                                                    jvm.scala.Option.apply(None))

    first, again = jvm_calls(spark, build), jvm_calls(spark, build)
    assert first > again == 3  # the constructor and Option.apply twice: no name resolved again
    assert jvm_calls(spark, lambda: spark._jvm.scala.Option.apply(None)) > 1  # py4j's own view resolves each time
    built = jvm.com.amazon.deequ.analyzers.Completeness("quantity", jvm.scala.Option.apply("quantity > 0"),
                                                        jvm.scala.Option.apply(None))
    assert built.toString() == "Completeness(quantity,Some(quantity > 0),None)"
    assert names(spark._jvm) is names(spark._jvm)  # one view per JVM


def test_a_static_fields_value_is_read_each_time(spark):
    jvm = names(spark._jvm)
    assert jvm.java.lang.Integer.MAX_VALUE == 2**31 - 1
    assert jvm_calls(spark, lambda: jvm.java.lang.Integer.MAX_VALUE) == 1
