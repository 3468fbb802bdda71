"""Write the reference data files, deterministically from a seed.

    python -m civicgrid_shared.reference.generate --seed 12345 [--out DIR]

Same seed, same bytes: every random draw comes from RNGs seeded from --seed, and
the JSON layout is fixed (see gen/writer.py). The output is loaded and checked
before the command reports success.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .checks import MATTERS_FILE, TERRITORY_FILE, UNITS_FILE
from .gen.matters import build_matters
from .gen.territory import build_territory
from .gen.units import build_units
from .gen.writer import dumps_reference
from .loader import DATA_DIR, ReferenceData, read_reference_uncached
from .versions import CURRENT_VERSION

GENERATOR = "civicgrid_shared.reference.generate"
NOTES = {
    TERRITORY_FILE: (
        "Fictional city. Areas are axis-aligned lat/lon rectangles, [min_lon, min_lat, "
        "max_lon, max_lat], half-open; centroids are [lon, lat]. Grid workers are "
        "pseudonymous (worker_id, worker_code); no real names."
    ),
    UNITS_FILE: "parent_id is the unit a case escalates to.",
    MATTERS_FILE: (
        "Time limits follow domain.md defaults. Legal bases are plausible citations for "
        "a fictional city and must be reviewed before real use."
    ),
}


def _header(file: str, seed: int) -> dict[str, Any]:
    return {
        "version": CURRENT_VERSION,
        "generated_with_seed": seed,
        "generator": GENERATOR,
        "notes": NOTES[file],
    }


def build_documents(seed: int) -> dict[str, dict[str, Any]]:
    """File name -> document, without writing anything."""
    territory = build_territory(seed)
    return {
        TERRITORY_FILE: _header(TERRITORY_FILE, seed) | territory,
        UNITS_FILE: _header(UNITS_FILE, seed) | {"units": build_units(territory)},
        MATTERS_FILE: _header(MATTERS_FILE, seed) | build_matters(),
    }


def generate(seed: int, out_dir: Path) -> ReferenceData:
    """Write the three files into out_dir and return them loaded and cross-checked."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, doc in build_documents(seed).items():
        (out_dir / name).write_bytes(dumps_reference(doc))
    return read_reference_uncached(out_dir)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="default: the packaged data")
    args = parser.parse_args(argv)
    ref = generate(args.seed, args.out)
    t = ref.territory
    print(
        f"wrote {args.out}: {len(t.counties)} counties, {len(t.townships)} townships, "
        f"{len(t.communities)} communities, {len(t.grids)} grids, "
        f"{len(ref.units.all())} units, {len(ref.matters.categories())} categories, "
        f"{len(ref.matters.all())} matters"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
