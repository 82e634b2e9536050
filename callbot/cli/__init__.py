"""``callbot`` command line. Importing a command module registers its commands on ``app``."""

from callbot.cli.app import app
from callbot.private_files import restrict_umask

# Command modules, one per command group (each registers on ``app`` when imported).
from callbot.cli import (  # noqa: F401,E402
    asr_commands,
    campaign_commands,
    dialogue_commands,
    eval_commands,
    serve_commands,
    store_commands,
    tts_commands,
)


def main() -> None:
    restrict_umask()  # data, recordings and secrets this process creates are the service user's alone
    app()
