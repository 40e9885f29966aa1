"""`python -m demos` lists the demos; `python -m demos NAME [flags]` runs one."""

from __future__ import annotations

import importlib
import sys

from . import DEMOS


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "list"):
        print("usage: python -m demos NAME [flags]   (python -m demos NAME --help for flags)\n")
        width = max(len(name) for name in DEMOS)
        for name, (_, description) in DEMOS.items():
            print(f"  {name:<{width}}  {description}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in DEMOS:
        print(f"unknown demo {name!r}; choose one of: {', '.join(DEMOS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(DEMOS[name][0])
    return module.main(rest)


if __name__ == "__main__":
    sys.exit(main())
