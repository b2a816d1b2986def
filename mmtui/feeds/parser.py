"""Parse Prometheus text exposition (0.0.4) and OpenMetrics 1.0 into metric families.

This runs on every poll of every endpoint, so sample lines take a fast path built on
``str.partition`` and per-parse caches of label sets and values; it only accepts what it can vouch
for, and any other line is read again by a strict tokenizer that either accepts it or raises
:class:`ParseError` naming the line.

Which family a sample belongs to
--------------------------------
- A ``# TYPE`` (or ``# HELP``) line declares a family under the name as written. Its samples are
  the family name itself plus the suffixes its type allows: counter ``_total``/``_created``;
  histogram ``_bucket``/``_count``/``_sum``/``_created``; summary ``_count``/``_sum``/``_created``;
  gaugehistogram ``_bucket``/``_gcount``/``_gsum``; info ``_info``. A family declared under the
  exact sample name wins over another family's suffix. Sample names are kept exactly as written.
  As in Go's parser, a declared family's samples may come after other families' samples.
- A sample that no metadata line declares gets a family of type ``untyped`` (text) or ``unknown``
  (OpenMetrics) keyed by its own name, except that undeclared series shaped like one histogram or
  summary (at least two of ``foo``, ``foo_bucket``, ``foo_sum``, ``foo_count``, ``foo_created``)
  are grouped under ``foo``, and an undeclared ``foo_created`` beside ``foo_total`` joins
  ``foo_total``.
- Families with HELP/TYPE but no samples are kept with an empty sample list.

Triton's documentation example (``triton_histogram_doc_quirky.txt``) declares
``nv_first_response_histogram_ms`` but writes its samples as
``nv_inference_first_response_histogram_ms{...,le="100"}``, ``..._count`` and ``..._sum``. That
parses to the declared histogram with no samples, plus an ``untyped`` family
``nv_inference_first_response_histogram_ms`` holding all seven samples under their written names.

Values and timestamps
---------------------
Values are floats (``NaN``, ``+Inf``, ``-Inf`` included); label values stay strings (``le="+Inf"``
stays ``"+Inf"``). ``Sample.timestamp`` is float seconds: Prometheus text writes integer
milliseconds (converted), OpenMetrics float seconds. OpenMetrics exemplars are dropped. HELP text
has its escapes decoded and, in the text format, surrounding blanks stripped.

What is rejected
----------------
Invalid metric or label names, duplicate label names, unterminated label values, unknown escapes
in text-format label values, values that are not floats, non-integer text timestamps, an unknown
type, a second HELP or TYPE for one family, a TYPE after the family's samples, an ``le`` or
``quantile`` label that is not a float; in OpenMetrics also blank lines, comments other than
HELP/TYPE/UNIT, metadata after samples, NaN or negative counter-like values, a missing ``# EOF``
and anything after it. With ``only=``, samples of the families not asked for are skipped unread,
so errors in them go unreported; so are errors in the metadata of families that cannot own a
sample of the families asked for (their HELP and TYPE lines are only read for the sample names
they claim, so that those are skipped too).

Successive scrapes of one endpoint
----------------------------------
A :class:`ParseMemo` passed with ``only=`` to every parse of one endpoint's scrapes carries over
what does not change between them: the label sets already read and checked, and the names of
the samples to skip (those of families that cannot own a sample asked for, and undeclared series
of no family asked for). The families parsed are the same as without it. What changes is that
a later scrape skips those names' lines unread from its first line on, so errors in them go
unreported as they do for the samples of families not asked for.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection
from functools import lru_cache
from typing import TypeAlias

from mmtui.feeds.model import MetricFamily, ParseError, Sample

__all__ = ["ParseMemo", "parse", "parse_bytes"]

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_FIRST_KEY = re.compile(r"[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*")
_NEXT_KEY = re.compile(r"[ \t]*,[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*")
_LAST_KEY = re.compile(r"[ \t]*,?[ \t]*")
_LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(r"\\(.)")
_BLANKS = " \t"
_LABEL_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}

_TEXT_TYPES = frozenset({"counter", "gauge", "histogram", "summary", "untyped"})
_OM_TYPES = frozenset(
    {"counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset", "unknown"}
)

# Checks on labels (once per distinct label set and kind) and, in OpenMetrics, on values.
_LE = 1  # a histogram bucket: a float "le" label
_QUANTILE = 2  # a summary quantile: a "quantile" label, if any, is a float
_COUNT = 1  # OpenMetrics counter-like value: neither NaN nor negative
_SUM = 2  # OpenMetrics sum: not NaN

# The sample-name suffixes each type owns, with their label checks and OpenMetrics value checks.
_SUFFIXES: dict[str, tuple[tuple[str, int, int], ...]] = {
    "counter": (("", 0, _COUNT), ("_total", 0, _COUNT), ("_created", 0, 0)),
    "gauge": (("", 0, 0),),
    "histogram": (("_bucket", _LE, _COUNT), ("_count", 0, _COUNT), ("_sum", 0, _SUM),
                  ("_created", 0, 0)),
    "gaugehistogram": (("_bucket", _LE, _COUNT), ("_gcount", 0, _COUNT), ("_gsum", 0, _SUM)),
    "summary": (("", _QUANTILE, 0), ("_count", 0, _COUNT), ("_sum", 0, _SUM), ("_created", 0, 0)),
    "info": (("_info", 0, 0),),
    "stateset": (("", 0, 0),),
    "untyped": (("", 0, 0),),
    "unknown": (("", 0, 0),),
}  # fmt: skip
_GROUPABLE = ("_bucket", "_count", "_sum", "_created")
_STEM_SUFFIXES = (*_GROUPABLE, "_total")
_ANY_SUFFIX = tuple({suffix for owned in _SUFFIXES.values() for suffix, _, _ in owned})
_CLAIMED = {type_: tuple(s for s, _, _ in owned if s) for type_, owned in _SUFFIXES.items()}
"""The suffixed sample names each type claims besides the family's own name."""
_HELP_OR_TYPE = ("# HELP ", "# TYPE ")

# Sample is a NamedTuple; tuple.__new__ skips its generated __new__ (argument parsing for the
# default timestamp), which costs as much as reading a line. MetricFamily is a frozen slots
# dataclass, whose generated __init__ calls object.__setattr__ per field: filling the slots through
# their descriptors builds the same object in half the time. The parser also sets a family's type
# and help this way when their lines arrive, before the family is handed to anyone.
_new_object = object.__new__
_new_tuple = tuple.__new__
_set_family_name = vars(MetricFamily)["name"].__set__
_set_family_type = vars(MetricFamily)["type"].__set__
_set_family_help = vars(MetricFamily)["help"].__set__
_set_family_samples = vars(MetricFamily)["samples"].__set__

MEMO_LIMIT = 20_000
"""Entries a :class:`ParseMemo` holds at most; past that it starts again (label values that
never repeat, such as a request id, would otherwise grow it without end)."""

_Labels: TypeAlias = dict[str, str]
# What the parser knows of a sample name: where its samples go (None: skip them), a look-up in the
# label sets already read and checked for its kind, its label checks, its value checks, and the
# name itself (one string shared by all its samples).
_Target: TypeAlias = tuple[
    Callable[[Sample], None] | None, Callable[[str], _Labels | None], int, int, str
]


class ParseMemo:
    """What the parses of one endpoint's scrapes carry over (see the module docstring); use one
    per endpoint, from one thread at a time. It starts again by itself when the families asked
    for or the format change."""

    __slots__ = ("key", "skipped", "caches", "skeletons")

    def __init__(self) -> None:
        self._start(None)

    def _start(self, key: tuple[bool, frozenset[str]] | None) -> None:
        self.key = key
        """(OpenMetrics?, the families asked for) of the parses it holds for."""
        self.skipped: set[str] = set()
        """Sample names no family asked for can own, found in earlier scrapes."""
        self.caches: dict[int, dict[str, _Labels]] = {0: {}, _LE: {}, _QUANTILE: {}}
        """Label-set text -> labels, read and checked, for each kind of label checks."""
        self.skeletons: dict[tuple[str, ...], tuple[str, ...]] = {}

    def _for(self, key: tuple[bool, frozenset[str]]) -> ParseMemo:
        """This memo, emptied first if it was for other families or another format, or full."""
        size = len(self.skipped) + sum(map(len, self.caches.values())) + len(self.skeletons)
        if key != self.key or size > MEMO_LIMIT:
            self._start(key)
        return self


def parse(
    text: str,
    *,
    openmetrics: bool | None = None,
    only: Collection[str] | None = None,
    memo: ParseMemo | None = None,
) -> dict[str, MetricFamily]:
    """Parse an exposition body into families keyed by family name.

    Parameters
    ----------
    text
        The body: Prometheus text format 0.0.4 or OpenMetrics 1.0.
    openmetrics
        The format; ``None`` picks OpenMetrics when some line is exactly ``# EOF``.
    only
        Family names (result keys) to keep; the samples of every other family are skipped.
    memo
        The endpoint's :class:`ParseMemo`, with ``only``: a faster parse, the same families.

    Raises
    ------
    ParseError
        The text is broken; the message names the line and what was expected.

    Examples
    --------
    >>> fams = parse('# TYPE up gauge\\nup{job="a"} 1 1700000000000\\n')
    >>> fams["up"].samples
    [Sample(name='up', labels={'job': 'a'}, value=1.0, timestamp=1700000000.0)]
    """
    if openmetrics is None:
        openmetrics = _has_eof_line(text)
    return _Parser(openmetrics, only, memo).run(text)


def parse_bytes(
    body: bytes,
    content_type: str | None = None,
    *,
    only: Collection[str] | None = None,
    memo: ParseMemo | None = None,
) -> dict[str, MetricFamily]:
    """Decode a scraped body as UTF-8 and parse it in the format its content type names.

    ``application/openmetrics-text`` is OpenMetrics, ``text/plain`` is Prometheus text; with any
    other content type, or none, the format is detected from the body as in :func:`parse`.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise ParseError(f"line {line}: the body is not valid UTF-8 (byte {exc.start})") from None
    media = (content_type or "").partition(";")[0].strip().lower()
    fmt = {"application/openmetrics-text": True, "text/plain": False}.get(media)
    return parse(text, openmetrics=fmt, only=only, memo=memo)


def _has_eof_line(text: str) -> bool:
    """Whether some line is exactly ``# EOF`` (searched from the end, where it belongs)."""
    end = len(text)
    while (i := text.rfind("# EOF", 0, end)) >= 0:
        if (i == 0 or text[i - 1] == "\n") and text[i + 5 : i + 6] in ("", "\n"):
            return True
        end = i
    return False


class _Parser:
    """One parse: the families read so far and what is known of each sample name."""

    __slots__ = ("om", "only", "only_stems", "related", "families", "typed", "helped",
                 "undeclared", "owner", "caches", "lookups", "skeletons", "skip",
                 "skipped")  # fmt: skip

    def __init__(
        self, openmetrics: bool, only: Collection[str] | None, memo: ParseMemo | None
    ) -> None:
        self.om = openmetrics
        self.only = self.only_stems = self.related = None
        if only is not None:
            self.only = frozenset(only)
            self.only_stems = self.only | frozenset(map(_stem, only))
            self.related = _related(self.only_stems)
        if memo is None or self.only is None:
            memo = ParseMemo()  # this parse's own
        else:
            memo = memo._for((openmetrics, self.only))
        self.families: dict[str, MetricFamily] = {}
        self.typed: set[str] = set()  # families that had a TYPE line
        self.helped: set[str] = set()  # families that had a HELP line
        self.undeclared: set[str] = set()  # families made for samples no metadata declared
        # Label-set text -> labels, read and checked, for each kind of label checks.
        self.caches = memo.caches
        self.lookups = {checks: cache.get for checks, cache in self.caches.items()}
        self.skeletons = memo.skeletons
        self.skip: _Target = (None, self.lookups[0], 0, 0, "")
        """The target of samples to skip unread (their name is not needed)."""
        self.skipped = memo.skipped
        """Names skipped that no family asked for can own (see :meth:`_skipping`)."""
        self.owner: dict[str, _Target] = dict.fromkeys(self.skipped, self.skip)

    def run(self, text: str) -> dict[str, MetricFamily]:
        """Read every line; the loop is the fast path, everything rare is a method call away."""
        lines = text.split("\n")
        om = self.om
        if om:
            self._strip_eof(lines)
        owner_get = self.owner.get
        skip = self.skip
        related = self.related
        floats: dict[str, float] = {}  # value text -> value: values repeat (0.0, bucket counts)
        floats_get = floats.get
        new_tuple = _new_tuple
        for lineno, line in enumerate(lines, 1):
            if not line or line[0] in "# \t":
                if related is not None and line.startswith(_HELP_OR_TYPE):
                    # Most metadata lines of a scrape read ``only`` for a few families are other
                    # families': a glance at the name, and, for a TYPE, the names it claims.
                    name, _, rest = line[7:].partition(" ")
                    if name and name not in related:
                        if line[2] == "T" and owner_get(name) is not skip:
                            self._claim_unread(name, rest.strip())
                        continue
                if line.startswith("#"):
                    self._metadata(line, lineno)
                else:
                    self._other_line(line, lineno)
                continue
            name, brace, rest = line.partition("{")
            if brace:
                target = owner_get(name)
                if target is None:
                    self._slow_sample(line, lineno)
                    continue
                append, cached_labels, label_checks, value_checks, name = target
                if append is None:
                    continue
                block, close, rest = rest.partition("}")
                labels = cached_labels(block)
                if labels is not None:
                    labels = labels.copy()
                elif not close or (labels := self._plain_labels(block)) is None:
                    self._slow_sample(line, lineno)
                    continue
                else:
                    if label_checks:
                        self._check_labels(label_checks, labels, line, lineno)
                    self.caches[label_checks][block] = labels
            else:
                name, _, rest = line.partition(" ")
                target = owner_get(name)
                if target is None:
                    self._slow_sample(line, lineno)
                    continue
                append, _, label_checks, value_checks, name = target
                if append is None:
                    continue
                labels = {}
                if label_checks:
                    self._check_labels(label_checks, labels, line, lineno)
            ts = None
            value = floats_get(rest)
            if value is None:
                try:
                    value = float(rest)  # the value alone: the common case
                    if "_" in rest:
                        raise ValueError(rest)
                    floats[rest] = value
                except ValueError:
                    value, ts = self._read_value(rest, line, lineno)  # a timestamp, or an error
            if value_checks:
                _check_value(value_checks, value, line, lineno)
            append(new_tuple(Sample, (name, labels, value, ts)))
        return self._result()

    # Metadata.
    def _metadata(self, line: str, lineno: int) -> None:
        parts = line.split(" ", 3)
        if self.om:
            if len(parts) < 3 or parts[0] != "#" or parts[1] not in ("HELP", "TYPE", "UNIT"):
                raise _fail(lineno, "expected '# HELP', '# TYPE', '# UNIT' or '# EOF'", line)
            keyword, name = parts[1], parts[2]
            rest = parts[3] if len(parts) == 4 else ""
        else:
            if len(parts) != 4 or parts[0] != "#" or not parts[2]:  # not "# KEYWORD name text"
                parts = ["#", *line.lstrip(_BLANKS)[1:].split(None, 2)]
            if len(parts) < 4 or parts[1] not in ("HELP", "TYPE"):
                return  # a comment, or HELP/TYPE with nothing to say (Go ignores those too)
            keyword, name, rest = parts[1], parts[2], parts[3].strip()
            if not rest:
                return
        if self.related is not None and name not in self.related:
            self._claim_unread(name, rest if keyword == "TYPE" else "")
            return
        fam = self.families.get(name)
        if fam is None:
            if not _is_metric_name(name):
                raise _fail(lineno, f"invalid metric name {name!r} after # {keyword}", line)
            fam = self._family(name, self.only is None or name in self.only)
        elif fam.samples and (self.om or keyword == "TYPE"):
            raise _fail(lineno, f"# {keyword} for {name!r} comes after its samples", line)
        if keyword == "HELP":
            if name in self.helped:
                raise _fail(lineno, f"a second # HELP for {name!r}", line)
            self.helped.add(name)
            _set_family_help(fam, _unescape_help(rest, self.om) if "\\" in rest else rest)
        elif keyword == "TYPE":
            if name in self.typed:
                raise _fail(lineno, f"a second # TYPE for {name!r}", line)
            self.typed.add(name)
            self._set_type(name, rest if self.om else rest.lower(), line, lineno)
        if self.undeclared:
            self.undeclared.discard(name)

    def _claim_unread(self, family: str, type_: str) -> None:
        """The TYPE (``type_``; empty for other metadata) of a family that cannot own a sample
        of those asked for (see :func:`_related`): only the sample names it claims are noted, to
        be skipped unread. Its HELP needs nothing: its samples go the way of undeclared ones.

        A full parse builds the family, checks its name and type and then drops it: half the
        time of parsing a vLLM scrape for the few families a preset reads.
        """
        owner, skip = self.owner, self.skip
        owner[family] = skip  # an exact name wins
        claimed = [family]
        for suffix in _CLAIMED.get(type_ if self.om else type_.lower(), ()):
            if owner.setdefault(family + suffix, skip) is skip:
                claimed.append(family + suffix)
        self._skipping(claimed)

    def _skipping(self, names: list[str]) -> None:
        """Remember skipped names for the next parse of the endpoint's scrapes, those of them
        that no family of :func:`_related` has: only those are skipped whatever metadata the
        next scrape has (a related family's metadata could make the name its own)."""
        assert self.related is not None
        self.skipped.update(name for name in names if name not in self.related)

    def _set_type(self, family: str, type_: str, line: str, lineno: int) -> None:
        types = _OM_TYPES if self.om else _TEXT_TYPES
        if type_ not in types:
            expected = ", ".join(sorted(types))
            raise _fail(lineno, f"unknown metric type {type_!r} (expected one of {expected})", line)
        _set_family_type(self.families[family], type_)
        owner, lookups, om = self.owner, self.lookups, self.om
        append = owner[family][0]
        for suffix, label_checks, value_checks in _SUFFIXES[type_]:
            name = family + suffix
            target = (append, lookups[label_checks], label_checks, value_checks if om else 0, name)
            if suffix:
                owner.setdefault(name, target)  # an exact name wins
            else:
                owner[name] = target

    def _family(self, name: str, keep: bool) -> MetricFamily:
        type_ = "unknown" if self.om else "untyped"
        fam = self.families[name] = _new_family(name, type_, "", [])
        self.owner[name] = (fam.samples.append if keep else None, self.lookups[0], 0, 0, name)
        return fam

    # Lines the fast path does not take.
    def _other_line(self, line: str, lineno: int) -> None:
        """A blank line, or one that starts with blanks."""
        if self.om:
            what = "blank lines are" if not line else "indentation is"
            raise _fail(lineno, f"{what} not allowed in OpenMetrics", line)
        stripped = line.lstrip(_BLANKS)
        if stripped.startswith("#"):
            self._metadata(stripped, lineno)
        elif stripped:
            self._slow_sample(stripped, lineno)

    def _slow_sample(self, line: str, lineno: int) -> None:
        """Read a sample line strictly, then file it as the fast path would."""
        m = _METRIC_NAME.match(line)
        if m is None:
            raise _fail(lineno, "expected a metric name", line)
        name, pos = m.group(), m.end()
        if not self.om:
            while line[pos : pos + 1] in (" ", "\t"):
                pos += 1
        labels: _Labels = {}
        if line[pos : pos + 1] == "{":
            labels, pos = self._read_labels(line, pos + 1, lineno)
        elif pos == m.end() and line[pos : pos + 1] not in ("", " ", "\t"):
            raise _fail(lineno, f"invalid character {line[pos]!r} in metric name", line)
        value, ts = self._read_value(line[pos:], line, lineno)
        target = self.owner.get(name)
        if target is None:
            target = self._undeclared(name)
        append, _, label_checks, value_checks, name = target
        if append is None:
            return
        self._check_labels(label_checks, labels, line, lineno)
        if value_checks:
            _check_value(value_checks, value, line, lineno)
        append(Sample(name, labels, value, ts))

    def _undeclared(self, name: str) -> _Target:
        """The target of a sample no metadata declared (see the module docstring)."""
        if self.only_stems is not None and _stem(name) not in self.only_stems:
            target = self.owner[name] = (None, self.lookups[0], 0, 0, name)
            self._skipping([name])
            return target
        self.undeclared.add(name)
        self._family(name, keep=True)  # kept whole for now: it may join a family asked for
        return self.owner[name]

    def _read_labels(self, line: str, pos: int, lineno: int) -> tuple[_Labels, int]:
        """Read ``name="value", ...}`` from ``pos``; return the labels and the index after ``}``."""
        labels: _Labels = {}
        while True:
            while line[pos : pos + 1] in (" ", "\t"):
                pos += 1
            if line[pos : pos + 1] == "}":
                return labels, pos + 1
            m = _LABEL_PAIR.match(line, pos)
            if m is None:
                raise _fail(lineno, _label_problem(line, pos), line)
            key, raw = m.group(1), m.group(2)
            if key in labels:
                raise _fail(lineno, f"duplicate label name {key!r}", line)
            labels[key] = self._unescape_value(raw, line, lineno) if "\\" in raw else raw
            pos = m.end()
            while line[pos : pos + 1] in (" ", "\t"):
                pos += 1
            if line[pos : pos + 1] == ",":
                pos += 1
            elif line[pos : pos + 1] != "}":
                raise _fail(lineno, "expected ',' or '}' after a label value", line)

    def _unescape_value(self, raw: str, line: str, lineno: int) -> str:
        def one(m: re.Match[str]) -> str:
            char = m.group(1)
            if char in _LABEL_ESCAPES:
                return _LABEL_ESCAPES[char]
            if self.om:
                return m.group()  # OpenMetrics keeps an unknown escape as written
            raise _fail(lineno, f"invalid escape sequence '\\{char}' in a label value", line)

        return _ESCAPE.sub(one, raw)

    def _read_value(self, rest: str, line: str, lineno: int) -> tuple[float, float | None]:
        """Read ``value [timestamp]`` (and, in OpenMetrics, an exemplar to drop)."""
        if self.om:
            rest, hash_, exemplar = rest.partition("#")
            if hash_ and not (exemplar.startswith(" {") and "}" in exemplar):
                raise _fail(lineno, "expected an exemplar '# {labels} value' after '#'", line)
        toks = rest.split()
        if not toks:
            raise _fail(lineno, "expected a value after the metric name and labels", line)
        if not _is_float(toks[0]):
            raise _fail(lineno, f"expected a float value, got {toks[0]!r}", line)
        if len(toks) == 1:
            return float(toks[0]), None
        try:
            if "_" in toks[1]:
                raise ValueError(toks[1])
            ts = float(toks[1]) if self.om else int(toks[1]) / 1000
            if not math.isfinite(ts):
                raise ValueError(toks[1])
        except ValueError:
            what = "float seconds" if self.om else "integer milliseconds"
            raise _fail(lineno, f"expected a timestamp in {what}, got {toks[1]!r}", line) from None
        if len(toks) > 2:
            raise _fail(lineno, f"unexpected {toks[2]!r} after the timestamp", line)
        return float(toks[0]), ts

    def _plain_labels(self, block: str) -> _Labels | None:
        """The labels of a plain label set (no escapes, no ``}`` in values), else None.

        Label sets repeat within a scrape (every vLLM series carries the same ``engine`` and
        ``model_name``), so the caller reads each one once per parse and copies it afterwards.
        """
        if "\\" in block:
            return None
        parts = block.split('"')
        if not len(parts) & 1:
            return None  # an odd number of quotes: a '}' inside a value, or an unterminated one
        skeleton = tuple(parts[::2])  # the text around the values: names, '=', ',', blanks
        names = self.skeletons.get(skeleton)
        if names is None:
            names = _skeleton_names(skeleton)
            if names is None:
                return None
            self.skeletons[skeleton] = names
        labels = {}
        i = 1
        for name in names:  # a plain loop: faster than dict(zip(...)) here
            labels[name] = parts[i]
            i += 2
        return labels

    def _check_labels(self, checks: int, labels: _Labels, line: str, lineno: int) -> None:
        """The label checks of the sample's kind (see _SUFFIXES)."""
        if checks & _LE:
            le = labels.get("le")
            if le is None:
                raise _fail(lineno, "a histogram bucket needs an 'le' label", line)
            if not _is_float(le):
                raise _fail(lineno, f"expected a float as the 'le' label, got {le!r}", line)
        if checks & _QUANTILE:
            q = labels.get("quantile")
            if q is not None and not _is_float(q):
                raise _fail(lineno, f"expected a float as the 'quantile' label, got {q!r}", line)

    # End of input.
    def _strip_eof(self, lines: list[str]) -> None:
        if lines[-1] == "":
            lines.pop()
        if lines and lines[-1] == "# EOF":
            lines.pop()
            return
        if "# EOF" in lines:
            lineno = lines.index("# EOF") + 2
            raise _fail(lineno, "nothing may follow '# EOF'", lines[lineno - 1])
        last = lines[-1] if lines else ""
        raise _fail(max(len(lines), 1), "expected '# EOF' as the last line", last)

    def _result(self) -> dict[str, MetricFamily]:
        families = self.families
        if self.undeclared:
            families = _group_undeclared(families, self.undeclared)
        if self.only is not None:
            families = {name: fam for name, fam in families.items() if name in self.only}
        return families


def _new_family(name: str, type_: str, help_: str, samples: list[Sample]) -> MetricFamily:
    """MetricFamily(name, type_, help_, samples), built like samples are (see _new_object)."""
    fam = _new_object(MetricFamily)
    _set_family_name(fam, name)
    _set_family_type(fam, type_)
    _set_family_help(fam, help_)
    _set_family_samples(fam, samples)
    return fam


def _group_undeclared(
    families: dict[str, MetricFamily], undeclared: set[str]
) -> dict[str, MetricFamily]:
    """Group undeclared series shaped like one histogram or summary (see the module docstring)."""
    stems: dict[str, set[str]] = {}
    for name in undeclared:
        stems.setdefault(_stem(name), set()).add(name)
    into: dict[str, str] = {}  # member name -> the name of the family it joins
    for stem, members in stems.items():
        group = [stem + s for s in ("", *_GROUPABLE) if stem + s in members]
        if len(group) >= 2 and (stem not in families or stem in undeclared):
            into.update((name, stem) for name in group)
        elif stem + "_total" in members and stem + "_created" in members:
            into[stem + "_total"] = into[stem + "_created"] = stem + "_total"
    out: dict[str, MetricFamily] = {}
    for fam in families.values():
        name = into.get(fam.name, fam.name)
        have = out.get(name)
        if have is not None:
            have.samples.extend(fam.samples)
        elif name == fam.name:
            out[name] = fam
        else:
            out[name] = _new_family(name, fam.type, "", list(fam.samples))
    return out


@lru_cache(maxsize=64)
def _related(only_stems: frozenset[str]) -> frozenset[str]:
    """The families whose metadata matters to a parse ``only`` for some families (their names
    and stems are ``only_stems``): those that could own a name a sample of theirs can have.

    A sample of a family asked for (or of an undeclared group that becomes one) is named after
    one of ``only_stems`` plus a type's suffix; a family owns its own name and its type's
    suffixes of it.
    """
    names = {stem + suffix for stem in only_stems for suffix in _ANY_SUFFIX}
    owners = set(names)
    for name in names:
        owners.update(name[: -len(s)] for s in _ANY_SUFFIX if s and name.endswith(s))
    return frozenset(owners)


def _stem(name: str) -> str:
    for suffix in _STEM_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _skeleton_names(skeleton: tuple[str, ...]) -> tuple[str, ...] | None:
    """Label names from the text around the quoted values, or None if it is not plain syntax."""
    if len(skeleton) == 1:
        return None if skeleton[0].strip(_BLANKS) else ()
    m = _FIRST_KEY.fullmatch(skeleton[0])
    if m is None or _LAST_KEY.fullmatch(skeleton[-1]) is None:
        return None
    names = [m.group(1)]
    for token in skeleton[1:-1]:
        m = _NEXT_KEY.fullmatch(token)
        if m is None:
            return None
        names.append(m.group(1))
    return tuple(names) if len(set(names)) == len(names) else None


def _check_value(checks: int, value: float, line: str, lineno: int) -> None:
    if checks & _COUNT and not value >= 0:
        raise _fail(lineno, f"a counter-like value must be >= 0 and not NaN, got {value}", line)
    if checks & _SUM and math.isnan(value):
        raise _fail(lineno, "a sum must not be NaN", line)


def _is_metric_name(name: str) -> bool:
    """``[a-zA-Z_:][a-zA-Z0-9_:]*``, checked faster than by the regex."""
    return name.isascii() and name.replace(":", "_").isidentifier()


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return "_" not in text


def _label_problem(line: str, pos: int) -> str:
    """Say what is wrong with the label that starts at ``pos``."""
    name = _LABEL_NAME.match(line, pos)
    if name is None:
        return f"expected a label name, got {line[pos : pos + 1] or 'the end of the line'!r}"
    pos = name.end()
    while line[pos : pos + 1] in (" ", "\t"):
        pos += 1
    if line[pos : pos + 1] != "=":
        return f"expected '=' after label name {name.group()!r}"
    pos += 1
    while line[pos : pos + 1] in (" ", "\t"):
        pos += 1
    if line[pos : pos + 1] != '"':
        return f"expected '\"' to open the value of label {name.group()!r}"
    return f"unterminated value of label {name.group()!r}"


def _unescape_help(text: str, openmetrics: bool) -> str:
    r"""Decode ``\\`` and ``\n`` (and ``\"`` in OpenMetrics); other escapes stay as written."""
    known = {"\\": "\\", "n": "\n", '"': '"'} if openmetrics else {"\\": "\\", "n": "\n"}
    return _ESCAPE.sub(lambda m: known.get(m.group(1), m.group()), text)


def _fail(lineno: int, what: str, line: str) -> ParseError:
    shown = line if len(line) <= 120 else line[:117] + "..."
    return ParseError(f"line {lineno}: {what}: {shown!r}")
