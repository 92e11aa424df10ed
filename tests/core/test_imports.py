"""`import core` (and everything the dashboard uses) must not import torch."""

import subprocess
import sys


def test_core_modules_do_not_import_torch():
    code = ("import sys, core, core.store, core.results, core.spec, core.bundle, core.workloads, "
            "core.runner, core.errors, core.probe, core.childprobe; assert 'torch' not in sys.modules, 'torch imported'; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
