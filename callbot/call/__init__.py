"""The call runtime: one answered call, from the greeting to the filed ticket, one owner per behaviour.

``session`` (``CallSession``: the threads, queues and loop), ``turns`` (the synchronous turn-taker: Listener
events, keypad digits and "bot speaking" -> caller events and turn-end times, barge-in), ``effects`` (the one
decision interpreter, also used by ``callbot eval`` and ``callbot chat`` with ``SimulatedEffects``),
``playback`` (speech jobs, the speech thread, framing, playback marks), ``storage`` (what a call writes),
``resources`` (``SharedResources``, loaded once per process), ``stats``.
"""
