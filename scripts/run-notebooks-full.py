#!/usr/bin/env python3
"""Runs notebooks/*.ipynb at their default settings (as a new user would: no MRI2CT_NOTEBOOK_TEST)
with nbconvert and the tslab kernel, one after the other, and prints per notebook its wall time,
the size of its executed copy and the largest display output. tslab reports a failing cell only
as stderr text (its execute_reply names no error, so nbconvert would say "<Error>:"): the cells'
stderr is scanned for a stack trace and printed, and the script exits non-zero. Not part of CI
(tens of minutes on a 2-core machine). Usage: run-notebooks-full.py [OUT_DIR] [NOTEBOOK ...]
(default OUT_DIR notebooks-full-output/, git-ignored)."""
import json, os, re, subprocess, sys, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
nb_dir = os.path.join(root, "notebooks")
out_dir = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(root, "notebooks-full-output")
names = sys.argv[2:] or sorted(f for f in os.listdir(nb_dir) if f.endswith(".ipynb") and ".nbconvert" not in f)
os.makedirs(out_dir, exist_ok=True)
env = {k: v for k, v in os.environ.items() if k != "MRI2CT_NOTEBOOK_TEST"}
STACK = re.compile(r"^\S*(Error|Exception)\b.*\n\s+at ", re.M)
failed = []
for name in names:
    t0 = time.time()
    r = subprocess.run(["jupyter", "nbconvert", "--to", "notebook", "--execute", "--allow-errors",
                        "--ExecutePreprocessor.timeout=-1", "--ExecutePreprocessor.iopub_timeout=60",
                        "--ExecutePreprocessor.kernel_name=tslab", "--output-dir", out_dir, os.path.join(nb_dir, name)],
                       cwd=nb_dir, env=env, capture_output=True, text=True)
    seconds = time.time() - t0
    executed = os.path.join(out_dir, name)
    errors, largest = [], 0
    if os.path.exists(executed):
        for cell in json.load(open(executed, encoding="utf8"))["cells"]:
            for o in cell.get("outputs", []):
                if o.get("output_type") == "error":
                    errors.append(f"{o.get('ename')}: {o.get('evalue')}")
                text = "".join(o.get("text", "")) if o.get("name") == "stderr" else ""
                if STACK.search(text):
                    errors.append(text.strip()[-3000:])
                largest = max(largest, len(json.dumps(o.get("data", {}))))
    if r.returncode != 0:
        errors.append(r.stderr.strip()[-3000:])
    size = os.path.getsize(executed) if os.path.exists(executed) else 0
    print(f"{name}: {'FAILED' if errors else 'ok'} in {seconds / 60:.1f} min ({seconds:.0f} s); executed copy {size / 1e6:.1f} MB, "
          f"largest output {largest / 1e6:.2f} MB", flush=True)
    for e in errors:
        print("  " + e.replace("\n", "\n  "), flush=True)
    if errors:
        failed.append(name)
sys.exit(1 if failed else 0)
