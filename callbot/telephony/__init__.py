"""Telephony: the pjsua2 endpoint (``pjsip``), the media bridge's frame access (``frame_buffer``) and the pure
overflow/admission policy (``overflow``). Only ``callbot.telephony.pjsip`` imports pjsua2."""
