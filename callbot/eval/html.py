"""The eval report as one self-contained HTML page: summary, slot accuracy, cases, audio turns, baseline
changes and a latency histogram drawn as inline SVG (no script, no CDN: it opens offline on any machine)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path

from callbot.eval.report import EvalReport

HISTOGRAM_BINS = 12
CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:left;vertical-align:top}
th{background:#f0f0f0}
.pass{color:#176b2c}.fail{color:#b3261e}.worse{background:#fde4e1}.better{background:#e1f5e6}
svg text{font-size:11px;fill:#333}
"""


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def _table(
    caption: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    row_classes: Sequence[str] = (),
    table_id: str = "",
) -> str:
    """``rows`` hold already-escaped cell HTML."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        css = f' class="{row_classes[index]}"' if index < len(row_classes) and row_classes[index] else ""
        body.append(f"<tr{css}>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    ident = f' id="{table_id}"' if table_id else ""
    return f"<h2>{escape(caption)}</h2><table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def latency_histogram_svg(values_ms: Sequence[float], width: int = 640, height: int = 240) -> str:
    """Bars of turn counts per latency bin, with axis labels; an empty note when no turn was measured."""
    if not values_ms:
        return '<p id="no-latency">No turn latency was measured (no audio turns with speech).</p>'
    low, high = min(values_ms), max(values_ms)
    step = max((high - low) / HISTOGRAM_BINS, 1.0)
    start = low
    counts = [0] * HISTOGRAM_BINS
    for value in values_ms:
        counts[min(int((value - start) / step), HISTOGRAM_BINS - 1)] += 1
    left, bottom, top = 40, 30, 10
    plot_w, plot_h = width - left - 30, height - bottom - top  # room for the last axis label
    bar_w = plot_w / HISTOGRAM_BINS
    tallest = max(counts)
    parts = [
        (
            f'<svg id="latency-histogram" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'role="img" aria-label="turn latency histogram">'
        ),
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#333"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333"/>',
        f'<text x="{left - 6}" y="{top + 10}" text-anchor="end">{tallest}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    for index, count in enumerate(counts):
        bar_h = plot_h * count / tallest
        x = left + index * bar_w
        parts.append(
            f'<rect class="bar" x="{x + 1:.1f}" y="{top + plot_h - bar_h:.1f}" width="{bar_w - 2:.1f}" '
            f'height="{bar_h:.1f}" fill="#3f6fb5"><title>{start + index * step:.0f}–'
            f"{start + (index + 1) * step:.0f} ms: {count} turn(s)</title></rect>"
        )
    for index in range(0, HISTOGRAM_BINS + 1, 3):
        x = left + index * bar_w
        parts.append(
            f'<text x="{x:.1f}" y="{height - 12}" text-anchor="middle">{start + index * step:.0f}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 1}" text-anchor="middle">'
        "end of speech → final transcript (ms)</text></svg>"
    )
    return "".join(parts)


def render_html(report: EvalReport) -> str:
    data = report.as_json()
    latency = data["latency_ms"]
    taking = data["turn_taking"]
    summary = _table(
        "Summary",
        [
            "cases",
            "passed",
            "outcome accuracy",
            "ASR",
            "audio turns",
            "WER",
            "CER",
            "latency p50 (ms)",
            "latency p95 (ms)",
            "turn detector",
            "cut off",
            "end of turn p50 (ms)",
            "end of turn p95 (ms)",
            "regressions",
        ],
        [
            [
                str(data["cases"]),
                str(data["passed"]),
                _percent(data["outcome_accuracy"]),
                escape(data["asr"]),
                str(data["audio_turns"]),
                _percent(data["wer"]),
                _percent(data["cer"]),
                _ms(latency["p50"]),
                _ms(latency["p95"]),
                escape(taking["detector"]),
                f'{taking["cut_offs"]}/{taking["turns"]} ({_percent(taking["cut_off_rate"])})',
                _ms(taking["end_of_turn_ms"]["p50"]),
                _ms(taking["end_of_turn_ms"]["p95"]),
                str(len(data["regressions"])),
            ]
        ],
        table_id="summary",
    )
    slots = _table(
        "Slot accuracy",
        ["check", "accuracy"],
        [[escape(k), _percent(v)] for k, v in data["slot_accuracy"].items()],
        table_id="slots",
    )
    case_rows, case_classes = [], []
    for item in data["results"]:
        worse = [c for c in item["changes"] if c["worse"]]
        better = [c for c in item["changes"] if not c["worse"]]
        case_classes.append("worse" if worse else "better" if better else "")
        wrong = ", ".join(k for k, right in item["checks"].items() if not right)
        changes = "; ".join(f"{'worse' if c['worse'] else 'better'}: {c['what']}" for c in item["changes"])
        case_rows.append(
            [
                escape(item["id"]),
                escape(Path(item["file"]).name),
                f'<span class="{"pass" if item["passed"] else "fail"}">{"PASS" if item["passed"] else "FAIL"}</span>',
                escape(wrong) or "–",
                _percent(item["wer"]),
                _percent(item["cer"]),
                _ms(item["latency_ms"]["p50"]),
                escape("; ".join(item["differences"])) or "–",
                escape(changes) or "–",
            ]
        )
    cases = _table(
        "Cases",
        [
            "case",
            "file",
            "result",
            "wrong checks",
            "WER",
            "CER",
            "latency p50 (ms)",
            "differences",
            "against baseline",
        ],
        case_rows,
        case_classes,
        table_id="cases",
    )
    turn_rows = [
        [
            escape(item["id"]),
            str(t["turn"]),
            escape(t["wav"]),
            escape(t["reference"] or "–"),
            escape(t["hypothesis"]) or "<em>(nothing)</em>",
            _percent(t["wer"]),
            _ms(t["endpoint_ms"]),
            _ms(t["processing_ms"]),
            _ms(t["latency_ms"]),
            _ms(t["end_of_turn_ms"]),
            '<span class="fail">cut off</span>' if t["cut_off"] else "–",
        ]
        for item in data["results"]
        for t in item["audio_turns"]
    ]
    turns = _table(
        "Audio turns",
        [
            "case",
            "turn",
            "wav",
            "reference",
            "heard",
            "WER",
            "endpoint (ms)",
            "processing (ms)",
            "latency (ms)",
            "end of turn (ms)",
            "cut off",
        ],
        turn_rows,
        table_id="turns",
    )
    changes = ""
    if report.baseline is not None:
        listed = [*report.regressions, *report.improvements]
        changes = _table(
            f"Against baseline {report.baseline}",
            ["", "case", "what", "before", "after"],
            [
                [
                    "worse" if c.worse else "better",
                    escape(c.case),
                    escape(c.what),
                    escape(c.shown(c.before)),
                    escape(c.shown(c.after)),
                ]
                for c in listed
            ],
            ["worse" if c.worse else "better" for c in listed],
            table_id="baseline",
        )
    histogram = "<h2>Turn latency</h2>" + latency_histogram_svg(report.latencies_ms())
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>callbot eval report</title>'
        f"<style>{CSS}</style></head><body><h1>callbot eval report</h1>"
        f"{summary}{changes}{slots}{histogram}{cases}{turns}</body></html>"
    )


def write_html(report: EvalReport, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path
