"""Entry point of the `refit-trainer` command."""

import sys


def main(argv: list[str] | None = None) -> int:
    print("refit-trainer: not implemented yet", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
