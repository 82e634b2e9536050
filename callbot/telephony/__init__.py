"""Telephony: the pjsua2 endpoint (``pjsip``), the media bridge's frame access (``frame_buffer``) and the pure
overflow/admission policy (``overflow``). Only the ``callbot.telephony.pjsip`` package imports pjsua2."""
