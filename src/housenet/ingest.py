"""Stage 1, ingest: bring the raw table into data/raw/ and record where it came from.

    python -m housenet.ingest                                  # Ames (the default)
    python -m housenet.ingest data=windsor
    python -m housenet.ingest data=csv data.path=FILE data.target=COLUMN
    python -m housenet.ingest data=url data.url=https://... data.sha256=HEX
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from housenet.config import conf_dir
from housenet.data.sources import Provenance
from housenet.data.sources import ingest as ingest_source
from housenet.stage import exit_now, launch, run_stage


def ingest(cfg: DictConfig) -> Provenance:
    """Write ``paths.raw_csv`` and ``paths.source_json`` from the configured data source."""
    d = cfg.data
    return ingest_source(
        d.source, cfg.paths.raw_csv, cfg.paths.source_json, name=d.name, target=d.target,
        package=d.package, dataset=d.dataset, path=d.path, url=d.url, sha256=d.sha256,
        sep=d.sep, encoding=d.encoding,
    )


def _run(cfg: DictConfig) -> str:
    p = ingest(cfg)
    return (f"{p.rows} rows in from {p.source}, {p.rows} rows x {len(p.columns)} columns out "
            f"-> {cfg.paths.raw_csv} (sha256 {p.sha256[:12]})")


@hydra.main(version_base="1.3", config_path=conf_dir(), config_name="config")
def main(cfg: DictConfig) -> None:
    run_stage("ingest", _run, cfg)


if __name__ == "__main__":
    launch("ingest", main)
    exit_now()  # skip the interpreter teardown (housenet.stage.exit_now)
