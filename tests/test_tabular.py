"""mmtui.tabular: CSV and NDJSON files into columns, against the csv module and float()."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

import mmtui.tabular as tabular
from mmtui.tabular import TableError, read_table, to_numbers


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def same_floats(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == np.float64 and bool(np.array_equal(a, b, equal_nan=True))


@pytest.fixture(params=["fast", "quoted"])
def reader(request: pytest.FixtureRequest) -> str:
    """Run a test on both CSV paths: a dummy column with a line break in a quoted field sends
    a file to the csv module."""
    return str(request.param)


def csv_text(rows: list[list[str]], reader: str) -> str:
    if reader == "quoted":
        rows = [[*row, "zz" if i == 0 else '"q\nr"'] for i, row in enumerate(rows)]
    return "\n".join(",".join(row) for row in rows) + "\n"


def test_numbers_and_text(tmp_path: Path, reader: str) -> None:
    text = csv_text(
        [["x", "n", "s"], ["1.5", "3", "a"], ["-2", "", "b c"], ["0.25", "7", ""]], reader
    )
    table = read_table(write(tmp_path, "t.csv", text))
    assert same_floats(table["x"], np.array([1.5, -2.0, 0.25]))
    assert same_floats(table["n"], np.array([3.0, np.nan, 7.0]))
    assert table["s"].dtype.kind == "U"
    assert table["s"].tolist() == ["a", "b c", ""]


@pytest.mark.parametrize("token", ["NA", "N/A", "NaN", "nan", "null", "NULL", "None", ""])
def test_missing_tokens_in_numeric_columns(tmp_path: Path, reader: str, token: str) -> None:
    text = csv_text([["x", "y"], ["1", "a"], [token, "b"], ["2.5", "c"]], reader)
    table = read_table(write(tmp_path, "t.csv", text))
    assert same_floats(table["x"], np.array([1.0, np.nan, 2.5]))


def test_other_number_syntax_goes_through_float(tmp_path: Path, reader: str) -> None:
    tokens = ["1e3", "-2.5E-2", " 7 ", "inf", "+.5", "5.", "0x10", "1_000"]
    text = csv_text([["a", "b"], *[[t, "1"] for t in tokens[:6]]], reader)
    table = read_table(write(tmp_path, "t.csv", text))
    assert same_floats(table["a"], np.array([1000.0, -0.025, 7.0, math.inf, 0.5, 5.0]))
    # Hex and underscores are not numbers in a data file: the column is text.
    text = csv_text([["a"], ["1"], ["0x10"]], reader)
    assert read_table(write(tmp_path, "h.csv", text))["a"].tolist() == ["1", "0x10"]
    text = csv_text([["a"], ["1"], ["1_000"]], reader)
    assert read_table(write(tmp_path, "u.csv", text))["a"].tolist() == ["1", "1_000"]


def test_text_column_keeps_numbers_as_written(tmp_path: Path, reader: str) -> None:
    text = csv_text([["zip"], ["02139"], ["10001"], ["SW1A"]], reader)
    assert read_table(write(tmp_path, "t.csv", text))["zip"].tolist() == ["02139", "10001", "SW1A"]


def test_categorical_override(tmp_path: Path, reader: str) -> None:
    text = csv_text([["zip", "x"], ["02139", "1.0"], ["10001", "2"]], reader)
    table = read_table(write(tmp_path, "t.csv", text), categorical=["zip"])
    assert table["zip"].tolist() == ["02139", "10001"]
    assert same_floats(table["x"], np.array([1.0, 2.0]))


def test_columns_selects_and_ignores_absent(tmp_path: Path, reader: str) -> None:
    text = csv_text([["a", "b", "c"], ["1", "x", "2"]], reader)
    table = read_table(write(tmp_path, "t.csv", text), columns=["c", "a", "nope"])
    assert list(table) == ["a", "c"]


def test_quoted_fields_rfc4180(tmp_path: Path) -> None:
    rows = [
        ["name", "note", "x"],
        ["a", 'says "hi", twice', "1.5"],
        ["b", "line one\nline two", "2"],
        ["c", "", "-3"],
    ]
    path = tmp_path / "q.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    table = read_table(path)
    assert table["note"].tolist() == ['says "hi", twice', "line one\nline two", ""]
    assert same_floats(table["x"], np.array([1.5, 2.0, -3.0]))


def test_crlf_bom_and_blank_lines(tmp_path: Path) -> None:
    text = b"\xef\xbb\xbfa,b\r\n1,x\r\n\r\n2,y\r\n\n"
    table = read_table(write(tmp_path, "t.csv", text))
    assert same_floats(table["a"], np.array([1.0, 2.0]))
    assert table["b"].tolist() == ["x", "y"]


def test_no_final_newline_and_unicode(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "t.csv", "city,t\nZürich,1\n東京,2\nZürich,3"))
    assert table["city"].tolist() == ["Zürich", "東京", "Zürich"]
    assert same_floats(table["t"], np.array([1.0, 2.0, 3.0]))


def test_header_names(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "t.csv", ',"b,c",d\n1,2,3\n'))
    assert list(table) == ["unnamed_0", "b,c", "d"]
    table = read_table(write(tmp_path, "t.csv", '"a\nb",c\n1,x\n'))
    assert list(table) == ["a\nb", "c"]
    assert table["c"].tolist() == ["x"]


def test_header_only_gives_empty_columns(tmp_path: Path, reader: str) -> None:
    table = read_table(write(tmp_path, "t.csv", csv_text([["a", "b"]], reader)))
    assert set(table) >= {"a", "b"}
    assert all(len(v) == 0 for v in table.values())


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("a,b\n1,2\n3,4\n5\n", ["line 4", "expected 2 fields, found 1"]),
        ("a,b\n1,2\n3,4,5\n", ["line 3", "expected 2 fields, found 3"]),
        ('a,b\n1,"x"\n3,4,5\n', ["line 3", "expected 2 fields, found 3"]),
        ("", ["empty file"]),
        ("\n\n", ["empty file"]),
        ("a,a\n1,2\n", ["line 1", "'a' appears twice"]),
        (b"a,b\n1,2\n3,\xff\xfe\n", ["line 3", "not UTF-8"]),
        ('a,b\n1,"x"y\n', ["line 2"]),
    ],
)
def test_malformed_csv_names_the_line(
    tmp_path: Path, text: str | bytes, fragments: list[str]
) -> None:
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(TableError) as err:
        read_table(path)
    message = str(err.value)
    assert "\n" not in message
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TableError, match="nope.csv: cannot read"):
        read_table(tmp_path / "nope.csv")


def test_ragged_row_in_a_later_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular, "_BLOCK", 64)
    lines = ["a,b"] + [f"{i},{i}" for i in range(100)]
    lines[77] = "77"
    with pytest.raises(TableError, match="line 78: expected 2 fields, found 1"):
        read_table(write(tmp_path, "t.csv", "\n".join(lines) + "\n"))


def test_column_turning_to_text_in_a_later_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tabular, "_BLOCK", 64)
    values = [str(i) for i in range(200)]
    values[150] = "n/a!"
    text = "v,w\n" + "".join(f"{v},{i * 0.5}\n" for i, v in enumerate(values))
    table = read_table(write(tmp_path, "t.csv", text))
    assert table["v"].tolist() == values
    assert same_floats(table["w"], np.arange(200) * 0.5)


def test_progress_reports_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular, "_BLOCK", 1000)
    path = write(tmp_path, "t.csv", "a\n" + "".join(f"{i}\n" for i in range(3000)))
    calls: list[tuple[int, int]] = []
    read_table(path, progress=lambda done, total: calls.append((done, total)))
    size = path.stat().st_size
    assert len(calls) > 5
    assert all(total == size for _, total in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert calls[-1][0] == size


def test_decimals_match_float(tmp_path: Path) -> None:
    """The vectorised decimal parser gives float()'s value: correctly rounded."""
    rng = np.random.default_rng(7)
    x = np.concatenate(
        [
            rng.normal(size=3000),
            rng.normal(size=1000) * 1e6,
            rng.lognormal(size=1000) * 1e-3,
            np.round(rng.normal(size=1000), 3),
            rng.integers(-(10**15), 10**15, 500).astype(float),
        ]
    )
    tokens = [repr(v) for v in x.tolist()]
    # Arbitrary 18-19 digit decimals: some round twice onto a midpoint and need float().
    tokens += [f"{a}.{b:018d}" for a, b in zip(rng.integers(0, 10, 20_000).tolist(),
                                                rng.integers(0, 10**18, 20_000).tolist(),
                                                strict=True)]
    tokens += ["0.1", "-0.0", "007", "1.", ".5", "-.5", "+3", "9007199254740993"]
    tokens += ["0.30000000000000004", "123456789012345678", "1e-5", "-1.5e+300"]
    tokens += ["12345678901234567890", "1844674407370955161.5", "0.000123456789012345678"]
    text = "x\n" + "\n".join(tokens) + "\n"
    table = read_table(write(tmp_path, "t.csv", text))
    expected = np.array([float(t) for t in tokens])
    if tabular._X87:
        assert np.array_equal(table["x"], expected)
    else:  # without 80-bit long doubles, mantissas beyond 2**53 are within one ulp
        assert np.all(np.abs(table["x"] - expected) <= np.spacing(np.abs(expected)))
    assert math.copysign(1.0, table["x"][tokens.index("-0.0")]) == -1.0


def test_large_file_against_csv_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Several blocks of mixed columns, missing values and text, against the csv module."""
    monkeypatch.setattr(tabular, "_BLOCK", 1 << 16)
    rng = np.random.default_rng(3)
    n = 20_000
    nums = rng.normal(size=(n, 3)) * [1, 1000, 1e-3]
    levels = np.array(["red", "green", "blue", "", "naïve"])
    rows = [["a", "b", "c", "colour", "count"]]
    for i in range(n):
        a, b, c = (repr(v) for v in nums[i].tolist())
        if i % 97 == 0:
            a = ""
        if i % 89 == 0:
            b = "NA"
        rows.append([a, b, c, str(levels[i % 5]), str(i % 7)])
    path = tmp_path / "big.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    table = read_table(path)
    with path.open(newline="", encoding="utf-8") as f:
        oracle = list(csv.reader(f))
    header, body = oracle[0], oracle[1:]
    assert list(table) == header
    for j, name in enumerate(header):
        column = [row[j] for row in body]
        if name == "colour":
            assert table[name].tolist() == column
        else:
            expected = np.array([math.nan if v in ("", "NA") else float(v) for v in column])
            assert same_floats(table[name], expected), name


def test_ndjson(tmp_path: Path) -> None:
    lines = [
        {"x": 1.5, "flag": True, "s": "a", "n": None},
        {"x": 2, "flag": False, "s": "b", "extra": [1, 2]},
        {},
        {"id": "r3", "features": {"x": 3, "s": "c"}, "prediction": 0.9},
    ]
    text = "\n".join(json.dumps(line) for line in lines) + "\n\n"
    table = read_table(write(tmp_path, "t.ndjson", text))
    assert same_floats(table["x"], np.array([1.5, 2.0, np.nan, 3.0]))
    assert table["flag"].tolist() == ["true", "false", "", ""]
    assert table["s"].tolist() == ["a", "b", "", "c"]
    assert same_floats(table["n"], np.full(4, np.nan))
    assert table["extra"].tolist() == ["", "[1, 2]", "", ""]
    assert same_floats(table["prediction"], np.array([np.nan, np.nan, np.nan, 0.9]))
    assert "features" not in table


def test_ndjson_sniffed_and_array_and_override(tmp_path: Path) -> None:
    path = write(tmp_path, "data.txt", '{"a": 1, "b": 10}\n{"a": 2, "b": 20}\n')
    table = read_table(path, categorical=["b"], columns=["b"])
    assert list(table) == ["b"]
    assert table["b"].tolist() == ["10", "20"]
    table = read_table(write(tmp_path, "arr.json", '[{"a": 1}, {"a": "x"}]'))
    assert table["a"].tolist() == ["1", "x"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"a": 1}\n{"a": 2\n', "line 2: invalid JSON"),
        ('{"a": 1}\n\n[1, 2]\n', "line 3: expected a JSON object, found list"),
        ("", "no records"),
        ('[{"a": 1}, 3]', "record 2: expected a JSON object"),
        ('[{"a": 1},\n {"a": }]', "line 2: invalid JSON"),
    ],
)
def test_bad_ndjson_names_the_line(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path, "bad.jsonl", text)
    with pytest.raises(TableError) as err:
        read_table(path)
    assert fragment in str(err.value)
    assert str(path) in str(err.value)


def test_to_numbers() -> None:
    numbers, bad = to_numbers(np.array(["1.5", "", "NA", "oops", "2e3", "Malmö", "-7"]))
    assert same_floats(numbers, np.array([1.5, np.nan, np.nan, np.nan, 2000.0, np.nan, -7.0]))
    assert bad == [3, 5]
    numbers, bad = to_numbers(np.array([1.0, np.nan]))
    assert same_floats(numbers, np.array([1.0, np.nan])) and bad == []


@pytest.mark.parametrize("quoting", [csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC, csv.QUOTE_MINIMAL])
def test_quoted_files_take_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quoting: int
) -> None:
    """Fields quoted whole (numbers too, with commas and doubled quotes inside) are read on
    the numpy path, over several blocks and with CRLF, as the csv module reads them."""
    monkeypatch.setattr(tabular, "_BLOCK", 1 << 15)

    def refuse(*args: object) -> None:
        raise AssertionError("read with the csv module")

    monkeypatch.setattr(tabular, "_read_csv_quoted", refuse)
    rng = np.random.default_rng(4)
    notes = ['says "hi", twice', "plain", "", 'a ""b""', "x,y", "naïve, 東京", '"', "NA"]
    rows: list[list[object]] = [["x", "note", "n", "colour"]]
    for i in range(4000):
        x: object = float(rng.normal()) if i % 31 else ""
        rows.append([x, notes[i % len(notes)], i % 9, ["red", "blue, dark"][i % 2]])
    path = tmp_path / "quoted.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, quoting=quoting, lineterminator="\r\n").writerows(rows)
    table = read_table(path)
    with path.open(newline="", encoding="utf-8") as f:
        body = list(csv.reader(f))[1:]
    assert table["note"].tolist() == [row[1] for row in body]
    assert table["colour"].tolist() == [row[3] for row in body]
    expected = np.array([float(row[0]) if row[0] else math.nan for row in body])
    assert same_floats(table["x"], expected)
    assert same_floats(table["n"], np.array([float(row[2]) for row in body]))


@pytest.mark.parametrize(
    "text", ['a,b\n1,"x"y\n', 'a,b\n1,x"y"\n', 'a,b\n1,"x"\n2, "y"\n', 'a,b\n1,"x""y"z"\n']
)
def test_quotes_not_around_a_whole_field_go_to_the_csv_module(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "odd.csv", text)
    with path.open(newline="", encoding="utf-8") as f:
        try:
            body = list(csv.reader(f, strict=True))[1:]
        except csv.Error:
            with pytest.raises(TableError, match="line 2"):
                read_table(path)
            return
    table = read_table(path)
    assert table["b"].tolist() == [row[1] for row in body]
