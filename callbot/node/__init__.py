"""The SIP node: the Kamailio edge rendered from the settings (``edge``), who runs where (``topology``), the
supervisor of the local bot workers (``supervisor``), what each worker reports (``status``) and ``/metrics``
(``metrics``). No pjsua2 here: the workers are separate processes running ``callbot.service``."""
