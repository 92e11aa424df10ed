"""`import core` (and everything the dashboard uses) must not import torch."""

import subprocess
import sys


def test_core_modules_do_not_import_torch():
    code = ("import sys, core, core.facts.store, core.facts.results, core.facts.spec, core.facts.bundle, core.measure.workloads, "
            "core.measure.runner, core.errors, core.measure.probe, core.measure.child; assert 'torch' not in sys.modules, 'torch imported'; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
