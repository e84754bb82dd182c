#!/usr/bin/env python3
"""Runs notebooks/*.ipynb at their default settings (as a new user would: no MRI2CT_NOTEBOOK_TEST)
with nbclient and the tslab kernel, one after the other, and prints per notebook its wall time,
the slowest cells, the size of its executed copy and the largest display output. A notebook fails
when a cell's execute_reply is not "ok" (tslab names no error in it, so the cell's stderr is
printed), when an output holds an error or a stack trace, or when the kernel dies. Not part of CI
(tens of minutes on a 2-core machine). Usage: run-notebooks-full.py [OUT_DIR] [NOTEBOOK ...]
(default OUT_DIR notebooks-full-output/, git-ignored; executed copies are written there)."""
import json, os, re, sys, time
import nbformat
from nbclient import NotebookClient

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
nb_dir = os.path.join(root, "notebooks")
out_dir = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(root, "notebooks-full-output")
names = sys.argv[2:] or sorted(f for f in os.listdir(nb_dir) if f.endswith(".ipynb") and ".nbconvert" not in f)
os.makedirs(out_dir, exist_ok=True)
os.environ.pop("MRI2CT_NOTEBOOK_TEST", None)
STACK = re.compile(r"^\S*(Error|Exception)\b.*\n\s+at ", re.M)


def stderr_of(cell):
    return "".join("".join(o.get("text", "")) for o in cell.get("outputs", []) if o.get("name") == "stderr")


failed = []
for name in names:
    nb = nbformat.read(os.path.join(nb_dir, name), as_version=4)
    errors, cell_times, started = [], [], {}

    def on_start(cell, cell_index):
        started[cell_index] = time.time()

    def on_done(cell, cell_index, execute_reply):
        cell_times.append((time.time() - started.get(cell_index, time.time()), cell_index))
        status = execute_reply.get("content", {}).get("status")
        if status != "ok":
            errors.append(f"cell {cell_index}: execute_reply {status}; stderr: {stderr_of(cell).strip()[-3000:] or '(none)'}")

    client = NotebookClient(nb, kernel_name="tslab", timeout=None, iopub_timeout=60, allow_errors=True,
                            resources={"metadata": {"path": nb_dir}}, on_cell_start=on_start, on_cell_executed=on_done)
    t0 = time.time()
    try:
        client.execute()
    except Exception as e:  # a dead kernel, a timeout
        errors.append(f"{type(e).__name__}: {e}")
    seconds = time.time() - t0
    executed = os.path.join(out_dir, name)
    nbformat.write(nb, executed)
    largest = 0
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                errors.append(f"{o.get('ename')}: {o.get('evalue')}")
            if STACK.search(stderr_of({"outputs": [o]})):
                errors.append(stderr_of({"outputs": [o]}).strip()[-3000:])
            largest = max(largest, len(json.dumps(o.get("data", {}))))
    slowest = ", ".join(f"cell {i} {s:.0f} s" for s, i in sorted(cell_times, reverse=True)[:3])
    print(f"{name}: {'FAILED' if errors else 'ok'} in {seconds / 60:.1f} min ({seconds:.0f} s; {slowest}); executed copy "
          f"{os.path.getsize(executed) / 1e6:.1f} MB, largest output {largest / 1e6:.2f} MB", flush=True)
    for e in dict.fromkeys(errors):
        print("  " + e.replace("\n", "\n  "), flush=True)
    if errors:
        failed.append(name)
sys.exit(1 if failed else 0)
