"""The header line: the contract's columns, in order, in Korean or in English; and how problems name a field."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

from stockmart_assets.lib.landing.contract import LandingTable
from stockmart_assets.lib.landing.problems import LandingFileError, Problem


def labels(table: LandingTable, header: bool = True) -> list[str]:
    """One label per field of a line, as problems name them: the header as the service writes it (``header``)
    or the canonical names DuckDB reports data rows with; '(index)' for an unnamed index column."""
    return (["(index)"] if table.index_column else []) + [c.header if header else c.name for c in table.columns]


def label(labels: list[str], index: int) -> str:
    return labels[index] if index < len(labels) else f"(extra field {index + 1})"


def _encoding_hint(raw: bytes) -> str:
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "; the file is UTF-16 (Excel's 'Unicode text'): save it as 'CSV UTF-8'"
    try:
        raw.decode("cp949")
    except UnicodeDecodeError:
        return ""
    return "; it reads as CP949/EUC-KR (Excel's 'CSV' on Korean Windows): save it as 'CSV UTF-8'"


def _field_at(table: LandingTable, line: str) -> str:
    """The header label of the field that ``line`` (the start of a header line) ends in."""
    return label(labels(table), max(len(next(csv.reader([line]), [""])) - 1, 0))


def check_header(table: LandingTable, path: Path) -> None:
    """The first line must name the contract's columns, in order, in Korean or in English."""
    with open(path, "rb") as f:
        first = f.readline()
    expected = ([""] if table.index_column else []) + [c.header for c in table.columns]
    if not first.strip():
        raise LandingFileError([Problem(str(path), 1, labels(table)[0],
                                        f"file is empty: expected the header line {','.join(expected)}")])
    # A file with classic Mac line ends (CR only) is one long "line" to readline: the header is its first part.
    first = first.removeprefix(codecs.BOM_UTF8).split(b"\r")[0].removesuffix(b"\n")
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError as e:
        column = _field_at(table, first[:e.start].decode("utf-8", "replace"))
        raise LandingFileError([Problem(
            str(path), 1, column,
            f"header is not UTF-8 (byte {e.start + 1} of the line is {first[e.start]:#04x}){_encoding_hint(first)}",
        )]) from None
    found = next(csv.reader(io.StringIO(text)))
    accepted = ([("",)] if table.index_column else []) + [c.accepted_headers for c in table.columns]
    if one := _one_column_off(path, found, accepted, expected):
        raise LandingFileError([one])
    problems = []
    for i, names in enumerate(accepted):
        got = found[i].strip() if i < len(found) else None
        if got is None:
            problems.append(Problem(str(path), 1, names[0] or "(index)", "column missing from header"))
        elif got not in names:
            problems.append(
                Problem(str(path), 1, got or "(empty)", f"expected column {i + 1} to be "
                        + " or ".join(repr(n) for n in names) + f"; header must be {','.join(expected)}")
            )
    for extra in found[len(accepted):]:
        problems.append(Problem(str(path), 1, extra, "unexpected extra column in header"))
    if problems:
        raise LandingFileError(problems)



def _one_column_off(path: Path, found: list[str], accepted: list[tuple[str, ...]],
                    expected: list[str]) -> Problem | None:
    """The one problem of a header that is right but for one column added (yfinance's 'Adj Close') or left out:
    named alone, not as every later column being in the wrong place."""
    names = [f.strip() for f in found]
    must_be = f"header must be {','.join(expected)}"

    def matches(got: list[str]) -> bool:
        return all(g in ok for g, ok in zip(got, accepted, strict=True))

    if len(names) == len(accepted) + 1:
        for i in range(len(names)):
            if matches(names[:i] + names[i + 1:]):
                return Problem(str(path), 1, names[i] or "(empty)",
                               f"unexpected extra column in header (column {i + 1}); {must_be}")
    elif len(names) == len(accepted) - 1:
        for i, ok in enumerate(accepted):
            if matches(names[:i] + [ok[0]] + names[i:]):
                return Problem(str(path), 1, ok[0] or "(index)", f"column {i + 1} missing from header; {must_be}")
    return None
