"""Matter classification: accuracy on the hand-labelled sample (held out from training)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from civicgrid_intake.adapters.classifier import (
    TrainingDataError,
    build_classifier,
    load_examples,
    load_params,
)
from civicgrid_intake.domain.classify import MatterClassifier
from civicgrid_shared.reference.loader import load_matters

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "intake" / "labelled_appeals.jsonl"


def _sample() -> list[dict[str, str]]:
    return [json.loads(line) for line in SAMPLE.read_text("utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def classifier() -> Iterator[MatterClassifier]:
    yield build_classifier()


def test_sample_is_large_varied_and_valid() -> None:
    rows = _sample()
    catalog = load_matters()
    assert len(rows) >= 200
    assert len({r["text"] for r in rows}) == len(rows)
    assert all(catalog.matter(r["matter_code"]) for r in rows)
    assert len({r["matter_code"] for r in rows}) >= 100
    # Loadable as training data too (the loader validates every line).
    assert len(load_examples(SAMPLE, catalog)) == len(rows)


def test_accuracy_on_held_out_sample(classifier: MatterClassifier) -> None:
    rows = _sample()
    threshold = 0.6  # the default CIVICGRID_CLASSIFY_THRESHOLD
    results = [(classifier.classify(r["text"]), r["matter_code"]) for r in rows]
    correct = sum(c.matter_code == want for c, want in results)
    confident = [(c, want) for c, want in results if c.confidence >= threshold]
    confident_correct = sum(c.matter_code == want for c, want in confident)
    accuracy = correct / len(rows)
    print(f"\nclassifier accuracy (top-1, {len(rows)} held-out appeals, 190 matters): "
          f"{accuracy:.1%}")
    print(f"at threshold {threshold}: {len(confident)}/{len(rows)} auto-classified, "
          f"precision {confident_correct / max(1, len(confident)):.1%}; "
          f"{len(rows) - len(confident)} to triage")
    assert accuracy >= 0.65  # a sane floor: chance is about 0.5%
    assert confident_correct / max(1, len(confident)) >= accuracy


def test_cross_validated_accuracy_with_labelled_examples() -> None:
    """More labelled data helps: 5-fold cross-validation, training on the catalog, the
    packaged training file and 4/5 of the sample, testing on the other 1/5."""
    rows = _sample()
    rng = random.Random(12345)
    order = list(range(len(rows)))
    rng.shuffle(order)
    correct = 0
    for fold in range(5):
        test = set(order[fold::5])
        train = [(rows[i]["text"], rows[i]["matter_code"]) for i in order if i not in test]
        clf = build_classifier(examples=train)
        correct += sum(clf.classify(rows[i]["text"]).matter_code == rows[i]["matter_code"]
                       for i in test)
    accuracy = correct / len(rows)
    print(f"\n5-fold cross-validated accuracy (+ 4/5 of the sample): {accuracy:.1%}")
    assert accuracy >= 0.65


def test_catalog_only_model_is_worse_than_trained(classifier: MatterClassifier) -> None:
    rows = _sample()
    catalog_only = build_classifier(training_file=None)

    def acc(clf: MatterClassifier) -> float:
        hits = sum(clf.classify(r["text"]).matter_code == r["matter_code"] for r in rows)
        return hits / len(rows)

    bare, trained = acc(catalog_only), acc(classifier)
    print(f"\ncatalog keywords only: {bare:.1%}; with the training file: {trained:.1%}")
    assert trained > bare


def test_explicit_words_and_empty_text(classifier: MatterClassifier) -> None:
    lamp = classifier.classify("小区门口的路灯坏了一个星期了，晚上很黑。")
    assert lamp.matter_code == "RD-003" and lamp.confidence >= 0.6
    nothing = classifier.classify("。。。？！")
    assert nothing.matter_code is None and nothing.confidence == 0.0
    vague = classifier.classify("你好，我想反映一个事情，具体情况我也说不太清楚。")
    assert vague.confidence < 0.6


def test_training_file_is_validated(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "路灯坏了", "matter_code": "ZZ-999"}\n', "utf-8")
    with pytest.raises(TrainingDataError, match=r"bad.jsonl:1"):
        load_examples(bad, load_matters())
    broken = tmp_path / "params.json"
    broken.write_text('{"version": "9"}', "utf-8")
    with pytest.raises(TrainingDataError, match="version"):
        load_params(broken)
