"""Outbound notification campaigns: a message called out to a contact list within a calling window.

Pure parts (no clock, no I/O): ``numbers`` (Vietnamese numbers normalized), ``contacts`` (the CSV list),
``schedule`` (windows, pace, retries: who is due when), ``amd`` (answering-machine detection from the VAD),
``dialogue`` (message, "press 1 / 2 / 0"). The runtime: ``session`` (one answered outbound call), ``dialer``
(claims due attempts in the database and places the calls through the process's SIP endpoint), ``runner``
(``callbot campaign run``), ``report`` (JSON and CSV). The tables and their functions live in
``callbot.store.campaigns``.
"""
