"""The section a robustness report opens with: per task, the most robust system, by how much, how sure, on how much.

Renders the :class:`irrobust.evaluate.scorecard.SummaryLine` objects of a
:class:`irrobust.evaluate.results.RunResults` (computed in :mod:`irrobust.evaluate`); nothing is computed here.

Example:
    >>> from irrobust.evaluate.scorecard import SummaryLine
    >>> line = SummaryLine("T1 variance", "d", "ql", "lexical", "lowest std of nDCG@10", 0.2, "bm25", 0.3, 0.1,
    ...                    0.05, 0.15, True, 300, 0.05, ("bm25", "ql"))
    >>> print(summary_bullet(line))
    - **T1 variance** on d: **ql** (lexical) is the most robust — lowest std of nDCG@10 0.2000 vs 0.3000 for bm25; lead 0.1000, 95% CI [0.0500, 0.1500] ★ (300 queries, 2 systems).
"""

from __future__ import annotations

import math

from irrobust.evaluate.scorecard import SummaryLine
from irrobust.report.markdown import md_escape


def _num(x: float | None) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4f}"


def _sizes(line: SummaryLine) -> str:
    parts = [f"{line.queries} queries"]
    if line.targets is not None:
        parts.append(f"{line.targets} attacked targets per system")
    if line.certified is not None:
        parts.append(f"{line.certified} certified queries per system")
    parts.append(f"{line.compared} systems" if line.compared != 1 else "1 system")
    return ", ".join(parts)


def summary_bullet(line: SummaryLine) -> str:
    """One markdown bullet: winner, criterion values, lead over the runner-up with its CI and mark, sample sizes.

    ★ marks a lead whose paired bootstrap interval excludes 0; "n.s." one whose interval contains it.

    Example:
        >>> line = SummaryLine("T5 term spamming", "d", "bm25", "lexical", "lowest mean attack success rate", 0.2,
        ...                    None, None, None, None, None, False, 5, 0.05, ("bm25",), targets=5)
        >>> "only system compared" in summary_bullet(line)
        True
    """
    head = f"- **{md_escape(line.task)}** on {md_escape(line.dataset)}: "
    if line.winner.startswith("tie"):
        return (head + f"no single winner ({md_escape(line.winner)}) — {md_escape(line.criterion)} "
                f"{_num(line.value)} ({_sizes(line)}).")  # fmt: skip
    fam = f" ({md_escape(line.family)})" if line.family else ""
    text = head + f"**{md_escape(line.winner)}**{fam} is the most robust — {md_escape(line.criterion)} {_num(line.value)}"
    if line.runner_up is None:
        return text + f"; the only system compared ({_sizes(line)})."
    level = round((1 - line.alpha) * 100)
    mark = "★" if line.significant else "n.s."
    ci = (f", {level}% CI [{_num(line.ci_low)}, {_num(line.ci_high)}] {mark}" if line.ci_low is not None
          and not math.isnan(line.ci_low) else " (too few queries for an interval)")  # fmt: skip
    text += (f" vs {_num(line.runner_up_value)} for {md_escape(line.runner_up)}; lead {_num(line.margin)}{ci} "
             f"({_sizes(line)}).")  # fmt: skip
    return text


def summary_section(lines: list[SummaryLine], excluded: dict[str, list[str]], measure: str) -> str:
    """The report's opening section, or ``""`` when the run has no robustness task.

    Example:
        >>> summary_section([], {}, "nDCG@10")
        ''
    """
    if not lines:
        return ""
    level = round((1 - lines[0].alpha) * 100)
    out = ["## Summary — which system is most robust\n",
           "Per task and dataset: the most robust system under the task's criterion, its value against the "
           "runner-up's, and the lead (in the criterion's unit, positive = better) with a "
           f"{level}% paired percentile bootstrap interval over the queries both systems have (the query is the unit "
           "of significance); ★ = the interval excludes 0, n.s. = it does not (the ranking of the two could be "
           "chance).\n"]  # fmt: skip
    out += [summary_bullet(line) for line in lines]
    dropped = "; ".join(f"{md_escape(ds)}: {', '.join(map(md_escape, names))}" for ds, names in excluded.items())
    if dropped:
        out.append(f"\nNot eligible (significantly worse than the baseline on clean {md_escape(measure)}): {dropped}.")
    return "\n".join(out) + "\n"


__all__ = ["summary_bullet", "summary_section"]
