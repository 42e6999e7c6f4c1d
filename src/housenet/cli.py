"""The `housenet` command: tools around the pipeline (the stages themselves are `python -m housenet.<stage>`)."""

from __future__ import annotations

import argparse
import sys
import time

from housenet.stage import USER_ERRORS, one_line


def _predict(args: argparse.Namespace) -> str:
    from housenet.predict import load_model, predict_csv

    model = load_model(args.model, tracking_uri=args.tracking_uri)
    n = predict_csv(model, args.input, args.output)
    return f"predicted {n} rows -> {args.output}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="housenet", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict", help="prices for new houses from a trained model")
    p.add_argument("--model", required=True, help="a model folder (models/model) or an MLflow URI (runs:/ID/model)")
    p.add_argument("--input", required=True, help="CSV with the training table's columns (target optional)")
    p.add_argument("--output", required=True, help="CSV to write: the input plus predicted_<target>")
    p.add_argument("--tracking-uri", default=None, help="MLflow tracking URI for runs:/ and models:/ URIs")
    p.set_defaults(fn=_predict)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    try:
        summary = args.fn(args)
    except USER_ERRORS as e:
        print(f"housenet {args.command}: error: {one_line(e)}", file=sys.stderr)
        return 1
    print(f"housenet {args.command}: {summary} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
