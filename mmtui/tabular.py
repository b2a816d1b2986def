"""Read CSV and NDJSON files into columns: ``dict[str, np.ndarray]``.

A numeric column is float64 with NaN for missing values; any other column is a numpy unicode
array with ``""`` for missing values. A column is numeric when every non-missing value parses as a
number (``NA``, ``N/A``, ``NaN``, ``null``, ``None`` and empty fields are missing), unless it is
listed in ``categorical``, in which case its text is kept as written.

CSV (RFC 4180: a header row, commas, ``"``-quoted fields) is parsed with numpy on the raw bytes,
block by block: delimiters are found with one comparison per block, and plain decimals (a sign,
digits, a dot) are converted eight digits at a time on 64-bit words. The values are ``float()``'s,
correctly rounded (beyond 15 significant digits this needs x86 80-bit long doubles; elsewhere such
values are within one unit in the last place). Other fields (exponents, ``inf``, surrounding
spaces, missing tokens) go through ``float()``. Quoted fields are found by counting quotes (a
delimiter after an odd number of them is inside a field); files with line breaks inside fields or
quotes used other than around whole fields are read with :mod:`csv`.

NDJSON has one JSON object per line (a JSON array of objects is accepted too): top-level keys are
columns, the keys of a nested ``features`` object (the inference-log record shape) are columns too,
booleans become ``"true"``/``"false"`` and other nested values their JSON text.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Table = dict[str, np.ndarray]
Progress = Callable[[int, int], None]
"""Called with (bytes read, file size)."""

MISSING_TOKENS = frozenset({"", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"})
"""Tokens read as a missing value in a numeric column."""

_BLOCK = 4 << 20
_PAD = 256
_CHUNK = 16384
_MAX_STR_WIDTH = 256
_U = np.uint64
_ONES = _U(0x0101010101010101)
_POW10F = 10.0 ** np.arange(25)
_X87 = (
    np.finfo(np.longdouble).nmant == 63
    and np.dtype(np.longdouble).itemsize == 16
    and np.little_endian
)
"""Long doubles are x86 80-bit extended: a 64-bit significand in the first 8 of 16 bytes."""

IntArray = npt.NDArray[np.int64]


def _inside_lanes() -> npt.NDArray[np.uint64]:
    """``[w, n]``: 0x01 in the bytes of word ``w`` that a field of ``n`` bytes covers, the field
    ending the 24-byte window of words 0, 1, 2 (and covering all of it from 24 bytes on)."""
    table = np.zeros((3, 26), dtype=_U)
    for n in range(26):
        for w, after in enumerate((16, 8, 0)):  # bytes of the window after word w
            m = min(max(n - after, 0), 8)  # the last m bytes of word w are in the field
            table[w, n] = (0x0101010101010101 << (8 * (8 - m))) % 2**64
    return table


_INSIDE = _inside_lanes()


class TableError(ValueError):
    """The file is not a readable table; the message names the file, the line and the problem."""


class _Restart(Exception):
    """A column turned out not to be numeric after earlier blocks were read as numbers."""

    def __init__(self, columns: set[str]) -> None:
        super().__init__(", ".join(sorted(columns)))
        self.columns = columns


class _Quoted(Exception):
    """The file has quoted fields: read it with the csv module."""


def read_table(
    path: str | Path,
    *,
    categorical: Collection[str] = (),
    columns: Collection[str] | None = None,
    progress: Progress | None = None,
) -> Table:
    """Read a CSV or NDJSON file into columns.

    Parameters
    ----------
    path
        The file; ``.csv`` is CSV, ``.ndjson``/``.jsonl``/``.json`` JSON, anything else is sniffed.
    categorical
        Columns kept as text even when every value is a number.
    columns
        Read only these columns (all when None); those the file lacks are not in the result.
    progress
        Called as reading advances, with (bytes read, file size).

    Raises
    ------
    TableError
        Missing or unreadable file, not UTF-8, ragged row, invalid JSON, no header.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        fh = path.open("rb")
    except OSError as exc:
        raise TableError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with fh:
        head = fh.read(4096)
        fh.seek(0)
        kind = _format(path, head)
        if kind == "json":
            table = _read_json(path, fh.read(), categorical, columns)
            if progress is not None:
                progress(size, size)
            return table
        forced = set(categorical)
        while True:
            fh.seek(0)
            try:
                return _read_csv_fast(path, fh, size, forced, columns, progress)
            except _Restart as restart:
                forced |= restart.columns
            except _Quoted:
                fh.seek(0)
                return _read_csv_quoted(path, fh.read(), size, forced, columns, progress)


def _format(path: Path, head: bytes) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in {".ndjson", ".jsonl", ".json"}:
        return "json"
    return "json" if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[") else "csv"


# ----------------------------------------------------------------------------------------- CSV


def _read_csv_fast(
    path: Path,
    fh: io.BufferedReader,
    size: int,
    forced: set[str],
    columns: Collection[str] | None,
    progress: Progress | None,
) -> Table:
    header_line = fh.readline()
    if not header_line.strip():
        raise TableError(f"{path}: empty file: expected a header row")
    names = _header(path, header_line)
    wanted = _wanted(names, columns)
    numeric = [i for i in wanted if names[i] not in forced]
    text = [i for i in wanted if names[i] in forced]
    parts: dict[int, list[np.ndarray]] = {i: [] for i in wanted}
    line = 2
    pending = b""  # an incomplete last line, parsed with the next block
    pad = bytes(_PAD)
    first = True
    while True:
        chunk = fh.read(_BLOCK)
        eof = not chunk
        cut = chunk.rfind(b"\n") + 1
        if not eof and not cut:
            pending += chunk
            continue
        if eof and not pending:
            break
        body = (pending, b"\n") if eof else (pending, memoryview(chunk)[:cut])
        seg = b"".join((pad, *body, pad))
        pending = chunk[cut:]
        line = _parse_block(path, seg, line, names, numeric, text, parts, first)
        first = False
        if progress is not None:
            progress(fh.tell() - len(pending), size)
        if eof:
            break
    return {names[i]: _concat(parts[i], i in numeric) for i in wanted}


def _header(path: Path, line: bytes) -> list[str]:
    try:
        raw = line.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TableError(f"{path} line 1: not UTF-8 text") from None
    try:
        names = next(csv.reader([raw.rstrip("\r\n")], strict=True))
    except csv.Error:  # a quoted name that goes on to the next line
        raise _Quoted from None
    names = [n or f"unnamed_{i}" for i, n in enumerate(names)]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise TableError(f"{path} line 1: column {name!r} appears twice in the header")
        seen.add(name)
    return names


def _wanted(names: list[str], columns: Collection[str] | None) -> list[int]:
    if columns is None:
        return list(range(len(names)))
    keep = set(columns)
    return [i for i, n in enumerate(names) if n in keep]


def _concat(parts: list[np.ndarray], numeric: bool) -> np.ndarray:
    if not parts:
        return np.empty(0, dtype=np.float64 if numeric else "U1")
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _parse_block(
    path: Path,
    seg: bytes,
    line: int,
    names: list[str],
    numeric: list[int],
    text: list[int],
    parts: dict[int, list[np.ndarray]],
    first: bool,
) -> int:
    """Parse the lines in ``seg[_PAD:-_PAD]`` into ``parts``; return the next line number.

    Columns of ``numeric`` found not to be numeric move to ``text`` on the first block and
    raise :class:`_Restart` on later ones.
    """
    buf = np.frombuffer(seg, dtype=np.uint8)
    ncols = len(names)
    lo, hi = _PAD, len(seg) - _PAD
    if seg.isascii():
        ascii_only = True
    else:
        ascii_only = False
        _check_utf8(path, seg, line)
    cand = np.flatnonzero(buf[lo:hi] <= 44) + lo
    if len(cand) == 0:
        return line
    kinds = buf[cand]
    quote = kinds == 34
    quotes: IntArray | None = None  # per delimiter kept, the quotes before it in the block
    if quote.any():
        before = np.cumsum(quote) - quote
        inside = (before & 1).astype(bool)  # after an odd number of quotes: in a quoted field
        if (inside & (kinds == 10)).any():
            raise _Quoted  # a line break in a field: the csv module keeps the line numbers
        keep = ((kinds == 44) | (kinds == 10)) & ~inside
        quotes = before[keep]
    else:
        keep = (kinds == 44) | (kinds == 10)
    if not keep.all():
        cand, kinds = cand[keep], kinds[keep]
    nl = np.flatnonzero(kinds == 10)
    nfields = np.diff(nl, prepend=-1)
    line_end = cand[nl]
    line_start = np.empty_like(line_end)
    line_start[0] = lo
    line_start[1:] = line_end[:-1] + 1
    cr = (buf[line_end - 1] == 13) & (line_end > line_start)
    blank = line_end - cr == line_start
    bad = (nfields != ncols) & ~blank
    if bad.any():
        i = int(np.argmax(bad))
        raise TableError(
            f"{path} line {line + i}: expected {ncols} fields, found {int(nfields[i])}"
        )
    starts = np.empty_like(cand)
    starts[0] = lo
    starts[1:] = cand[:-1] + 1
    ends = cand
    if cr.any():
        ends = cand.copy()
        ends[nl[cr]] -= 1
    escaped = np.empty(0, np.int64)
    if quotes is not None:
        counts = np.diff(quotes, prepend=0)  # quotes in each field
        if blank.any():
            counts = np.delete(counts, nl[blank])
    if blank.any():
        drop = nl[blank]
        starts, ends = np.delete(starts, drop), np.delete(ends, drop)
    if quotes is not None:
        starts, ends, escaped = _unquote(seg, buf, starts, ends, counts)
    nrows = len(ends) // ncols
    s2, e2 = starts.reshape(nrows, ncols), ends.reshape(nrows, ncols)
    if numeric and nrows:
        failed = _numeric_columns(seg, buf, s2, e2, numeric, parts)
        if failed:
            if not first:
                raise _Restart({names[c] for c in failed})
            for c in failed:
                numeric.remove(c)
                text.append(c)
    fixes: dict[int, list[int]] = {}
    for k in escaped.tolist():
        fixes.setdefault(k % ncols, []).append(k // ncols)
    for c in text:
        column = _strings(seg, buf, s2[:, c], e2[:, c], ascii_only)
        for r in fixes.get(c, ()):
            column[r] = seg[s2[r, c] : e2[r, c]].decode("utf-8").replace('""', '"')
        parts[c].append(column)
    return line + len(nl)


def _unquote(
    seg: bytes, buf: np.ndarray, starts: IntArray, ends: IntArray, counts: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """The fields holding ``counts`` quotes narrowed to the text inside their quotes, and the
    fields whose text has doubled quotes in it (to undouble). Anything but fields quoted
    whole, such as ``"a, ""b"" c"``, is left to the csv module.
    """
    quoted = np.flatnonzero(counts)
    a, b = starts[quoted], ends[quoted]
    if not ((b - a >= 2) & (buf[a] == 34) & (buf[b - 1] == 34)).all():
        raise _Quoted
    starts, ends = starts.copy(), ends.copy()
    starts[quoted] += 1
    ends[quoted] -= 1
    escaped = quoted[counts[quoted] > 2]
    for k in escaped.tolist():
        if b'"' in seg[starts[k] : ends[k]].replace(b'""', b""):
            raise _Quoted  # a lone quote inside: the csv module says where
    return starts, ends, escaped


def _check_utf8(path: Path, seg: bytes, line: int) -> None:
    try:
        seg.decode("utf-8")
    except UnicodeDecodeError as exc:
        at = line + seg.count(b"\n", _PAD, exc.start)
        raise TableError(
            f"{path} line {at}: not UTF-8 text (byte 0x{seg[exc.start]:02x})"
        ) from None


def _numeric_columns(
    seg: bytes,
    buf: np.ndarray,
    starts: IntArray,
    ends: IntArray,
    numeric: list[int],
    parts: dict[int, list[np.ndarray]],
) -> list[int]:
    """Parse the ``numeric`` columns of one block at once; return those that are not numbers."""
    s = starts[:, numeric].ravel()
    e = ends[:, numeric].ravel()
    values = np.empty(len(s))
    slow = np.empty(len(s), dtype=bool)
    for i in range(0, len(s), _CHUNK):  # chunks small enough to stay in cache
        values[i : i + _CHUNK], slow[i : i + _CHUNK] = _parse_floats(
            buf, s[i : i + _CHUNK], e[i : i + _CHUNK]
        )
    failed: set[int] = set()
    ncol = len(numeric)
    for k in np.flatnonzero(slow).tolist():
        col = numeric[k % ncol]
        if col in failed:
            continue
        v = _token_float(seg[s[k] : e[k]].decode("utf-8"))
        if v is None:
            failed.add(col)
        else:
            values[k] = v
    grid = values.reshape(-1, ncol)
    for j, col in enumerate(numeric):
        if col not in failed:
            parts[col].append(np.ascontiguousarray(grid[:, j]))
    return [c for c in numeric if c in failed]


def _token_float(token: str) -> float | None:
    """A number, NaN for a missing token, or None when the token is not a number."""
    t = token.strip()
    if t in MISSING_TOKENS:
        return math.nan
    if "_" in t:
        return None
    try:
        return float(t)
    except ValueError:
        return None


def _parse_floats(
    buf: np.ndarray, starts: IntArray, ends: IntArray
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Parse plain decimals (``-12.5``, ``7``, ``.5``) between ``starts`` and ``ends`` in ``buf``.

    Returns the values (NaN for empty fields and for fields not parsed) and a mask of the
    non-empty fields that need ``float()``: any other syntax, more than 24 bytes or 2**64.
    ``buf`` must have at least 24 bytes before the first field.

    Each field's last 24 bytes are taken as three 64-bit words, one row per word, and decoded
    eight digits at a time with multiply-and-shift steps (SWAR), after closing the gap of the dot.
    """
    n = len(starts)
    lens = ends - starts
    windows = np.ndarray((len(buf) - 23,), dtype="V24", buffer=buf, strides=(1,))
    words = np.ascontiguousarray(windows[ends - 24].view(np.uint64).reshape(n, 3).T)
    raw = words.view(np.uint8)
    inside = np.take(_INSIDE, np.minimum(lens, 25), axis=1)
    digits = raw - np.uint8(48)
    dig = (digits < 10).view(np.uint64) & inside
    dot = (raw == 46).view(np.uint64) & inside
    digits *= dig.view(np.uint8)
    ndig = _lanes(dig)
    ndot = _lanes(dot)
    first = buf[starts]
    sign = (first == 45) | (first == 43)
    ok = (ndig + ndot + sign == lens) & (ndot <= 1) & (ndig >= 1)
    # 0x01 in the lanes after the dot (all lanes without a dot): in the dot's word by a
    # carry-free multiply, then the words after it.
    nodot = ndot == 0
    after = dot * _ONES - dot
    after[0] |= nodot * _ONES
    after[1] |= ((dot[0] != 0) | nodot) * _ONES
    after[2] |= (((dot[0] | dot[1]) != 0) | nodot) * _ONES
    frac = (_lanes(after) - np.uint8(24) * nodot).astype(np.intp)
    ok &= frac <= 22  # 10**22 is the largest power of ten a float64 holds exactly
    # Close the gap of the dot: move the digits before it one byte up, onto it.
    dw = digits.view(np.uint64)
    shifted = dw << _U(8)
    shifted[1:] |= dw[:-1] >> _U(56)
    dw ^= (dw ^ shifted) & ((after ^ _ONES) * _U(0xFF))
    v = (dw * _U(10) + (dw >> _U(8))) & _U(0x00FF00FF00FF00FF)
    v = (v * _U(100) + (v >> _U(16))) & _U(0x0000FFFF0000FFFF)
    v = (v * _U(10000) + (v >> _U(32))) & _U(0xFFFFFFFF)
    ok &= v[0] < 1844
    mant = v[0] * _U(10**16) + v[1] * _U(10**8) + v[2]
    values = mant.astype(np.float64) / _POW10F[frac]
    if _X87:  # beyond 2**53 the mantissa needs 64 bits to stay exact
        big = np.flatnonzero(ok & (mant >= _U(2**53)))
        quotient = mant[big].astype(np.longdouble) / _POW10F[frac[big]]
        values[big] = quotient.astype(np.float64)
        # Rounded twice, a quotient that landed on a float64 midpoint may be off: use float().
        tie = (quotient.view(np.uint64)[::2] & _U(0x7FF)) == 0x400
        ok[big[tie]] = False
    values = np.where(first == 45, -values, values)
    values[~ok] = np.nan
    return values, ~ok & (lens > 0)


def _lanes(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint8]:
    """Per field, the 0x01 bytes of its three words."""
    counts: npt.NDArray[np.uint8] = np.bitwise_count(words).sum(axis=0, dtype=np.uint8)
    return counts


def _strings(
    seg: bytes, buf: np.ndarray, starts: IntArray, ends: IntArray, ascii_only: bool
) -> np.ndarray:
    """The text of the fields between ``starts`` and ``ends``, as a unicode array."""
    n = len(starts)
    lens = ends - starts
    width = int(lens.max()) if n else 0
    if width == 0:
        return np.full(n, "", dtype="U1")
    if width > _MAX_STR_WIDTH:
        spans = zip(starts.tolist(), ends.tolist(), strict=True)
        return np.array([seg[a:b].decode("utf-8") for a, b in spans])
    windows = np.ndarray((len(buf) - width + 1,), dtype=f"V{width}", buffer=buf, strides=(1,))
    grid = windows[starts].view(np.uint8).reshape(n, width)
    grid *= np.arange(width) < lens[:, None]
    if ascii_only:  # one byte per character: widen to UCS-4, numpy's unicode layout
        return grid.astype(np.uint32).view(f"U{width}").ravel()
    levels, inverse = np.unique(grid.view(f"S{width}").ravel(), return_inverse=True)
    return np.array([v.decode("utf-8") for v in levels.tolist()])[inverse]


def _read_csv_quoted(
    path: Path,
    data: bytes,
    size: int,
    forced: set[str],
    columns: Collection[str] | None,
    progress: Progress | None,
) -> Table:
    text = _decode(path, data)
    consumed = 0

    def lines() -> Iterator[str]:
        nonlocal consumed
        for n, line in enumerate(io.StringIO(text, newline="")):
            consumed += len(line)
            if progress is not None and n % 65536 == 65535:
                progress(consumed * size // max(len(text), 1), size)
            yield line

    reader = csv.reader(lines(), strict=True)
    try:
        header = next(reader, None)
        if not header:
            raise TableError(f"{path}: empty file: expected a header row")
        names = _header(path, ",".join(_quote(h) for h in header).encode())
        wanted = _wanted(names, columns)
        rows: list[list[str]] = []
        for row in reader:
            if not row:
                continue
            if len(row) != len(names):
                raise TableError(
                    f"{path} line {reader.line_num}: expected {len(names)} fields, "
                    f"found {len(row)}"
                )
            rows.append(row)
    except csv.Error as exc:
        raise TableError(f"{path} line {reader.line_num}: {exc}") from None
    if progress is not None:
        progress(size, size)
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    table: Table = {}
    for i in wanted:
        tokens: tuple[str, ...] = cols[i]
        if names[i] not in forced:
            values, bad = _numbers(tokens)
            if not bad:
                table[names[i]] = values
                continue
        table[names[i]] = _text(tokens)
    return table


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(tokens: tuple[str, ...]) -> np.ndarray:
    return np.array(tokens, dtype=str) if tokens else np.empty(0, dtype="U1")


def to_numbers(values: np.ndarray) -> tuple[npt.NDArray[np.float64], list[int]]:
    """Text as numbers: missing tokens and text that is not a number become NaN.

    Returns the numbers and the positions of the values that were not numbers.

    Examples
    --------
    >>> numbers, bad = to_numbers(np.array(["1.5", "", "NA", "oops", "2e3"]))
    >>> numbers.tolist(), bad
    ([1.5, nan, nan, nan, 2000.0], [3])
    """
    if values.dtype.kind == "f":
        return values.astype(np.float64), []
    return _numbers(values.astype(str).tolist(), coerce=True)


def _numbers(
    tokens: Sequence[str], *, coerce: bool = False
) -> tuple[npt.NDArray[np.float64], list[int]]:
    """The tokens as numbers and the positions of those that are not numbers (NaN there).

    Without ``coerce`` it stops at the first one that is not a number.
    """
    joined = "\n".join(tokens).encode()
    if len(joined) == len(tokens) - 1 + sum(map(len, tokens)):
        lens = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    else:
        lens = np.fromiter((len(t.encode()) for t in tokens), dtype=np.int64, count=len(tokens))
    ends = np.cumsum(lens + 1) - 1 + _PAD
    raw = b"".join((bytes(_PAD), joined, b"\n", bytes(_PAD)))
    values, slow = _parse_floats(np.frombuffer(raw, dtype=np.uint8), ends - lens, ends)
    bad = []
    for k in np.flatnonzero(slow).tolist():
        v = _token_float(tokens[k])
        if v is not None:
            values[k] = v
            continue
        bad.append(k)
        if not coerce:
            break
    return values, bad


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        at = data.count(b"\n", 0, exc.start) + 1
        raise TableError(
            f"{path} line {at}: not UTF-8 text (byte 0x{data[exc.start]:02x})"
        ) from None


# ---------------------------------------------------------------------------------------- JSON


def _read_json(
    path: Path, data: bytes, categorical: Collection[str], columns: Collection[str] | None
) -> Table:
    text = _decode(path, data)
    records = _json_records(path, text)
    if not records:
        raise TableError(f"{path}: no records: expected one JSON object per line")
    names: dict[str, None] = {}
    for rec in records:
        names.update(dict.fromkeys(rec))
    if columns is not None:
        keep = set(columns)
        names = {n: None for n in names if n in keep}
    forced = set(categorical)
    return {n: _json_column([r.get(n) for r in records], n in forced) for n in names}


def _json_records(path: Path, text: str) -> list[dict[str, Any]]:
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TableError(f"{path} line {exc.lineno}: invalid JSON: {exc.msg}") from None
        lines = list(enumerate(items, 1))
    else:
        lines = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                lines.append((n, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise TableError(
                    f"{path} line {n}: invalid JSON: {exc.msg} (column {exc.colno})"
                ) from None
    records = []
    for n, item in lines:
        if not isinstance(item, dict):
            what = "record" if text.lstrip().startswith("[") else "line"
            raise TableError(
                f"{path} {what} {n}: expected a JSON object, found {type(item).__name__}"
            )
        features = item.get("features")
        if isinstance(features, dict):
            item = {**{k: v for k, v in item.items() if k != "features"}, **features}
        records.append(item)
    return records


def _json_column(values: list[Any], forced: bool) -> np.ndarray:
    numeric = not forced and all(
        v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values
    )
    if numeric:
        return np.array([math.nan if v is None else v for v in values], dtype=np.float64)
    return np.array([_json_text(v) for v in values], dtype=str)


def _json_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True)
