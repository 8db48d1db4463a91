"""One stage of the NLU benchmark in a process of its own, so that its peak memory is
its own: ``train`` runs Rasa's real NLU training, ``parse`` loads the trained model
into a Rasa ``Agent`` and parses texts one at a time as the server would.

    python -m bench.nlu_worker train CONFIG DATA OUT_DIR RESULT_JSON
    python -m bench.nlu_worker parse MODEL TEXTS_JSON RESULT_JSON

Run from the repository root: the pipeline names the project's own components by
module path.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import sys
import time
from pathlib import Path
from typing import Any


def peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def train(config: str, data: str, out_dir: str) -> dict[str, Any]:
    from rasa.model_training import train_nlu

    started, cpu_started = time.perf_counter(), cpu_seconds()
    model = train_nlu(config, data, out_dir, fixed_model_name="nlu")
    seconds = time.perf_counter() - started
    if model is None:
        raise SystemExit(f"training {config} on {data} produced no model")
    return {
        "model": model,
        "train_seconds": seconds,
        # On a busy machine wall time is mostly waiting; CPU time is the work.
        "train_cpu_seconds": cpu_seconds() - cpu_started,
        "peak_rss_mib": peak_rss_mib(),
    }


async def parse(model: str, texts: list[str]) -> dict[str, Any]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    rss_loaded = peak_rss_mib()
    # The first parse builds lazily created state; it is not a customer's latency.
    await agent.parse_message("hello")
    predictions, latencies_ms = [], []
    for text in texts:
        started = time.perf_counter()
        parsed = await agent.parse_message(text)
        latencies_ms.append((time.perf_counter() - started) * 1000)
        intent = parsed.get("intent") or {}
        predictions.append([intent.get("name"), float(intent.get("confidence") or 0.0)])
    return {
        "predictions": predictions,
        "latencies_ms": latencies_ms,
        "peak_rss_mib_after_load": rss_loaded,
        "peak_rss_mib": peak_rss_mib(),
    }


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.WARNING)
    if len(argv) == 5 and argv[0] == "train":
        result = train(argv[1], argv[2], argv[3])
        output = argv[4]
    elif len(argv) == 4 and argv[0] == "parse":
        texts = json.loads(Path(argv[2]).read_text("utf-8"))
        result = asyncio.run(parse(argv[1], texts))
        output = argv[3]
    else:
        raise SystemExit(__doc__)
    Path(output).write_text(json.dumps(result), "utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
