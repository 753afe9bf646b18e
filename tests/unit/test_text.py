"""Vietnamese text: legacy fonts per cell and per column, NFC, tone placement, folding, headers."""

from __future__ import annotations

import unicodedata

import pytest

from pipelines.text import (
    canonical_tones,
    clean_text,
    clean_texts,
    encode_legacy,
    fold,
    fold_ascii,
    header_key,
    repair_legacy,
)

pytestmark = pytest.mark.unit

NAMES = [
    "Nguyễn Thị Hoàng Nhung", "Trần Văn Bình", "Lê Thị Hồng", "Phạm Minh Đức", "Võ Thị Lan",
    "Huỳnh Văn Dũng", "Nguyễn Văn An", "Đặng Thị Mai", "Thành phố Quy Nhơn", "Thị trấn Diêu Trì",
]  # fmt: skip


@pytest.mark.parametrize("encoding", ["tcvn3", "vni"])
@pytest.mark.parametrize("text", ["Tỉnh Bình Định", "Thành phố Quy Nhơn", "Hộ nghèo", "Xã Nhơn Hòa", "Phường Ngô Mây"])
def test_legacy_cells_are_repaired(encoding: str, text: str) -> None:
    typed = encode_legacy(text, encoding)
    assert typed != text
    assert clean_text(typed) == text


def test_unicode_text_is_left_alone() -> None:
    for text in [*NAMES, "Café Sài Gòn", "Công ty TNHH ABC", "12 Lê Lợi", "Hé"]:
        assert repair_legacy(text) == text


@pytest.mark.parametrize("encoding", ["tcvn3", "vni"])
def test_a_column_typed_in_a_legacy_font_is_read_in_that_font(encoding: str) -> None:
    """Some legacy cells read as Vietnamese by chance (VNI "Nguyeãn Thò"); the column decides."""
    column = [encode_legacy(n, encoding) for n in NAMES]
    assert clean_texts(column) == NAMES


def test_a_few_legacy_cells_do_not_convert_a_unicode_column() -> None:
    column = [*NAMES, encode_legacy("Phường Nhơn Bình", "tcvn3")]
    assert clean_texts(column) == [*NAMES, "Phường Nhơn Bình"]


def test_nfd_blank_and_spaces() -> None:
    assert clean_text(unicodedata.normalize("NFD", "Bình Định")) == "Bình Định"
    assert clean_text("  Quy   Nhơn \n") == "Quy Nhơn"
    assert clean_text("   ") is None and clean_text(None) is None
    assert clean_texts([None, "", " a  b "]) == [None, None, "a b"]


def test_tone_placement_and_folding() -> None:
    assert canonical_tones("Hoà Bình") == "Hòa Bình"
    assert canonical_tones("Thuỷ") == "Thủy"
    assert fold("Xã Nhơn HOÀ") == fold("xã nhơn hòa")
    assert fold_ascii("Đống Đa") == "dong da"
    assert fold("Phù Mỹ") != fold("Phú Mỹ") and fold_ascii("Phù Mỹ") == fold_ascii("Phú Mỹ")


def test_header_key_ignores_units_case_and_line_breaks() -> None:
    assert header_key("Diện tích (m²)") == header_key("diện  tích")
    assert header_key("Vốn điều lệ\n(đồng)") == header_key("VỐN ĐIỀU LỆ")
