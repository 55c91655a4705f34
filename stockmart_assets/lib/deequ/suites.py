"""The quality suites: one per landed table, one rule per line.

Column names and allowed values come from the landing contract, so a rule never repeats a name or a choice
list. Adding a rule is adding a line here; ``rules.KINDS`` says how each kind is checked.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from stockmart_assets.lib.landing.contract import BUDGET, CUSTOMER, STOCK_PRICE, STOCKS, TRADE, LandingTable
from stockmart_assets.lib.deequ.rules import Rule

DEFAULT_MAX_MISSING_SHARE = 0.20


@dataclass(frozen=True)
class Suite:
    """The rules one table (or one partition of it) must meet."""

    table: str
    rules: tuple[Rule, ...]
    name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.table)
        seen = [rule.description for rule in self.rules]
        duplicates = {d for d in seen if seen.count(d) > 1}
        if duplicates:
            raise ValueError(f"suite {self.name}: rule descriptions must be unique, repeated: {duplicates}")

    def rule(self, description: str) -> Rule:
        for rule in self.rules:
            if rule.description == description:
                return rule
        raise KeyError(f"suite {self.name} has no rule {description!r}")


def missing_share_rule(table: LandingTable, max_share: float = DEFAULT_MAX_MISSING_SHARE) -> Rule:
    """Data stability: the share of NULL cells over the table's columns stays below ``max_share``."""
    return Rule(tuple(table.column_names), "missing_share", high=max_share)


def reference_rules(table: LandingTable) -> tuple[Rule, ...]:
    """Referential integrity, from the contract's foreign keys: each must match a row of its parent table."""
    return tuple(Rule(column, "references", other=(parent, parent_column))
                 for column, parent, parent_column in table.parents)


def with_max_missing_share(suite: Suite, max_share: float) -> Suite:
    """The same suite with another missing-cell threshold."""
    rules = tuple(
        replace(rule, high=max_share, description="") if rule.kind == "missing_share" else rule
        for rule in suite.rules
    )
    return replace(suite, rules=rules)


BUDGET_SUITE = Suite(BUDGET.name, (
    Rule("budget_id", "complete"),
    Rule("budget_id", "unique"),
    Rule("budget_id", "integral"),
    Rule("budget", "complete"),
    Rule("budget", "non_negative"),
    Rule("budget", "integral"),
    Rule("budget", "below", high=100_000_000),
    missing_share_rule(BUDGET),
))

CUSTOMER_SEX = Rule("sex", "in", values=CUSTOMER.column("sex").choices)
CUSTOMER_SUITE = Suite(CUSTOMER.name, (
    Rule("customer_id", "complete"),
    Rule("customer_id", "unique"),
    Rule("customer_id", "integral"),
    Rule("name", "complete"),
    CUSTOMER_SEX,
    Rule("age", "integral"),
    Rule("age", "between", low=18, high=150, inclusive=False),
    Rule("budget_id", "complete"),
    Rule("budget_id", "unique"),
    Rule("budget_id", "integral"),
    *reference_rules(CUSTOMER),
    missing_share_rule(CUSTOMER),
))

TRADE_SUITE = Suite(TRADE.name, (
    Rule("order_id", "complete"),
    Rule("order_id", "unique"),
    Rule("order_id", "integral"),
    Rule("customer_id", "complete"),
    Rule("customer_id", "integral"),
    Rule("stock_id", "complete"),
    Rule("stock_id", "integral"),
    Rule("trade_type", "complete"),
    Rule("trade_type", "in", values=TRADE.column("trade_type").choices),
    Rule("quantity", "complete"),
    Rule("quantity", "integral"),
    Rule("quantity", "positive"),
    Rule("order_datetime", "complete"),
    Rule("order_datetime", "in_partition_day"),  # local (Seoul) wall-clock time, as stored
    *reference_rules(TRADE),
    missing_share_rule(TRADE),
))

STOCKS_SUITE = Suite(STOCKS.name, (
    Rule("stock_id", "complete"),
    Rule("stock_id", "unique"),
    Rule("ticker", "complete"),
    Rule("ticker", "unique"),
    Rule("company", "complete"),
    missing_share_rule(STOCKS),
))

STOCK_PRICE_SUITE = Suite(STOCK_PRICE.name, (
    *(Rule(column, "complete") for column in STOCK_PRICE.column_names),
    Rule("high", "ge", other="low"),
    Rule("open", "within", other=("low", "high")),
    Rule("close", "within", other=("low", "high")),
    Rule("volume", "integral"),
    Rule("volume", "non_negative"),
    Rule(STOCK_PRICE.key, "unique"),
    Rule("ts", "in_partition_day"),  # UTC bar time: the partition day is a UTC day
    missing_share_rule(STOCK_PRICE),
))

SUITES: dict[str, Suite] = {
    suite.table: suite for suite in (BUDGET_SUITE, CUSTOMER_SUITE, TRADE_SUITE, STOCKS_SUITE, STOCK_PRICE_SUITE)
}
