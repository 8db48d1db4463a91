"""Builds Tandem's spaCy pipeline from files in this repository.

Pretrained spaCy models are not downloaded: the pipeline is a blank multi-language
(``xx``) tokenizer, tuned for Korean particles that follow numbers, plus an
``entity_ruler`` whose patterns live in ``bot/entity_patterns/*.jsonl``.
Rasa's ``SpacyNLP`` loads the result from the path given in ``config.yml``.

Run ``python -m bot.spacy_pipeline [OUTPUT_DIR]``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, cast

import spacy
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.util import compile_suffix_regex

PATTERNS_DIR = Path(__file__).parent / "entity_patterns"
DEFAULT_OUTPUT_DIR = Path("models/spacy/tandem")

# Korean particles and copulas written straight after a number or an amount
# ("55,000원이", "010-1234-5678이에요"). Splitting them off lets entity spans end
# at token boundaries.
KOREAN_PARTICLES = (
    "이에요",
    "입니다",
    "이고요",
    "이고",
    "이요",
    "예요",
    "으로",
    "이랑",
    "까지",
    "부터",
    "이나",
    "에서",
    "정도",
    "이",
    "가",
    "은",
    "는",
    "을",
    "를",
    "로",
    "에",
    "도",
    "요",
    "랑",
    "쯤",
)
PARTICLE_SUFFIX = rf"(?<=[0-9원])(?:{'|'.join(KOREAN_PARTICLES)})"
# After "원" (never after a digit, where it means ten thousand) 만 is "only".
ONLY_SUFFIX = r"(?<=원)만"

# Korean mobile numbers in one piece ("010-1234-5678", "+82-10-1234-5678",
# "010.1234.5678"); a space-separated number is matched by token patterns instead.
PHONE_TOKEN = re.compile(r"^(?:\+82[-.]?|0)1[016789][-.]?\d{3,4}[-.]?\d{4}$")


def load_patterns(patterns_dir: Path = PATTERNS_DIR) -> list[dict[str, Any]]:
    """Reads every ``*.jsonl`` pattern file, in name order."""
    patterns: list[dict[str, Any]] = []
    for path in sorted(patterns_dir.glob("*.jsonl")):
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                pattern = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: {error}") from error
            if "label" not in pattern or "pattern" not in pattern:
                raise ValueError(f"{path}:{number}: needs 'label' and 'pattern'")
            patterns.append(pattern)
    return patterns


def build_pipeline(patterns_dir: Path = PATTERNS_DIR) -> Language:
    """Returns the pipeline: tuned ``xx`` tokenizer and the entity ruler."""
    nlp = spacy.blank("xx")
    tokenizer = cast(Tokenizer, nlp.tokenizer)
    suffixes = [*(nlp.Defaults.suffixes or []), PARTICLE_SUFFIX, ONLY_SUFFIX]
    tokenizer.suffix_search = compile_suffix_regex(suffixes).search
    tokenizer.token_match = PHONE_TOKEN.match
    ruler = nlp.add_pipe("entity_ruler", config={"validate": True})
    ruler.add_patterns(load_patterns(patterns_dir))  # type: ignore[attr-defined]
    nlp.meta["name"] = "tandem"
    nlp.meta["version"] = "1.0.0"
    nlp.meta["description"] = "Tandem's tokenizer and entity rules, Korean and English"
    return nlp


def main(argv: list[str]) -> int:
    output_dir = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT_DIR
    nlp = build_pipeline()
    output_dir.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output_dir)
    print(f"spaCy pipeline written to {output_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
