"""Write params.yaml from conf/ (``python -m housenet.params [overrides...]``; ``--check`` only compares).

DVC tracks params.yaml; conf/ is the source. Run this after editing conf/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from housenet.config import PARAMS_FILE, compose, params_yaml, project_root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m housenet.params", description=__doc__)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. optim.lr=0.003")
    parser.add_argument("--check", action="store_true", help="exit 1 if params.yaml is not up to date")
    args = parser.parse_args(argv)
    text = params_yaml(compose(args.overrides))
    path = Path(project_root()) / PARAMS_FILE
    current = path.read_text() if path.is_file() else None
    if args.check:
        if current != text:
            print(f"{path} is out of date with conf/: run `make params`", file=sys.stderr)
            return 1
        return 0
    if current != text:
        from housenet.data.atomic import atomic_write_text

        atomic_write_text(path, text)
        print(f"wrote {path}")
    else:
        print(f"{path} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
