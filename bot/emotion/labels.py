"""The three emotions Tandem scores, and how the public data sets' labels map onto them.

anger       — hostility aimed at someone: the customer is angry at the operator.
frustration — things keep going wrong: complaints, disappointment, being fed up.
distress    — sadness, fear and grief: the customer needs care rather than speed.

A text can carry several (an angry complaint is anger and frustration). The mappings
follow the label names of GoEmotions (``goemotions/labels.txt``) and KOTE
(``kote/labels.txt``); every label not listed maps to none of the three.
"""

from __future__ import annotations

ANGER = "anger"
FRUSTRATION = "frustration"
DISTRESS = "distress"
EMOTIONS: tuple[str, ...] = (ANGER, FRUSTRATION, DISTRESS)

# A customer who is angry or frustrated is "negative": the decision a handoff rule
# reads. Distress is reported apart because it calls for a different answer.
NEGATIVE_EMOTIONS: tuple[str, ...] = (ANGER, FRUSTRATION)

# GoEmotions annotates what a rater read in a Reddit comment. "annoyance" is both mild
# anger and frustration; "disapproval" is a complaint, so frustration.
GOEMOTIONS_TO_EMOTIONS: dict[str, tuple[str, ...]] = {
    "anger": (ANGER,),
    "annoyance": (ANGER, FRUSTRATION),
    "disgust": (ANGER,),
    "disappointment": (FRUSTRATION,),
    "disapproval": (FRUSTRATION,),
    "sadness": (DISTRESS,),
    "grief": (DISTRESS,),
    "fear": (DISTRESS,),
    "nervousness": (DISTRESS,),
    "remorse": (DISTRESS,),
}

# KOTE's 43 emotions are finer than GoEmotions'. 어이없음 (exasperation) and 지긋지긋
# (fed up) are how complaints sound in Korean, so they count as frustration; 짜증 is
# irritation, both anger and frustration, like GoEmotions' annoyance. 의심/불신 and
# 한심함 are left out: in KOTE's comments they are mostly about third parties.
KOTE_TO_EMOTIONS: dict[str, tuple[str, ...]] = {
    "화남/분노": (ANGER,),
    "증오/혐오": (ANGER,),
    "역겨움/징그러움": (ANGER,),
    "짜증": (ANGER, FRUSTRATION),
    "불평/불만": (FRUSTRATION,),
    "안타까움/실망": (FRUSTRATION,),
    "어이없음": (FRUSTRATION,),
    "지긋지긋": (FRUSTRATION,),
    "힘듦/지침": (FRUSTRATION,),
    "귀찮음": (FRUSTRATION,),
    "슬픔": (DISTRESS,),
    "절망": (DISTRESS,),
    "서러움": (DISTRESS,),
    "공포/무서움": (DISTRESS,),
    "불안/걱정": (DISTRESS,),
    "패배/자기혐오": (DISTRESS,),
}


def map_labels(labels: list[str], mapping: dict[str, tuple[str, ...]]) -> set[str]:
    """Returns the emotions that a data set's label names stand for."""
    return {emotion for label in labels for emotion in mapping.get(label, ())}
