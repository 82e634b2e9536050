"""Engineers' tuning loop: conversation scripts with recorded caller audio (``wav:`` turns) run through the
same Listener a live call uses, scored for recognition (WER/CER), understanding (slots, outcome) and turn
latency, compared with a previous run, written as JSON or a self-contained HTML report.

Modules: ``metrics`` (edit distance, WER/CER, percentiles), ``audio_turns`` (a WAV turn through the
Listener), ``runner`` (cases in parallel on one shared model), ``report`` (JSON/text), ``baseline``
(better/worse than a previous run), ``html_report``, ``fixtures`` (TTS-made audio fixtures), ``export``
(a real call's recording cut into a regression case).
"""
