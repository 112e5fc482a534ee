"""Command line of the engine: `python3 -m recstream_models train|synth …` (models/FORMAT.md).

Every failure ends with one `{"event": "error", "message": …}` line and a
non-zero exit, so the trainer can tell a refused training set from a crash.
"""

from __future__ import annotations

import argparse
import json
import sys

from .config import TrainConfig
from .progress import emit


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python3 -m recstream_models")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train, evaluate and export one model version")
    train.add_argument("--dataset", required=True, help="training-set directory (manifest.json + .npy columns)")
    train.add_argument("--out", required=True, help="artifact directory to write")
    train.add_argument("--config", default="{}", help="JSON object of TrainConfig fields")
    train.add_argument("--previous", default=None, help="artifact directory of the promoted model, scored on the same holdout")
    train.add_argument(
        "--previous-sha256",
        default=None,
        help="JSON object: file name → sha256 of the promoted model's artifacts; each file read from --previous is checked as it is read",
    )
    synth = commands.add_parser("synth", help="write a synthetic training set with latent tastes")
    synth.add_argument("--out", required=True)
    synth.add_argument("--users", type=int, default=2000)
    synth.add_argument("--items", type=int, default=1000)
    synth.add_argument("--examples", type=int, default=100_000)
    synth.add_argument("--seed", type=int, default=1)
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "synth":
            from .synth import write_synthetic

            write_synthetic(args.out, users=args.users, items=args.items, examples=args.examples, seed=args.seed)
            return 0
        from .engine import run

        config = TrainConfig.from_json(json.loads(args.config))
        previous_sha256 = None if args.previous_sha256 is None else json.loads(args.previous_sha256)
        run(args.dataset, args.out, config, args.previous, previous_sha256)
        return 0
    except (ValueError, OSError, KeyError) as error:
        emit("error", message=str(error), kind=type(error).__name__)
        return 2
    except Exception as error:  # noqa: BLE001 — anything else is reported the same way, with its type
        emit("error", message=f"{type(error).__name__}: {error}", kind=type(error).__name__)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
