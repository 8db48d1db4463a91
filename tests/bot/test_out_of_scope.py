"""The out-of-scope factor from the similarity to the nearest training sentence
vectors, on small hand-made vectors."""

from __future__ import annotations

import numpy as np
import pytest

from bot.nlu.out_of_scope import NeighbourSimilarity


def unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float64)
    return vector / np.linalg.norm(vector)


# Two tight clusters, along the first and the second axis.
TRAINING = np.stack(
    [
        unit(1.0, 0.05, 0.0),
        unit(1.0, -0.05, 0.0),
        unit(1.0, 0.0, 0.05),
        unit(0.05, 1.0, 0.0),
        unit(-0.05, 1.0, 0.0),
        unit(0.0, 1.0, 0.05),
    ]
)


def fitted(**overrides: float) -> NeighbourSimilarity:
    settings = {"neighbours": 2, "reference_quantile": 0.0, "exponent": 2.0}
    settings.update(overrides)
    detector = NeighbourSimilarity.fit(
        TRAINING,
        int(settings["neighbours"]),
        settings["reference_quantile"],
        settings["exponent"],
    )
    assert detector is not None
    return detector


def test_reference_is_the_training_examples_own_similarity_held_out() -> None:
    detector = fitted()
    # Each example's two nearest others are its cluster's: cosine about 0.998.
    assert 0.99 < detector.reference < 1.0


def test_messages_like_the_training_data_keep_their_confidence() -> None:
    factor = fitted().factor(np.stack([unit(1.0, 0.0, 0.0), unit(0.0, 1.0, 0.0)]))
    assert factor == pytest.approx([1.0, 1.0])


def test_a_message_unlike_the_training_data_loses_confidence() -> None:
    detector = fitted()
    between, away = detector.factor(
        np.stack([unit(1.0, 1.0, 0.0), unit(0.0, 0.0, 1.0)])
    )
    assert 0.0 < away < between < 1.0
    similarity = detector.similarity(unit(1.0, 1.0, 0.0)[np.newaxis, :])[0]
    assert between == pytest.approx((similarity / detector.reference) ** 2)


def test_opposite_vectors_get_no_confidence() -> None:
    assert fitted().factor(-unit(1.0, 1.0, 0.0)[np.newaxis, :]) == pytest.approx([0.0])


def test_a_larger_exponent_penalises_more() -> None:
    message = unit(1.0, 1.0, 0.4)[np.newaxis, :]
    assert fitted(exponent=4.0).factor(message) < fitted(exponent=1.0).factor(message)
    assert fitted(exponent=0.0).factor(message) == pytest.approx([1.0])


def test_vectors_need_not_be_unit_length() -> None:
    detector = fitted()
    message = unit(1.0, 1.0, 0.0)
    assert detector.factor((3 * message)[np.newaxis, :]) == pytest.approx(
        detector.factor(message[np.newaxis, :])
    )


def test_a_message_without_a_vector_is_left_alone() -> None:
    assert fitted().factor(np.zeros((1, 3))) == pytest.approx([1.0])


def test_training_examples_without_a_vector_are_left_out() -> None:
    with_gaps = np.vstack([TRAINING, np.zeros((2, 3))])
    detector = NeighbourSimilarity.fit(with_gaps, 2, 0.0, 2.0)
    assert detector is not None
    assert len(detector.vectors) == len(TRAINING)
    assert detector.reference == pytest.approx(fitted().reference)


def test_more_neighbours_than_examples_are_cut_to_the_others() -> None:
    detector = NeighbourSimilarity.fit(TRAINING, 50, 0.5, 2.0)
    assert detector is not None
    assert detector.neighbours == len(TRAINING) - 1


def test_fewer_than_two_vectors_fit_nothing() -> None:
    assert NeighbourSimilarity.fit(TRAINING[:1], 5, 0.1, 2.0) is None
    assert NeighbourSimilarity.fit(np.zeros((4, 3)), 5, 0.1, 2.0) is None


def test_a_higher_reference_quantile_is_stricter() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(60, 8))
    lenient = NeighbourSimilarity.fit(vectors, 3, 0.05, 2.0)
    strict = NeighbourSimilarity.fit(vectors, 3, 0.9, 2.0)
    assert lenient is not None and strict is not None
    assert lenient.reference < strict.reference
    messages = rng.normal(size=(20, 8))
    assert np.all(strict.factor(messages) <= lenient.factor(messages))


def test_saved_and_loaded_detector_scores_the_same() -> None:
    detector = fitted()
    loaded = NeighbourSimilarity.from_saved(detector.to_json(), detector.arrays())
    messages = np.stack([unit(1.0, 1.0, 0.0), unit(0.2, 0.0, 1.0)])
    assert loaded.factor(messages) == pytest.approx(detector.factor(messages))


def test_saved_detector_with_too_few_vectors_is_refused() -> None:
    description = {**fitted().to_json(), "neighbours": 10}
    with pytest.raises(ValueError, match="neighbours"):
        NeighbourSimilarity.from_saved(description, fitted().arrays())


@pytest.mark.parametrize(
    ("neighbours", "quantile", "exponent", "error"),
    [
        (0, 0.1, 2.0, "neighbours"),
        (5, 1.5, 2.0, "reference_quantile"),
        (5, 0.1, -1.0, "exponent"),
    ],
)
def test_bad_settings_are_refused(
    neighbours: int, quantile: float, exponent: float, error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        NeighbourSimilarity.fit(TRAINING, neighbours, quantile, exponent)
