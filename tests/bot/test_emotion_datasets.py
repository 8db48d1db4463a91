from pathlib import Path

import pytest

from bot.emotion.datasets import (
    OWN_EVAL_EXAMPLES,
    DatasetError,
    LabelledText,
    read_examples,
    read_goemotions,
    read_kote,
)
from bot.emotion.evaluation import best_threshold, binary_scores
from bot.emotion.labels import EMOTIONS, GOEMOTIONS_TO_EMOTIONS, KOTE_TO_EMOTIONS

GOEMOTIONS_LABELS = ["anger", "annoyance", "joy", "sadness", "neutral"]
KOTE_LABELS = ["불평/불만", "화남/분노", "기쁨", "슬픔", "없음"]


@pytest.fixture
def benchdata(tmp_path: Path) -> Path:
    goemotions = tmp_path / "goemotions"
    goemotions.mkdir()
    (goemotions / "labels.txt").write_text("\n".join(GOEMOTIONS_LABELS), "utf-8")
    (goemotions / "test.tsv").write_text(
        "so annoyed right now\t1\tid1\nlovely\t2\tid2\nsad and angry\t0,3\tid3\n",
        "utf-8",
    )
    kote = tmp_path / "kote"
    kote.mkdir()
    (kote / "labels.txt").write_text("\n".join(KOTE_LABELS), "utf-8")
    (kote / "test.tsv").write_text("1\t이게 뭐야\t0,1\n2\t좋다\t2\n", "utf-8")
    return tmp_path


def test_goemotions_labels_map_onto_the_three_emotions(benchdata: Path) -> None:
    items = read_goemotions("test", benchdata)
    assert items == [
        LabelledText("so annoyed right now", frozenset({"anger", "frustration"}), "en"),
        LabelledText("lovely", frozenset(), "en"),
        LabelledText("sad and angry", frozenset({"anger", "distress"}), "en"),
    ]


def test_kote_labels_map_onto_the_three_emotions(benchdata: Path) -> None:
    items = read_kote("test", benchdata)
    assert items[0].emotions == {"anger", "frustration"}
    assert items[0].language == "ko"
    assert items[1].emotions == frozenset()


def test_a_missing_data_set_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="TANDEM_BENCHDATA_DIR"):
        read_kote("test", tmp_path)


def test_a_bad_label_id_names_the_line(benchdata: Path) -> None:
    (benchdata / "kote" / "test.tsv").write_text("1\t이게 뭐야\t0,99\n", "utf-8")
    with pytest.raises(DatasetError, match=r"test\.tsv:1: bad label ids"):
        read_kote("test", benchdata)


def test_own_examples_are_well_formed() -> None:
    items = read_examples()
    assert {item.language for item in items} == {"ko", "en"}
    for emotion in EMOTIONS:
        assert any(emotion in item.emotions for item in items)
    assert any(not item.emotions for item in items)


def test_held_out_examples_are_not_training_examples() -> None:
    held_out = read_examples(OWN_EVAL_EXAMPLES)
    assert {item.language for item in held_out} == {"ko", "en"}
    training = {item.text for item in read_examples()}
    assert not training & {item.text for item in held_out}


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("ko\tanger", "expected 'ko|en"),
        ("fr\t-\tbonjour", "expected 'ko|en"),
        ("en\trage\tso mad", "unknown emotions"),
    ],
)
def test_own_examples_reject_bad_lines(tmp_path: Path, line: str, error: str) -> None:
    path = tmp_path / "examples.tsv"
    path.write_text(f"# header\n{line}\n", "utf-8")
    with pytest.raises(DatasetError, match=error):
        read_examples(path)


def test_mappings_only_name_the_three_emotions() -> None:
    for mapping in (GOEMOTIONS_TO_EMOTIONS, KOTE_TO_EMOTIONS):
        for emotions in mapping.values():
            assert set(emotions) <= set(EMOTIONS)


def test_mappings_use_the_data_sets_label_names() -> None:
    # The real label files are not in the repository; their names are pinned here.
    goemotions = {
        *("admiration", "amusement", "anger", "annoyance", "approval", "caring"),
        *("confusion", "curiosity", "desire", "disappointment", "disapproval"),
        *("disgust", "embarrassment", "excitement", "fear", "gratitude", "grief"),
        *("joy", "love", "nervousness", "optimism", "pride", "realization"),
        *("relief", "remorse", "sadness", "surprise", "neutral"),
    }
    assert set(GOEMOTIONS_TO_EMOTIONS) <= goemotions
    assert all("/" in label or len(label) <= 4 for label in KOTE_TO_EMOTIONS)


def test_binary_scores() -> None:
    scores = binary_scores([True, True, False, False], [True, False, True, False])
    assert (scores.precision, scores.recall, scores.f1, scores.support) == (
        0.5,
        0.5,
        0.5,
        2,
    )
    assert binary_scores([False], [False]).f1 == 0.0
    with pytest.raises(ValueError, match="differ in length"):
        binary_scores([True], [])


def test_best_threshold_separates_the_classes() -> None:
    threshold = best_threshold([False, False, True, True], [0.1, 0.3, 0.6, 0.9])
    assert 0.3 < threshold <= 0.6
