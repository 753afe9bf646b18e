"""Read department exports (CSV, Excel .xlsx) into batches of cleaned text cells, for any dataset.

The files are the ones departments really send (shared/SOURCES.md): title rows above the header,
a numbering row under it, headers merged over two rows, signature blocks and totals under the
table; CSV in UTF-8 (with or without BOM), UTF-16 or Windows-1258, comma / semicolon / tab
delimited; cells typed in legacy fonts (TCVN3, VNI) or decomposed Unicode. The spec's accepted
headers find the header row and map the columns; everything else is data-agnostic.

Rows are streamed (csv module over a decoding text stream) and handed out in batches of
`batch_rows`, so memory stays bounded for a 2-million-row cadastre extract. An .xlsx sheet is
parsed by python-calamine, which holds one sheet's values (Excel caps a sheet at 1,048,576 rows).
Cells are cleaned with `pipelines.text.clean_texts`: one Arrow/RE2 scan per column and batch finds
the few cells that need `clean_text` (legacy fonts, NFD, odd white space); each distinct one is
repaired once.

Row numbers are the ones a person sees when opening the file in Excel: 1-based, title and header
rows counted. For CSV that is the record number, so a quoted cell spanning several lines counts
as one row, as it does in Excel.

Policies for bad input (each ends as data, a warning in `SourceReader.warnings`, or a one-line
`SourceError`, never a silent drop):
- bytes that are not valid in the detected encoding are replaced by U+FFFD and counted (warning);
  NUL bytes in a text file are removed (warning);
- a cell over 1 MiB (or an unclosed quote that swallows the rest of the file) rejects the file
  (`too_large_cell`), naming the row: truncating would change data without anyone noticing;
- a quoted cell that swallowed lines which are whole rows (an unclosed quote) rejects the file
  (`unclosed_quote`), naming the row and column: those rows would silently become one cell;
- cells beyond the header, or under an empty header cell, are reported as schema drift;
- a row that looks like a footer but is followed by more data rows is put back as data (warning).
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import chain, islice
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import viparse

from pipelines.specs import ColumnSpec, DatasetSpec
from pipelines.text import (
    LEGACY_ENCODINGS,
    clean_text,
    clean_texts,
    encode_legacy,
    fold,
    fold_ascii,
    header_key,
    strip_diacritics,
)

__all__ = ["Layout", "RawBatch", "SourceError", "SourceReader", "open_source", "ROW_NUMBER"]

ROW_NUMBER = "_source_row_number"
HEADER_SCAN_ROWS = 30
MAX_CELL_CHARS = 1 << 20  # 1 MiB: far above any real cell, far below what hurts memory
SAMPLE_BYTES = 64 * 1024
FOOTER_BUFFER_ROWS = 1000  # rows kept after a footer start in case data resumes
CSV_SUFFIXES = (".csv", ".txt")
XLSX_SUFFIXES = (".xlsx", ".xlsm")

# The csv module's default limit is 128 KiB; this one is larger and is checked by the C parser,
# which turns an oversized cell into csv.Error (caught below) without a per-cell Python check.
csv.field_size_limit(MAX_CELL_CHARS)

Row = list[Any]  # cells: str, or None / "" for an empty cell


class SourceError(Exception):
    """A file cannot be read as the dataset's layout. str(exc) is ONE line naming the file, the
    row or column, and the fix; `reason` is a machine code ("missing_column", "no_header",
    "empty_file", "unreadable", "too_large_cell", "unclosed_quote", "duplicate_column", "unsupported_format").
    Undecodable bytes are not an error: they are replaced and reported in the reader's warnings."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(" ".join(message.split()))
        self.reason = reason


@dataclass
class Layout:
    header_row: int  # 1-based row number of the (last) header row as seen in Excel / an editor
    columns: dict[str, int]  # canonical column name -> 0-based column index in the file
    drift: list[str]  # headers of unknown extra columns (schema drift, reported as a warning)
    missing_optional: list[str]  # spec columns with required=False that are absent
    title_lines: list[str]  # cleaned text of the title rows above the header
    period_hint: str | None  # text after "Kỳ báo cáo:" / "Tháng ... năm ..." in a title row, if any
    encoding: str | None = None  # for CSV: detected encoding ("utf-8", "utf-8-sig", "utf-16", "cp1258")
    delimiter: str | None = None  # for CSV


@dataclass
class RawBatch:
    """Cleaned text cells (str, or None for blank; object dtype) per canonical column present in
    the layout, plus an int64 `_source_row_number`."""

    frame: pd.DataFrame


# ------------------------------------------------------------------------------- header matching

_STT_HEADERS = frozenset({"stt", "tt", "so tt", "so thu tu", "thu tu", "no", "no."})


def _column_letter(index: int) -> str:
    """0-based index → Excel column letters (also how a CSV looks once opened in Excel)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@lru_cache(maxsize=8192)
def _key(cell: str) -> str | None:
    """Header comparison form of a cell, or None for cells that cannot be headers."""
    if len(cell) > 200 or not any(ch.isalpha() for ch in cell):
        return None
    return header_key(cell) or None


class _HeaderMatcher:
    """Spec headers (and canonical names) by their comparison key; without diacritics as a fallback."""

    def __init__(self, spec: DatasetSpec) -> None:
        self.exact: dict[str, str] = {}
        ascii_map: dict[str, set[str]] = {}
        for col in spec.columns:
            for text in (*col.headers, col.name):
                key = header_key(text)
                self.exact.setdefault(key, col.name)
                ascii_map.setdefault(strip_diacritics(key), set()).add(col.name)
        # typed without diacritics ("Ma so thue") is accepted only when it cannot mean two columns
        self.plain = {k: next(iter(v)) for k, v in ascii_map.items() if len(v) == 1}

    def match_key(self, key: str | None) -> str | None:
        if key is None:
            return None
        return self.exact.get(key) or self.plain.get(strip_diacritics(key))

    def match(self, cell: Any) -> str | None:
        return self.match_key(_key(cell)) if isinstance(cell, str) and cell else None


def _filled(row: Row) -> int:
    return sum(1 for c in row if c)


@dataclass
class _Header:
    """The chosen header: one row, or two rows combined (merged cells)."""

    first: int  # index in the head buffer of the first header row
    last: int  # index of the last header row
    names: list[str | None]  # per column: canonical name or None
    texts: list[str | None]  # per column: header text as shown (for drift and messages)


def _single(row: Row, matcher: _HeaderMatcher) -> tuple[list[str | None], list[str | None]]:
    texts = [c if isinstance(c, str) and c.strip() else None for c in row]
    return [matcher.match(t) for t in texts], texts


def _combined(upper: Row, lower: Row, matcher: _HeaderMatcher) -> tuple[list[str | None], list[str | None]]:
    """Two header rows → one: per column the lower text if it names a column, else "upper lower"
    if that does (upper forward-filled across a merged span), else the upper text."""
    width = max(len(upper), len(lower))
    names: list[str | None] = []
    texts: list[str | None] = []
    span: str | None = None
    for i in range(width):
        own = upper[i] if i < len(upper) and isinstance(upper[i], str) and upper[i].strip() else None
        low = lower[i] if i < len(lower) and isinstance(lower[i], str) and lower[i].strip() else None
        span = own if own is not None else (span if low is not None else None)
        name, text = matcher.match(low), low
        if name is None and span is not None and low is not None:
            # "Vốn điều lệ" over "(đồng)", "Thiếu hụt" over "1", "Doanh thu (triệu đồng)" over "Lưu trú"
            name = matcher.match_key(_key(f"{span} {low}"))
            upper_key, lower_key = _key(span), _key(low)
            if name is None and upper_key and lower_key:
                name = matcher.match_key(f"{upper_key} {lower_key}")
            text = f"{span} / {low}"
        if name is None and own is not None:
            name = matcher.match(own)
            if name is not None or low is None:
                text = own
        names.append(name)
        texts.append(text)
    return names, texts


def _score(names: list[str | None]) -> int:
    return len({n for n in names if n is not None})


def _find_header(head: list[Row], matcher: _HeaderMatcher, need: int) -> _Header | None:
    scored = [(_score(_single(row, matcher)[0]), i) for i, row in enumerate(head[:HEADER_SCAN_ROWS])]
    best, h = max(scored, key=lambda si: (si[0], -si[1]), default=(0, 0))
    if best < need:
        return None
    names, texts = _single(head[h], matcher)
    header = _Header(h, h, names, texts)
    candidates = []
    if h + 1 < len(head):
        candidates.append((h, h + 1))
    if h > 0:
        candidates.append((h - 1, h))
    for first, last in candidates:
        c_names, c_texts = _combined(head[first], head[last], matcher)
        if _score(c_names) > _score(header.names):
            header = _Header(first, last, c_names, c_texts)
    return header


# ------------------------------------------------------------------------ numbering, footer, title

_NUM_CELL = r"[\(\[]?\s*(?:\d{1,3}|[A-Za-z])\s*[\)\]]?"
_NUMBERING_RE = re.compile(rf"{_NUM_CELL}(?:\s*[=+\-*x/:]\s*{_NUM_CELL})*")
_FIRST_NUMBER_RE = re.compile(r"\d+")


def _is_numbering(row: Row, header_filled: int) -> bool:
    """ "(1) (2) (3)…", "1 2 3…" or "A B C…" under the header: every cell a small number or a
    letter, most cells filled, numbers increasing (so that a data row of small numbers is not it)."""
    cells = [str(c).strip() for c in row if c not in (None, "")]
    if len(cells) < max(2, math.ceil(header_filled / 2)):
        return False
    if not all(_NUMBERING_RE.fullmatch(c) for c in cells):
        return False
    numbers = [int(m[0]) for c in cells if (m := _FIRST_NUMBER_RE.search(c))]
    return all(a < b for a, b in zip(numbers, numbers[1:], strict=False))


# Totals are matched with their diacritics: "Tổng cộng" ends a table, "Tổng công ty" names a company.
_TOTAL_RE = re.compile(r"(?:tổng(?:\s*(?:cộng|số|toàn)\b|\s*:|$)|cộng(?:\s*(?:toàn\b|:)|$))")
_TOTAL_ASCII_RE = re.compile(r"(?:tong(?:\s*(?:cong|so|toan)\b|\s*:|$)|cong(?:\s*(?:toan\b|:)|$))")
_FOOTER_RE = re.compile(
    r"(?:nguoi\s*lap|thu\s*truong|(?:pho\s*)?giam\s*doc|ke\s*toan|xac\s*nhan|ghi\s*chu|\(\s*ky|ky\s*ten"
    r"|noi\s*nhan|kt\s*\.|tm\s*\.|(?:[^,]{0,60},\s*)?ngay\b.{0,30}?thang\b.{0,30}?nam\b)"
)
_LEADING_MARKS = " -•*+.:"


def _total_prefix_re() -> re.Pattern[str]:
    """Cheap pre-filter for a total row's first cell, in NFC, NFD, without marks, TCVN3 and VNI."""
    forms = set()
    for word in ("tổng", "cộng", "TỔNG", "CỘNG"):
        forms |= {word, unicodedata.normalize("NFD", word), strip_diacritics(word)}
        forms |= {encode_legacy(word, "tcvn3"), encode_legacy(word, "vni")}
    return re.compile(r"\s*(?:" + "|".join(sorted(map(re.escape, forms), key=len, reverse=True)) + ")", re.IGNORECASE)


_TOTAL_PREFIX_RE = _total_prefix_re()
_TOTAL_INITIALS = frozenset("TtCc \t\u00a0")


@lru_cache(maxsize=16384)
def _folded(cell: str) -> tuple[str, ...]:
    """Comparison forms of a possible footer cell: as repaired by `fold`, and read as TCVN3 and as
    VNI (a two-word cell is too short for `repair_legacy` to tell the two apart)."""
    if len(cell) > 300:
        return ()
    forms = [fold(cell)]
    if not unicodedata.normalize("NFC", cell).isascii():
        forms += [fold(viparse.fix(cell, encoding=name)) for name in LEGACY_ENCODINGS]
    return tuple(dict.fromkeys(f.lstrip(_LEADING_MARKS) for f in forms))


def _is_total(cell: str) -> bool:
    """ "Tổng cộng", "Tổng số", "Cộng", "Cộng toàn tỉnh": a totals row, whatever else it holds.
    Asked of every data row's first cell, hence the cheap tests first (row numbers, codes)."""
    if cell.lstrip()[:1] not in _TOTAL_INITIALS or not _TOTAL_PREFIX_RE.match(cell):
        return False
    return any(_TOTAL_RE.match(f) or (f.isascii() and _TOTAL_ASCII_RE.match(f)) for f in _folded(cell))


def _is_footer_phrase(cell: Any) -> bool:
    """A signature, date or note line ("Người lập biểu", "Quy Nhơn, ngày 5 tháng 4 năm 2024")."""
    if not isinstance(cell, str) or not cell:
        return False
    return _is_total(cell) or any(_FOOTER_RE.match(strip_diacritics(f)) for f in _folded(cell))


_PERIOD_PATTERNS = (
    re.compile(r"ky\s*bao\s*cao\s*:?\s*(?P<p>\S.*)"),
    re.compile(r"(?P<p>thang\s*\d{1,2}\s*(?:nam|[/.-])\s*\d{4})"),
    re.compile(r"(?:tinh\s*)?den\s*(?:het\s*)?ngay\s*(?P<p>\d{1,2}[/.-]\d{1,2}[/.-]\d{4})"),
    re.compile(r"(?P<p>(?:quy\s*[ivx1-4]+\s*)?nam\s*\d{4})\b"),
)


def _period_hint(lines: list[str]) -> str | None:
    """The reporting period named in a title row, as written ("03/2024", "Tháng 3 năm 2024")."""
    for pattern in _PERIOD_PATTERNS:
        for line in lines:
            folded = fold_ascii(line)
            if m := pattern.search(folded):
                start, end = m.span("p")
                text = line[start:end] if len(folded) == len(line) else folded[start:end]
                return text.strip() or None
    return None


# ------------------------------------------------------------------------------ cell conversion


def _excel_text(value: Any) -> str | None:
    """An Excel cell value as the text a person sees, never in scientific notation.

    Integral floats lose their ".0" (a CCCD stored as a number must read "52012345678"); other
    floats keep Excel's 15 significant digits, and exactly three decimals get a trailing zero
    ("3.1250") so that the number parser does not take "3.125" for 3125 (see pipelines.parse).
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer():
            return str(int(value))
        text = format(Decimal(format(value, ".15g")), "f")
        if "." in text and len(text) - text.index(".") == 4:
            text += "0"
        return text
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def _clean(value: Any) -> str | None:
    """`clean_text` with a fast path for plain ASCII (most codes and numbers)."""
    if not value:
        return None
    if value.isascii():
        return " ".join(value.split()) or None
    return clean_text(value)


# --------------------------------------------------------------------------------- CSV decoding


def _detect_encoding(sample: bytes, complete: bool) -> str:
    """BOM, then UTF-16 without BOM (NUL-heavy), then UTF-8, else Windows-1258.

    The sample may end inside a multibyte character: the incremental decoder keeps such a tail
    instead of failing. A mostly-UTF-8 sample with a few invalid bytes stays UTF-8 (the bytes are
    replaced and counted): Windows-1258 Vietnamese text is almost never valid UTF-8 at all.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if sample.count(0) > len(sample) // 8:
        return "utf-16-be" if sample[0::2].count(0) > sample[1::2].count(0) else "utf-16-le"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    text = sample.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ch > "\x7f") - bad
    return "utf-8" if good > 4 * bad else "cp1258"


def _decode_sample(sample: bytes, encoding: str, complete: bool) -> str:
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, final=complete)
    if not complete and "\n" in text:
        text = text[: text.rindex("\n") + 1]  # drop a partial last line
    return text.replace("\x00", "")


_SEP_LINE_RE = re.compile(r"\ufeff?sep=(.)(?:\r\n|\r|\n|$)")


# --------------------------------------------------------------------------------------- reader


@dataclass
class _Opened:
    """One opened file as the reader needs it, whatever its format."""

    rows: Iterator[tuple[int, Row]]  # (row number as Excel shows it, cells)
    close: Callable[[], None]
    error: Callable[[Exception, int], SourceError | None]  # a csv.Error while streaming → SourceError
    encoding: str | None = None
    delimiter: str | None = None
    where: str = ""  # e.g. " (sheet 'Data')"
    lines_read: Callable[[], int] | None = None  # CSV: physical lines read so far
    finish: Callable[[list[str]], None] | None = None  # adds end-of-file warnings (NUL count)


class SourceReader:
    """Streams one file's data rows in batches; the layout is known as soon as it is opened.

    Attributes: `layout`; `rows_skipped`, the non-data rows by kind (blank, numbering, footer,
    title); `warnings`, one line each (undecodable bytes, NULs removed, values under no header, a
    footer followed by more data, a quote probably not closed), complete once `batches()` is
    exhausted; `rows_read`, the data rows handed out so far.
    """

    def __init__(self, path: Path, spec: DatasetSpec, batch_rows: int, opened: _Opened) -> None:
        self.path = path
        self.spec = spec
        self.batch_rows = max(1, batch_rows)
        self.rows_skipped: dict[str, int] = {"blank": 0, "numbering": 0, "footer": 0, "title": 0}
        self.warnings: list[str] = []
        self.rows_read = 0
        self._opened = opened
        self._closer = opened.close
        self._consumed = False
        self._lines_seen = 0  # CSV: extra physical lines (quoted line breaks) already accounted for
        try:
            self.layout, self._rest = self._detect(opened.rows)
        except BaseException:
            self.close()
            raise

    # -- lifecycle
    def close(self) -> None:
        """Release the file; called at the end of `batches()`, or by the caller (or `with`) otherwise."""
        closer, self._closer = self._closer, _nothing
        closer()

    def __enter__(self) -> SourceReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _error(self, message: str, reason: str) -> SourceError:
        return SourceError(f"{self.path.name}{self._opened.where}: {message}", reason)

    def _csv_error(self, exc: csv.Error, row: int) -> Exception:
        return self._opened.error(exc, row) or exc

    # -- layout
    def _detect(self, rows: Iterator[tuple[int, Row]]) -> tuple[Layout, Iterator[tuple[int, Row]]]:
        head: list[tuple[int, Row]] = []
        try:
            for item in rows:
                head.append(item)
                if len(head) >= HEADER_SCAN_ROWS + 2:
                    break
        except csv.Error as exc:
            raise self._csv_error(exc, len(head) + 1) from exc
        if not any(_filled(r) for _, r in head):
            raise self._error("the file is empty; export the data again", "empty_file")
        spec = self.spec
        matcher = _HeaderMatcher(spec)
        required = [c for c in spec.columns if c.required]
        need = max(2, math.ceil(len(required) / 2))
        header = _find_header([r for _, r in head], matcher, need)
        if header is None:
            raise self._no_header(head, matcher, need)

        names, texts = header.names, header.texts
        header_row = head[header.last][0]
        columns: dict[str, int] = {}
        for i, name in enumerate(names):
            if name is None:
                continue
            if name in columns:
                raise self._error(
                    f"column '{spec.column(name).headers[0]}' ({name}) appears twice in the header on row "
                    f"{header_row}, in columns {_column_letter(columns[name])} and {_column_letter(i)}; "
                    "keep one of them",
                    "duplicate_column",
                )
            columns[name] = i
        missing = [c for c in required if c.name not in columns]
        if missing:
            raise self._missing(missing, header_row)

        self._width = len(names)
        self._mapped = sorted(columns.values())
        self._stt = {i for i, t in enumerate(texts) if t and names[i] is None and _is_stt(t)}
        self._unnamed = [i for i, t in enumerate(texts) if t is None]
        self._drift_seen: set[int] = set()
        header_filled = sum(1 for t in texts if t)
        self._few = max(3, header_filled // 2)  # a footer line fills at most this many cells
        self._data_like = max(3, math.ceil(0.6 * sum(1 for c in required if c.name in columns)))

        titles = [" ".join(filter(None, (_clean(_excel_text(c)) for c in r))) for _, r in head[: header.first]]
        title_lines = [t for t in titles if t]
        self.rows_skipped["title"] = header.first
        layout = Layout(
            header_row=header_row,
            columns=columns,
            drift=[_clean(t) or t for i, t in enumerate(texts) if t and names[i] is None and i not in self._stt],
            missing_optional=[c.name for c in spec.columns if not c.required and c.name not in columns],
            title_lines=title_lines,
            period_hint=_period_hint(title_lines),
            encoding=self._opened.encoding,
            delimiter=self._opened.delimiter,
        )
        after = self._drop_numbering(head[header.last + 1 :], rows, header_filled)
        return layout, chain(after, rows)

    def _drop_numbering(
        self, after: list[tuple[int, Row]], rows: Iterator[tuple[int, Row]], header_filled: int
    ) -> list[tuple[int, Row]]:
        """The rows read past the header, without the numbering row ("(1) (2) (3)…") if the first
        non-blank one is that."""
        i = 0
        while True:
            if i == len(after):
                try:
                    item = next(rows, None)
                except csv.Error as exc:
                    raise self._csv_error(exc, (after[-1][0] if after else 0) + 1) from exc
                if item is None:
                    return after
                after.append(item)
            if _filled(after[i][1]):
                break
            i += 1
            if i > FOOTER_BUFFER_ROWS:  # a sheet formatted far below its data: stop looking
                return after
        if _is_numbering(after[i][1], header_filled):
            self.rows_skipped["numbering"] += 1
            del after[i]
        return after

    def _no_header(self, head: list[tuple[int, Row]], matcher: _HeaderMatcher, need: int) -> SourceError:
        best_row, best = 1, 0
        for number, row in head[:HEADER_SCAN_ROWS]:
            score = _score(_single(row, matcher)[0])
            if score > best:
                best_row, best = number, score
        looked = ", ".join(f"'{c.headers[0]}'" for c in self.spec.columns if c.required)
        return self._error(
            f"no header row found in the first {HEADER_SCAN_ROWS} rows (best: row {best_row} with {best} known "
            f"headers, at least {need} needed); the header should name the columns {looked}",
            "no_header",
        )

    def _missing(self, missing: list[ColumnSpec], header_row: int) -> SourceError:
        col = missing[0]
        message = (
            f"required column '{col.headers[0]}' ({col.name}) not found in the header on row {header_row}; "
            f"add it or rename the header (accepted: {', '.join(col.headers)})"
        )
        if len(missing) > 1:
            message += "; also missing: " + ", ".join(f"'{c.headers[0]}' ({c.name})" for c in missing[1:])
        return self._error(message, "missing_column")

    # -- data rows
    def _footer_start(self, row: Row, first: Any) -> bool:
        """A totals row, or a signature / date / note line (the caller checked it fills few cells)."""
        if isinstance(first, str) and _is_total(first):
            return True
        return _is_footer_phrase(first) or any(_is_footer_phrase(c) for c in row[:3])

    def _looks_like_data(self, row: Row) -> bool:
        n = len(row)
        return sum(1 for i in self._mapped if i < n and row[i]) >= self._data_like

    def _is_blank(self, row: Row) -> bool:
        """No cell with a visible value, apart from a pre-filled row number (templates number 500 rows)."""
        stt = self._stt
        return all(i in stt or (isinstance(c, str) and not c.strip()) for i, c in enumerate(row) if c)

    def _fit(self, number: int, row: Row) -> Row:
        """The row padded or cut to the header's width; values under no header noted as drift."""
        width = self._width
        if self._unnamed or (len(row) > width and any(row[width:])):
            self._note_drift(number, row)
        if len(row) < width:
            row.extend([None] * (width - len(row)))
        elif len(row) > width:
            row = row[:width]
        return row

    def _note_drift(self, number: int, row: Row) -> None:
        """Cells with values under no header: schema drift, reported once per column."""
        n = len(row)
        indexes = [i for i in self._unnamed if i < n and row[i]]
        indexes += [i for i in range(self._width, n) if row[i]]
        for i in indexes:
            if i not in self._drift_seen:
                self._drift_seen.add(i)
                self.layout.drift.append(f"(no header) column {_column_letter(i)}")
                self.warnings.append(f"column {_column_letter(i)} has values (first on row {number}) but no header")
        self._unnamed = [i for i in self._unnamed if i not in self._drift_seen]

    def _replay(self, rows: list[tuple[int, Row]]) -> Iterator[tuple[int, Row]]:
        for number, row in rows:
            if not _filled(row) or self._is_blank(row):
                self.rows_skipped["blank"] += 1
            else:
                yield number, self._fit(number, row)

    def batches(self) -> Iterator[RawBatch]:
        """The data rows in batches of at most `batch_rows`; may be called once; closes the file at the end."""
        if self._consumed:
            raise RuntimeError("SourceReader.batches() can be called only once")
        self._consumed = True
        try:
            yield from self._stream()
            if self._opened.finish is not None:
                self._opened.finish(self.warnings)
        finally:
            self.close()

    def _stream(self) -> Iterator[RawBatch]:
        """Every row once: blank rows and the footer (totals, signatures, dates) counted and
        skipped, data rows batched. Runs per row, hence the inlined checks of the common case."""
        size, width, few = self.batch_rows, self._width, self._few
        blank_limit = max(3, len(self._stt))
        skipped = self.rows_skipped
        rows: list[Row] = []
        numbers: list[int] = []
        footer: list[tuple[int, Row]] = []
        footer_extra = 0  # footer rows beyond the buffer
        in_footer = False
        number = self.layout.header_row
        try:
            for number, row in self._rest:
                n = len(row)
                filled = n - row.count("") - row.count(None)
                if in_footer:
                    if (
                        filled < self._data_like
                        or not self._looks_like_data(row)
                        or self._footer_start(row, next((c for c in row if c), None))
                    ):
                        if len(footer) < FOOTER_BUFFER_ROWS:
                            footer.append((number, row))
                        else:
                            footer_extra += 1
                        continue
                    self.warnings.append(
                        f"row {footer[0][0]} looked like the end of the table, but data continues on row {number}; "
                        "the rows in between are read as data"
                        + (
                            f" ({footer_extra} rows after the first {FOOTER_BUFFER_ROWS} are not)"
                            if footer_extra
                            else ""
                        )
                    )
                    skipped["footer"] += footer_extra
                    for item in self._replay(footer):
                        numbers.append(item[0])
                        rows.append(item[1])
                    in_footer, footer, footer_extra = False, [], 0
                if filled <= blank_limit and (not filled or self._is_blank(row)):
                    skipped["blank"] += 1
                    continue
                first = row[0] or next((c for c in row if c), None)
                if filled <= few:
                    if self._footer_start(row, first):
                        in_footer, footer = True, [(number, row)]
                        continue
                elif first.__class__ is str and first[:1] in _TOTAL_INITIALS and _is_total(first):
                    in_footer, footer = True, [(number, row)]
                    continue
                if n != width or self._unnamed:
                    row = self._fit(number, row)
                rows.append(row)
                numbers.append(number)
                if len(rows) >= size:
                    while len(rows) >= size:
                        yield self._batch(rows[:size], numbers[:size])
                        rows, numbers = rows[size:], numbers[size:]
        except csv.Error as exc:
            raise self._csv_error(exc, number + 1) from exc
        skipped["footer"] += len(footer) + footer_extra
        while rows:
            yield self._batch(rows[:size], numbers[:size])
            rows, numbers = rows[size:], numbers[size:]

    def _batch(self, rows: list[Row], numbers: list[int]) -> RawBatch:
        self._check_lines(numbers[-1], rows, numbers)
        cells = pd.DataFrame(rows, dtype=object)  # rows all have `width` cells (see _fit)
        data: dict[str, Any] = {}
        for name, index in self.layout.columns.items():
            worked: set[str] = set()
            cleaned = clean_texts(cells[index].tolist(), worked)
            if any("\ufffd" in v for v in worked):
                self._note_replaced(name, cleaned, numbers)
            data[name] = column = np.empty(len(cleaned), dtype=object)
            column[:] = cleaned
        frame = pd.DataFrame(data, dtype=object, index=pd.RangeIndex(len(rows)))
        frame[ROW_NUMBER] = np.array(numbers, dtype=np.int64)
        self.rows_read += len(rows)
        return RawBatch(frame=frame)

    def _check_lines(self, last_row: int, rows: list[Row], numbers: list[int]) -> None:
        """CSV: many more lines than rows so far means a quote opened and never closed (the csv
        module then reads on to the next quote, or to the end of the file). A quoted cell whose lines
        are whole rows (a delimiter between every header column) rejects the file: those rows would
        vanish into one cell, and a snapshot would close the entities they hold."""
        if self._opened.lines_read is None:
            return
        extra = self._opened.lines_read() - last_row
        if extra > self._lines_seen:  # this batch has quoted line breaks: scan its cells
            delimiter, need = self._opened.delimiter or ",", max(2, self._width - 1)
            for number, row in zip(numbers, rows, strict=True):
                for i, cell in enumerate(row):
                    if cell.__class__ is str and ("\n" in cell or "\r" in cell):
                        lines = cell.splitlines()
                        whole = sum(1 for line in lines[1:] if line.count(delimiter) >= need)
                        if whole:
                            raise self._error(
                                f'row {number}, column {_column_letter(i)}: a quote (") opens a cell that runs over '
                                f"{len(lines)} lines, {whole} of which look like rows of their own; the quote is "
                                "probably not closed: close or remove it and export again",
                                "unclosed_quote",
                            )
        if extra - self._lines_seen > 1000:
            self.warnings.append(
                f"rows up to {last_row} hold {extra - self._lines_seen} line breaks inside quoted cells; "
                'a quote (") is probably not closed'
            )
        self._lines_seen = max(self._lines_seen, extra)

    def _note_replaced(self, name: str, cleaned: list[str | None], numbers: list[int]) -> None:
        """Bytes that were invalid in the file's encoding became U+FFFD when decoding: say where."""
        bad = [i for i, v in enumerate(cleaned) if v and "\ufffd" in v]
        self.warnings.append(
            f"column '{self.spec.column(name).headers[0]}' ({name}): {len(bad)} cells hold bytes that are not valid "
            f"{self.layout.encoding or 'text'}, shown as '\ufffd' (first on row {numbers[bad[0]]}); "
            "export the file as UTF-8"
        )


def _nothing() -> None:
    return None


def _is_stt(text: str) -> bool:
    """A row-numbering column ("STT", "Số TT"): in most Vietnamese tables, never data."""
    return fold_ascii(text).rstrip(".") in _STT_HEADERS


# ------------------------------------------------------------------------------------ formats


def open_source(path: Path, spec: DatasetSpec, batch_rows: int = 50_000) -> SourceReader:
    """Open a department file and find its layout (raises SourceError); stream with `.batches()`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return SourceReader(path, spec, batch_rows, _open_csv(path, spec))
    if suffix in XLSX_SUFFIXES:
        return SourceReader(path, spec, batch_rows, _open_xlsx(path))
    hint = "; save it as .xlsx" if suffix in (".xls", ".ods") else ""
    raise SourceError(
        f"{path.name}: files of type '{suffix or '(none)'}' cannot be read; send .xlsx or .csv{hint}",
        "unsupported_format",
    )


def _open_csv(path: Path, spec: DatasetSpec) -> _Opened:
    try:
        raw: BinaryIO = path.open("rb")
    except OSError as exc:
        raise SourceError(f"{path.name}: cannot be opened ({exc.strerror})", "unreadable") from exc
    nuls = _NulFilter(raw)
    try:
        sample = raw.read(SAMPLE_BYTES)
        if not sample.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
            raise SourceError(f"{path.name}: the file is empty; export the data again", "empty_file")
        complete = len(sample) < SAMPLE_BYTES
        encoding = _detect_encoding(sample, complete)
        text = _decode_sample(sample, encoding, complete)
        raw.seek(0)
        source: BinaryIO = raw
        if not encoding.startswith("utf-16"):  # in UTF-16 a zero byte is half of a character
            source = io.BufferedReader(nuls, buffer_size=1 << 16)
        # errors="replace": an invalid byte becomes U+FFFD and is reported per column, not fatal
        stream = io.TextIOWrapper(source, encoding=encoding, errors="replace", newline="")
        delimiter = None
        if m := _SEP_LINE_RE.match(text):  # Excel's "sep=;" line, which Excel hides and does not number
            delimiter = m[1]
            stream.readline()
            text = text[m.end() :]
        if delimiter is None:
            delimiter = _detect_delimiter(text, _HeaderMatcher(spec))
    except BaseException:
        raw.close()
        raise
    reader = csv.reader(stream, delimiter=delimiter)

    def error(exc: Exception, row: int) -> SourceError | None:
        if "field larger than field limit" in str(exc):
            return SourceError(
                f'{path.name}: row {row} has a cell longer than {MAX_CELL_CHARS // 1024} KiB, or a quote (") '
                f"opened on row {row} or before is never closed; shorten the cell or close the quote",
                "too_large_cell",
            )
        return SourceError(f"{path.name}: row {row} cannot be read as CSV ({exc}); fix the quoting", "unreadable")

    def finish(warnings: list[str]) -> None:
        if nuls.removed:
            warnings.append(f"{nuls.removed} NUL bytes were removed; export the file as UTF-8 text")

    return _Opened(
        rows=enumerate(reader, 1),  # the record number is the row Excel shows for a CSV
        close=stream.close,
        error=error,
        encoding=_encoding_name(encoding),
        delimiter=delimiter,
        lines_read=lambda: reader.line_num,
        finish=finish,
    )


def _encoding_name(encoding: str) -> str:
    return {"utf-16-le": "utf-16", "utf-16-be": "utf-16"}.get(encoding, encoding)


class _NulFilter(io.RawIOBase):
    """Removes NUL bytes (a text file never holds them, PostgreSQL refuses them) and counts them;
    works on 64 KiB chunks, so it costs nothing per row."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.removed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)
        while True:
            data = self.raw.read(len(view))
            if not data:
                return 0
            if b"\x00" in data:
                size = len(data)
                data = data.replace(b"\x00", b"")
                self.removed += size - len(data)
                if not data:
                    continue
            view[: len(data)] = data
            return len(data)

    def close(self) -> None:
        self.raw.close()
        super().close()


def _detect_delimiter(text: str, matcher: _HeaderMatcher) -> str:
    """Comma, semicolon or tab: the one that yields the best header, then the most rows of one
    width (csv.Sniffer guesses wrong on Vietnamese addresses full of commas)."""
    best: tuple[int, int, int] = (-1, -1, -1)
    chosen = ","
    for delimiter in (",", ";", "\t"):
        try:
            rows = list(islice(csv.reader(io.StringIO(text), delimiter=delimiter), HEADER_SCAN_ROWS + 2))
        except csv.Error:
            continue
        header = max((_score(_single(r, matcher)[0]) for r in rows), default=0)
        widths = Counter(len(r) for r in rows if len(r) > 1)
        width, count = widths.most_common(1)[0] if widths else (1, 0)
        if (header, count, width) > best:
            best, chosen = (header, count, width), delimiter
    return chosen


def _open_xlsx(path: Path) -> _Opened:
    """Stream the first visible sheet's rows.

    python-calamine (Rust) parses the sheet about 30x faster than openpyxl's read-only mode
    (pure-Python XML, ~3k rows/s here). It holds one sheet's cell values at a time, which is bounded
    by Excel's own limits (1,048,576 rows) and small next to the CSVs that carry the big datasets.
    """
    import python_calamine  # imported here: only Excel deliveries need it

    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        visible = [m.name for m in workbook.sheets_metadata if str(m.visible).endswith("Visible")]
        if not visible:
            raise SourceError(
                f"{path.name}: the workbook has no visible worksheet; unhide the data sheet", "empty_file"
            )
        sheet = workbook.get_sheet_by_name(visible[0])
    except SourceError:
        raise
    except Exception as exc:  # calamine raises several types for a damaged or disguised file
        raise SourceError(
            f"{path.name}: cannot be opened as an Excel workbook ({type(exc).__name__}); "
            "open it in Excel and save it again as .xlsx",
            "unreadable",
        ) from exc
    where = f" (sheet '{sheet.name}')" if len(workbook.sheet_names) > 1 else ""

    def rows() -> Iterator[tuple[int, Row]]:
        number = 0
        try:
            # calamine starts at the first used cell: keep Excel's row numbers for lineage.
            first_row = sheet.start[0] if sheet.start else 0
            for number, row in enumerate(sheet.iter_rows(), first_row + 1):
                yield number, [None if v == "" else v if v.__class__ is str else _excel_text(v) for v in row]
        except Exception as exc:
            raise SourceError(
                f"{path.name}{where}: row {number + 1} cannot be read ({type(exc).__name__}); "
                "open the file in Excel and save it again",
                "unreadable",
            ) from exc

    return _Opened(rows=rows(), close=workbook.close, error=lambda exc, row: None, where=where)
