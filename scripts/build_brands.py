"""Build the brand table the category model matches descriptors against.

    uv run python scripts/build_brands.py [--out src/titans_finance/models/data/brands.tsv.gz]

Source: OpenStreetMap's name-suggestion-index (NSI), npm package ``name-suggestion-index`` at
exactly :data:`VERSION` (BSD-3-Clause).  The script runs ``npm pack`` of that version into a
temporary folder, reads ``dist/json/nsi.json`` and keeps, for every brand and operator entry,
its OSM tag (the NSI category path, e.g. ``brands/amenity/fuel`` -> ``amenity=fuel``; only
the keys in :data:`KEYS`, places people pay), its display name and its match names (``name``,
``brand``, ``short_name``, ``name:en``, ``brand:en``, ``operator``, ``matchNames``),
lowercased.  Aliases that are not plain ASCII (bank descriptors are), shorter than three
characters, made of digits only, or matching NSI's own generic-word patterns are dropped; an
alias claimed by several tags keeps the tag most of its brand entries (then operator entries) carry, ties
going to the tag with more aliases overall.  The output is a gzipped TSV
``alias<TAB>tag<TAB>brand`` sorted by alias (deterministic: same version, same bytes), plus
the package's licence next to it as ``brands.LICENSE.md``.  Nothing downloads at run time: the
table is package data.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import io
import json
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "name-suggestion-index"
VERSION = "8.0.20260918"
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "src" / "titans_finance" / "models" / "data" / "brands.tsv.gz"
ALIAS_FIELDS = ("name", "brand", "short_name", "name:en", "brand:en", "operator")
# OSM keys of places people pay (the rest of NSI: masts, pipelines, totems, boundaries...).
KEYS = frozenset(
    "aeroway amenity craft healthcare highway leisure office power public_transport railway "
    "route shop telecom tourism".split()
)
GROUP_RANK = {"brands": 0, "operators": 1}
ASCII_ALIAS = re.compile(r"^[a-z0-9&'.,+!/ -]+$")
ATTRIBUTION = f"""# Brand table: attribution and licence

`brands.tsv.gz` is derived from OpenStreetMap's name-suggestion-index, npm package
`{PACKAGE}@{VERSION}` (https://github.com/osmlab/name-suggestion-index), built by
`scripts/build_brands.py` (brand and operator entries only: alias, OSM tag, display name).
The name-suggestion-index is distributed under the BSD 3-Clause licence, reproduced below.

"""


def npm_pack(folder: Path) -> Path:
    """``npm pack`` the pinned NSI version into ``folder``; returns the tarball path."""
    subprocess.run(  # noqa: S603 - fixed arguments, no shell
        ["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"],  # noqa: S607
        cwd=folder,
        check=True,
        capture_output=True,
    )
    return folder / f"{PACKAGE}-{VERSION}.tgz"


def read_member(tarball: Path, name: str) -> bytes:
    """One file of the npm tarball (members live under ``package/``)."""
    with tarfile.open(tarball, "r:gz") as archive:
        member = archive.extractfile(f"package/{name}")
        if member is None:
            raise FileNotFoundError(name)
        return member.read()


def aliases_of(item: dict[str, object]) -> set[str]:
    """Lowercased names an entry can appear under."""
    tags = item.get("tags") or {}
    assert isinstance(tags, dict)
    names = {str(item.get("displayName", ""))}
    names.update(str(tags[f]) for f in ALIAS_FIELDS if f in tags)
    names.update(str(m) for m in item.get("matchNames", []) or [])  # type: ignore[attr-defined]
    return {" ".join(n.lower().split()) for n in names if n}


def build(nsi: dict[str, object], generic: list[str]) -> list[tuple[str, str, str]]:
    """Rows ``(alias, tag, brand)``: one tag per alias (the most common among its entries)."""
    generic_re = [re.compile(p) for p in generic]
    claims: dict[str, collections.Counter[tuple[int, str]]] = collections.defaultdict(
        collections.Counter
    )
    display: dict[tuple[str, str], str] = {}
    for path, block in sorted(nsi.items()):
        group, key, value = (path.split("/") + ["", ""])[:3]
        if group not in GROUP_RANK or key not in KEYS or not value:
            continue
        tag = f"{key}={value}"
        assert isinstance(block, dict)
        for item in block["items"]:
            name = str(item.get("displayName", ""))
            for alias in aliases_of(item):
                if len(alias) < 3 or not ASCII_ALIAS.match(alias):
                    continue
                if alias.replace(" ", "").isdigit() or any(p.search(alias) for p in generic_re):
                    continue
                claims[alias][(GROUP_RANK[group], tag)] += 1
                # the entry named exactly like the alias gives the display name
                if (alias, tag) not in display or name.lower() == alias:
                    display[(alias, tag)] = name
    size = collections.Counter(tag for counter in claims.values() for (_, tag) in counter)
    rows = []
    for alias in sorted(claims):
        # brands before operators, then most entries, then the commoner kind of place (Chevron
        # is a fuel brand before a car wash), then tag name: deterministic
        (_, tag), _ = sorted(
            claims[alias].items(), key=lambda kv: (kv[0][0], -kv[1], -size[kv[0][1]], kv[0][1])
        )[0]
        rows.append((alias, tag, display[(alias, tag)]))
    return rows


def write(rows: list[tuple[str, str, str]], out: Path, licence: str) -> None:
    """Gzipped TSV (fixed mtime, so rebuilding gives the same bytes) and the licence file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    text = "alias\ttag\tbrand\n" + "".join(
        "\t".join(field.replace("\t", " ") for field in row) + "\n" for row in rows
    )
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    out.write_bytes(buffer.getvalue())
    (out.parent / "brands.LICENSE.md").write_text(ATTRIBUTION + licence)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tarball = npm_pack(Path(folder))
        nsi = json.loads(read_member(tarball, "dist/json/nsi.json"))["nsi"]
        generic = json.loads(read_member(tarball, "dist/json/genericWords.json"))["genericWords"]
        licence = read_member(tarball, "LICENSE.md").decode("utf-8")
    rows = build(nsi, generic)
    write(rows, args.out, licence)
    print(f"{len(rows)} aliases -> {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
