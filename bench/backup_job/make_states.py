#!/usr/bin/python3
"""Writes the states of bench/backup_job: DIR/env-NNNN.tfstate for N environments, each a
different realistic state from tests/tfstate/gen_state.py (seed NNNN, 12 to 30 resources, so
about 20 to 45 KB; serial and lineage of its own), and DIR/expected.tsv, one line per
environment: env serial lineage resources md5 sha256 size.

usage: make_states.py --out DIR --count N
"""
import argparse
import hashlib
import importlib.util
import io
import json
import os
import random
import sys
import uuid
from contextlib import redirect_stdout

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "..", "..", "tests", "tfstate", "gen_state.py")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=1000)
    a = ap.parse_args()
    spec = importlib.util.spec_from_file_location("gen_state", GEN)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    os.makedirs(a.out, exist_ok=True)
    summary = os.path.join(a.out, "summary.json")
    lines = []
    for i in range(a.count):
        name = "env-%04d" % i
        path = os.path.join(a.out, name + ".tfstate")
        lineage = str(uuid.UUID(int=random.Random(i).getrandbits(128), version=4))
        argv = ["gen_state.py", "--out", path, "--summary", summary, "--seed", str(i + 1),
                "--resources", str(12 + (i * 7) % 19), "--serial", str(1 + (i * 37) % 500),
                "--lineage", lineage]
        old, sys.argv = sys.argv, argv
        try:
            with redirect_stdout(io.StringIO()):
                gen.main()
        finally:
            sys.argv = old
        with open(summary, encoding="utf-8") as f:
            s = json.load(f)
        with open(path, "rb") as f:
            data = f.read()
        lines.append("\t".join([name, str(s["serial"]), s["lineage"],
                                str(s["managed_resources"] + s["data_resources"]),
                                hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest(),
                                str(len(data))]))
    os.remove(summary)
    with open(os.path.join(a.out, "expected.tsv"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
