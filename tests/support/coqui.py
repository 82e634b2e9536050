"""An untrained Coqui VITS built locally, for the tests and the benchmark of the Coqui engine: no pretrained model
can be fetched here, and a checkpoint of the real format is what Coqui's loading path needs. Test
infrastructure, not part of the package (importing it imports torch and TTS)."""

from __future__ import annotations

from pathlib import Path

VIETNAMESE_LETTERS = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵfjwz"
)


def build_untrained_vits(
    folder: Path, *, tiny: bool = True, sample_rate: int = 16000, seed: int = 1234
) -> Path:
    """Save an untrained grapheme VITS (Vietnamese letters included) as ``model_file.pth`` + ``config.json``.

    For tests and benchmarks of the loading and synthesis path, since no pretrained model can be fetched here:
    ``tiny`` builds in about a second; otherwise Coqui's default (full) VITS size, for realistic speed figures.
    """
    import torch
    from TTS.tts.configs.shared_configs import CharactersConfig
    from TTS.tts.configs.vits_config import VitsConfig
    from TTS.tts.models.vits import Vits, VitsArgs

    characters = CharactersConfig(
        characters_class="TTS.tts.utils.text.characters.Graphemes",
        pad="_",
        eos="~",
        bos="^",
        blank="#",
        characters=VIETNAMESE_LETTERS + VIETNAMESE_LETTERS.upper(),
        punctuations="!'(),-.:;? ",
    )
    small = {
        "hidden_channels": 16,
        "hidden_channels_ffn_text_encoder": 32,
        "num_heads_text_encoder": 2,
        "num_layers_text_encoder": 1,
        "num_layers_flow": 1,
        "num_layers_posterior_encoder": 1,
        "resblock_kernel_sizes_decoder": [3],
        "resblock_dilation_sizes_decoder": [[1, 3, 5]],
        "upsample_rates_decoder": [8, 8, 4],
        "upsample_initial_channel_decoder": 32,
        "upsample_kernel_sizes_decoder": [16, 16, 8],
    }
    args = VitsArgs(init_discriminator=False, **(small if tiny else {}))  # type: ignore[arg-type]
    config = VitsConfig(
        model_args=args,
        characters=characters,
        use_phonemes=False,
        add_blank=True,
        text_cleaner="multilingual_cleaners",
        phoneme_language="vi",
    )
    config.audio.sample_rate = sample_rate
    torch.manual_seed(seed)
    model = Vits(config)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict()}, folder / "model_file.pth")
    config.save_json(str(folder / "config.json"))
    return folder
