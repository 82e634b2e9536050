"""The HTML report's latency histogram."""

from __future__ import annotations

from callbot.eval.html import latency_histogram_svg


def test_histogram_bins_every_turn() -> None:
    svg = latency_histogram_svg([600.0, 650.0, 700.0, 1200.0, 1210.0])
    assert svg.startswith("<svg") and svg.count('class="bar"') == 12
    heights = [float(part.split('"')[0]) for part in svg.split('height="')[2:]]
    assert sum(1 for h in heights if h > 0) == 3  # three occupied bins
    assert "no-latency" in latency_histogram_svg([])
