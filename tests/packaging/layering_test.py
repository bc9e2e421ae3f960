#!/usr/bin/env python3
"""Fails when a layer includes a header of a layer it may not use.

The layers, each depending only on those before it (docs/architecture.md):

    proto (chakong/v1), base -> connectors -> engine -> durable -> institution -> sim
    -> conformance -> service -> apps

A source or header file belongs to the layer of its top folder; an include of
"chakong/<layer>/..." names the layer it uses. Each layer may use only the layers in
ALLOWED below, which is stricter than "anything before": the engine, for instance, may not
use the institution, and the kit may not use the simulator.

    tests/packaging/layering_test.py [SOURCE_DIR]      exit 0 clean, 1 with the violations
"""
import pathlib
import re
import sys

ALLOWED = {
    "base": {"base"},
    "connectors": {"base", "v1", "connectors"},
    "engine": {"base", "v1", "connectors", "engine"},
    "durable": {"base", "v1", "engine", "durable"},
    "institution": {"base", "v1", "connectors", "institution"},
    "sim": {"base", "v1", "connectors", "engine", "institution", "sim"},
    "conformance": {"base", "v1", "connectors", "institution", "conformance"},
    # The gRPC service: the engine's public API and its durable journal, no simulator.
    "service": {"base", "v1", "connectors", "engine", "durable", "service"},
    "apps": {"base", "v1", "connectors", "engine", "durable", "institution", "sim",
             "conformance", "service"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s*"chakong/([a-z0-9_]+)/')
# An internal header of another layer ("engine/src/ledger.h") is never allowed outside tests.
INTERNAL = re.compile(r'^\s*#\s*include\s*"([a-z_]+)/src/')


def violations(root: pathlib.Path):
    for layer, allowed in ALLOWED.items():
        folder = root / layer
        for path in sorted(folder.rglob("*")):
            if path.suffix not in (".h", ".cc") or not path.is_file():
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                m = INCLUDE.match(line)
                if m and m.group(1) not in allowed:
                    yield f"{path.relative_to(root)}:{n}: layer '{layer}' includes " \
                          f"chakong/{m.group(1)}/ (allowed: {', '.join(sorted(allowed))})"
                m = INTERNAL.match(line)
                if m and m.group(1) != layer:
                    yield f"{path.relative_to(root)}:{n}: layer '{layer}' includes another " \
                          f"layer's internal header {m.group(1)}/src/"


def self_test() -> int:
    """The check must catch a base header that includes the engine, and nothing else."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        for layer in ALLOWED:
            (root / layer).mkdir()
        (root / "base" / "bad.h").write_text('#include "chakong/engine/engine.h"\n')
        (root / "sim" / "ok.cc").write_text('#include "chakong/engine/engine.h"\n')
        (root / "apps" / "bad.cc").write_text('#include "engine/src/ledger.h"\n')
        found = list(violations(root))
    expected = ["base/bad.h:1: layer 'base' includes chakong/engine/ (allowed: base)",
                "apps/bad.cc:1: layer 'apps' includes another layer's internal header engine/src/"]
    if sorted(found) != sorted(expected):
        print(f"layering self-test: expected {expected}, got {found}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    if self_test() != 0:
        return 1
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    missing = [layer for layer in ALLOWED if not (root / layer).is_dir()]
    if missing:
        print(f"layering: no folder {', '.join(missing)} under {root}", file=sys.stderr)
        return 1
    found = list(violations(root))
    for v in found:
        print(v)
    if found:
        print(f"layering: {len(found)} include(s) break the layers", file=sys.stderr)
        return 1
    print(f"layering: every include of {', '.join(ALLOWED)} respects the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
