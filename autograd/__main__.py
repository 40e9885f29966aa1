"""`python -m autograd graph|steps|explain|check EXPRESSION NAME=NUMBER ...` (see autograd.cli)."""

from .cli import main

raise SystemExit(main(prog="python -m autograd"))
