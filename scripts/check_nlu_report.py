"""Fails when `rasa test nlu` measured an intent accuracy below the bar.

python3 scripts/check_nlu_report.py results/nlu/intent_report.json 0.85
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    report = json.loads(Path(argv[1]).read_text("utf-8"))
    accuracy, bar = float(report["accuracy"]), float(argv[2])
    weakest = sorted(
        (scores["f1-score"], intent)
        for intent, scores in report.items()
        if isinstance(scores, dict) and "support" in scores and "avg" not in intent
    )[:5]
    print(f"intent accuracy {accuracy:.3f} (bar {bar:.2f})")
    print("weakest intents: " + ", ".join(f"{i} {f:.2f}" for f, i in weakest))
    return 0 if accuracy >= bar else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
