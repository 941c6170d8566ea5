"""Evaluation: ranx measures per query, the long results table, paired significance, robustness statistics."""

from irrobust.evaluate.measures import evaluate_run, parse_measure, per_query
from irrobust.evaluate.significance import correct, holm, paired_test
from irrobust.evaluate.table import COLUMNS, compare, compare_conditions, long_rows, summarize

__all__ = ["COLUMNS", "compare", "compare_conditions", "correct", "evaluate_run", "holm", "long_rows", "paired_test", "parse_measure",
           "per_query", "summarize"]  # fmt: skip
