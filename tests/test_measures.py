"""The one percentile (``callbot.measures``): linear interpolation between ranks, None for no values."""

from __future__ import annotations

import pytest

from callbot.measures import percentile


def test_percentiles_interpolate_between_ranks() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 50) == pytest.approx(25.0)
    assert percentile(values, 95) == pytest.approx(38.5)
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None
