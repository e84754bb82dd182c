#!/usr/bin/env python3
"""Writes a tslab (TypeScript) notebook from a simple cell list: used to author notebooks/ from
plain text (scripts/notebooks/*.nb.txt) so that they stay reviewable. Cells are separated by a
line '# %% [markdown]' or '# %%'. Usage: make-notebook.py SOURCE.nb.txt OUT.ipynb"""
import json, sys

src, out = sys.argv[1], sys.argv[2]
cells, kind, buf = [], None, []

def flush():
    if kind is None:
        return
    text = "\n".join(buf).strip("\n")
    lines = [l + "\n" for l in text.split("\n")]
    if lines:
        lines[-1] = lines[-1].rstrip("\n")
    cell = {"cell_type": kind, "metadata": {}, "source": lines}
    if kind == "code":
        cell.update({"execution_count": None, "outputs": []})
    cells.append(cell)

for line in open(src, encoding="utf8").read().split("\n"):
    if line.startswith("# %% [markdown]"):
        flush(); kind, buf = "markdown", []
    elif line.startswith("# %%"):
        flush(); kind, buf = "code", []
    else:
        buf.append(line[2:] if kind == "markdown" and line.startswith("# ") else ("" if kind == "markdown" and line == "#" else line))
flush()
nb = {
    "cells": cells,
    "metadata": {
        "kernelspec": {"display_name": "TypeScript", "language": "typescript", "name": "tslab"},
        "language_info": {"codemirror_mode": {"mode": "typescript", "name": "javascript", "typescript": True},
                          "file_extension": ".ts", "mimetype": "text/typescript", "name": "typescript", "version": "3.7.2"},
    },
    "nbformat": 4, "nbformat_minor": 5,
}
for i, c in enumerate(nb["cells"]):
    c["id"] = f"cell-{i:02d}"
json.dump(nb, open(out, "w", encoding="utf8"), indent=1, ensure_ascii=False)
open(out, "a").write("\n")
