"""``callbot eval``: conversation scripts (text and recorded caller audio) run through the real dialogue and the
decision interpreter live calls use, scored for understanding (slots, outcome), recognition (WER/CER) and turn
latency, compared with a previous run, written as text, JSON or a self-contained HTML page.

Modules, one owner each: ``script`` (the YAML format, turn kinds, expect keys, loading), ``runner`` (the one
runner: cases in parallel on one shared model, ``--asr reference|model|NAME``), ``audio`` (``AudioCaller``: a
``wav:`` turn through the live call's turn-taker, latency on the arrival clock), ``report`` (results with
structured checks; text and JSON), ``baseline`` (better/worse than a previous run), ``html``, ``metrics``
(WER/CER, latency summaries over ``callbot.measures.percentile``), ``fixtures`` (TTS-made audio fixtures),
``export`` (a real call's recording cut into a regression case).
"""
