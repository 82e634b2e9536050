"""The call runtime: what carries a conversation's decisions out, on a live call or in text.

``effects`` holds the one decision interpreter (``DecisionInterpreter``) behind the ``Effects`` protocol,
and ``SimulatedEffects`` for ``callbot eval`` and ``callbot chat``.
"""
