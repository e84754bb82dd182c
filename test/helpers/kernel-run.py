#!/usr/bin/env python3
"""Test helper: runs code cells in a real tslab kernel (jupyter_client, as a notebook front end
does) and records every IOPub message the kernel sends: type, display id, size in bytes of its
content as JSON, time, and the text of stream messages. For tests that measure what a notebook
sends to the front end. Not used by the library.

Usage: kernel-run.py CELLS.json OUT.json   (CELLS.json: {"cwd": str, "cells": [str], "timeout": s})
OUT.json: {"cells": [{"status", "seconds", "messages": [{"type", "id", "bytes", "t", "text"?, "html"? (first 4000 chars)}]}]}
"""
import json, sys, time
from jupyter_client.manager import start_new_kernel

spec = json.load(open(sys.argv[1], encoding="utf8"))
km, kc = start_new_kernel(kernel_name=spec.get("kernel", "tslab"), cwd=spec["cwd"])
out = {"cells": []}
try:
    for code in spec["cells"]:
        t0 = time.time()
        msg_id = kc.execute(code)
        messages, status, deadline = [], None, t0 + spec.get("timeout", 600)
        reply_seen = idle_seen = False
        while not (reply_seen and idle_seen):
            if time.time() > deadline:
                status = "timeout"
                break
            if not reply_seen:
                try:
                    reply = kc.get_shell_msg(timeout=0.05)
                    if reply["parent_header"].get("msg_id") == msg_id:
                        reply_seen, status = True, reply["content"].get("status")
                except Exception:
                    pass
            try:
                msg = kc.get_iopub_msg(timeout=0.2)
            except Exception:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            content = msg["content"]
            if kind == "status":
                idle_seen = content.get("execution_state") == "idle"
                continue
            rec = {"type": kind, "bytes": len(json.dumps(content)), "t": round(time.time() - t0, 3),
                   "id": (content.get("transient") or {}).get("display_id")}
            if kind == "stream":
                rec["text"] = content.get("text", "")
            elif "data" in content:
                rec["html"] = str(content["data"].get("text/html", ""))[:4000]
            messages.append(rec)
        out["cells"].append({"status": status, "seconds": round(time.time() - t0, 2), "messages": messages})
        if status != "ok":
            break
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    del kc, km  # before interpreter shutdown (jupyter_client's __del__ logs)
json.dump(out, open(sys.argv[2], "w", encoding="utf8"))
