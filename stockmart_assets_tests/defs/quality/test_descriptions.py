"""What a failed suite check says in its description: every failed rule, the first five by name."""

from stockmart_assets.defs.quality.checks import _named


def test_a_failed_check_names_every_failed_rule_up_to_five():
    failures = [{"check": f"rule {i}"} for i in range(7)]
    assert _named(failures[:2]) == "rule 0; rule 1"
    assert _named(failures) == "rule 0; rule 1; rule 2; rule 3; rule 4; and 2 more"
