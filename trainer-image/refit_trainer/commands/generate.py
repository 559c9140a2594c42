"""`refit-trainer gen-interactions`: write seeded synthetic interactions (see interactions.py)."""

from __future__ import annotations

import argparse

from refit_trainer.commands import Session
from refit_trainer.contract import JobContext
from refit_trainer.data_io import write_table
from refit_trainer.errors import UsageError
from refit_trainer.interactions import generate_interactions


def run(args: argparse.Namespace, ctx: JobContext, session: Session) -> int:
    if args.users < 1 or args.items < 2 or args.mean_per_user <= 0:
        raise UsageError("need --users >= 1, --items >= 2 and --mean-per-user > 0")
    frame = generate_interactions(args.seed, args.users, args.items, args.mean_per_user)
    write_table(frame, args.out)
    print(f"wrote {len(frame)} synthetic interactions to {args.out}")
    return 0
