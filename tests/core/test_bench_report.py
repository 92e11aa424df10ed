"""bench's report helpers: a failed probe (no figure) is reported in the table, never a crash.

Pure functions of bench.common only: no probe runs, no torch, well under a second.
"""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

from bench.common import (
    _fmt,
    attempt,
    cv,
    failures,
    figures,
    median,
    one_line,
    outcome,
    ratio,
    table,
    verdict,
)


def _result(status="ok", error=None, **figures_):
    return SimpleNamespace(status=status, error=error, **figures_)


def test_outcome_is_the_figure_or_why_there_is_none():
    assert outcome(_result(achieved_tflops=1.5), "achieved_tflops") == 1.5
    assert outcome(_result("failed", "RuntimeError: boom", achieved_tflops=None),
                   "achieved_tflops") == "failed: RuntimeError: boom"
    assert outcome(_result("timeout", "no result\nafter 60 s", samples_per_s=None),
                   "samples_per_s") == "timeout: no result after 60 s"
    assert outcome(_result("failed", None, samples_per_s=None), "samples_per_s") == "failed: no reason given"
    assert outcome(_result(achieved_tflops=None), "achieved_tflops") == "ok, but no achieved_tflops"


def test_median_ratio_and_verdict_skip_failed_rounds():
    rounds = [2.0, "failed: boom", 4.0, None]
    assert figures(rounds) == [2.0, 4.0]
    assert median(rounds) == 3.0
    assert median(["failed: boom"]) is None
    assert ratio(None, 2.0) is None and ratio(2.0, None) is None and ratio(1.0, 0.0) is None
    assert ratio(3.0, 2.0) == 1.5
    assert verdict(None, 0.95) == "no figure"
    assert (verdict(0.96, 0.95), verdict(0.9, 0.95)) == ("met", "NOT met")
    assert (verdict(0.02, 0.03, at_most=True), verdict(0.04, 0.03, at_most=True)) == ("met", "NOT met")
    assert cv([]) is None and cv([1.0]) is None and cv([1.0, 1.0]) == 0.0


def test_failures_name_the_side_the_reason_and_how_often():
    assert failures(probe=[1.0, 2.0]) == "ok"
    assert failures(tight_loop=[1.0], probe=["failed: boom", 2.0, "failed: boom"]) == \
        "probe failed: boom (2 of 3 rounds)"
    assert failures(probe=[None]) == "probe failed: no figure"


def test_attempt_reports_a_raising_measurement():
    assert attempt(lambda x: x * 2, 3) == 6
    assert attempt(lambda: None) == "failed: no figure"
    assert attempt(lambda: 1 / 0) == "failed: ZeroDivisionError: division by zero"

    def child_fails():
        raise subprocess.CalledProcessError(1, ["python"], stderr="Traceback ...\nRuntimeError: no bf16 here")
    assert attempt(child_fails) == "failed: CalledProcessError: RuntimeError: no bf16 here"


def test_table_shows_a_failed_probe_instead_of_crashing(capsys):
    failed = outcome(_result("failed", "RuntimeError: boom | bad\nline two", achieved_tflops=None), "achieved_tflops")
    tight, probe = [0.5], [failed]
    table([{"tight": median(tight), "probe": median(probe), "probe ÷ tight": ratio(median(probe), median(tight)),
            "target": verdict(ratio(median(probe), median(tight)), 0.95),
            "status": failures(tight_loop=tight, probe=probe)}])
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == "| 0.5 | — | — | no figure | probe failed: RuntimeError: boom \\| bad line two |"


def test_cells_stay_on_one_line():
    assert _fmt(None) == "—"
    assert _fmt(1234.5678) == "1235" and _fmt(123456.0) == "123,456"
    assert one_line("a\n  b", limit=10) == "a b"
    assert one_line("x" * 20, limit=10) == "x" * 9 + "…"
