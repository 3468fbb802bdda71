import pytest
from civicgrid_intake.domain.phones import InvalidPhone, mask, normalise


@pytest.mark.parametrize("raw", ["13812341234", "+86 138 1234 1234", "138-1234-1234",
                                 "0086 13812341234"])
def test_mobile_numbers_normalise_and_mask(raw: str) -> None:
    e164 = normalise(raw)
    assert e164 == "+8613812341234"
    assert mask(e164) == "138****1234"


def test_landline_is_masked_too() -> None:
    e164 = normalise("0356-2021234")
    masked = mask(e164)
    assert masked.endswith("1234") and "*" in masked and "2021234" not in masked


@pytest.mark.parametrize("raw", ["12", "call me maybe", "1381234123412341234"])
def test_invalid_numbers_are_refused_without_echoing_them(raw: str) -> None:
    with pytest.raises(InvalidPhone) as err:
        normalise(raw)
    assert raw not in str(err.value)


@pytest.mark.parametrize(("text", "expected"), [
    ("我是欧阳娜娜，电话13987654321。", "我是欧阳娜娜，电话139****4321。"),
    ("联系139-8765-4321或+86 139 8765 4321", "联系139****4321或139****4321"),
    ("共28名工人欠薪18万元，3单元502室", "共28名工人欠薪18万元，3单元502室"),
])
def test_phone_numbers_in_free_text_are_masked(text: str, expected: str) -> None:
    from civicgrid_intake.domain.phones import mask_in_text

    assert mask_in_text(text) == expected
