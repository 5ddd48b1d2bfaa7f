"""Every built-in rule: compiles, its examples match, its negative examples do not, it does not backtrack."""

from __future__ import annotations

import pytest

from secretsweep.errors import RuleError
from secretsweep.rules import check_rule, load_rules, parse_rules

RULES = load_rules()


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_examples(rule):
    assert check_rule(rule) == []


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_has_examples_both_ways(rule):
    assert len(rule.examples) >= 2, "every rule needs at least two examples"
    assert len(rule.negative_examples) >= 1, "every rule needs at least one negative example"


def test_ids_are_unique():
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))


def test_broken_pattern_names_file_and_rule():
    with pytest.raises(RuleError) as err:
        parse_rules("[[rule]]\nid = 'x.broken'\nname = 'X'\npattern = '(unclosed'\n", "custom.toml")
    assert "custom.toml" in str(err.value) and "x.broken" in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("text,fragment", [
    ("[[rule]]\nname = 'x'\npattern = 'a'\n", "'id'"),
    ("[[rule]]\nid = 'Bad Id'\nname = 'x'\npattern = 'a'\n", "'id'"),
    ("[[rule]]\nid = 'a.b'\nname = 'x'\npattern = 'a'\nseverity = 'huge'\n", "huge"),
    ("[[rule]]\nid = 'a.b'\nname = 'x'\npattern = 'a'\nvalidator = 'nope'\n", "unknown validator"),
    ("[[rule]]\nid = 'a.b'\nname = 'x'\npattern = 'a'\ncolour = 'red'\n", "unknown field"),
    ("[[rule]\n", "not valid TOML"),
])
def test_malformed_rule_files(text, fragment):
    with pytest.raises(RuleError, match=fragment):
        parse_rules(text, "f.toml")


def test_check_reports_missing_example_and_unbounded_pattern():
    (rule,) = parse_rules(
        "[[rule]]\nid = 'a.b'\nname = 'x'\npattern = '(?P<secret>zz[0-9]+)'\n"
        "examples = ['zz12345', 'nothing here']\nnegative_examples = ['zz9182']\n", "f.toml")
    problems = check_rule(rule)
    assert any("example does not match" in p for p in problems)
    assert any("negative example matches" in p for p in problems)
    assert any("bounded" in p for p in problems)


def test_backtracking_pattern_is_caught():
    (rule,) = parse_rules(
        "[[rule]]\nid = 'a.slow'\nname = 'x'\npattern = '(?P<secret>(a{1,30}){1,30}b)'\n"
        "examples = ['aab']\n", "f.toml")
    assert any("backtracks" in p or "slow" in p for p in check_rule(rule))
