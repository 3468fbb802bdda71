"""The classifier wired to its data: jieba for segmentation, the matter catalog for
keywords, and an optional JSONL file of labelled examples (validated on load)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import jieba
from civicgrid_shared.reference.catalog import MatterCatalog
from civicgrid_shared.reference.loader import load_matters
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from civicgrid_intake.domain.classify import (
    ClassifierParams,
    MatterClassifier,
    MatterTerms,
    Segmenter,
)

jieba.setLogLevel(logging.WARNING)

class TrainingDataError(ValueError):
    """A labelled-examples file that does not validate (line number and reason)."""


DATA_DIR = Path(__file__).resolve().parent.parent / "data"
PARAMS_FILE = DATA_DIR / "classifier.json"
# Written for training only; the labelled sample in tests/data/intake is kept apart.
TRAINING_FILE = DATA_DIR / "training_appeals.jsonl"
SUPPORTED_VERSIONS = frozenset({"1"})


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    keyword_weight: float = Field(ge=0)
    name_weight: float = Field(ge=0)
    catalog_doc_weight: float = Field(gt=0)
    example_weight: float = Field(gt=0)
    alpha: float = Field(gt=0)
    temperature: float = Field(gt=0)


class _ParamsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    notes: str = ""
    params: _Params
    stopwords: list[Annotated[str, StringConstraints(min_length=1)]]


def load_params(path: str | Path = PARAMS_FILE) -> ClassifierParams:
    """The classifier's parameters and stop words, validated; unknown versions refused."""
    try:
        raw = json.loads(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise TrainingDataError(f"{Path(path).name}: unreadable ({type(exc).__name__})"
                                ) from None
    if not isinstance(raw, dict) or raw.get("version") not in SUPPORTED_VERSIONS:
        raise TrainingDataError(f"{Path(path).name}: unsupported or missing version")
    try:
        doc = _ParamsFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise TrainingDataError(f"{Path(path).name}: {where}: {first['msg']}") from None
    return ClassifierParams(**doc.params.model_dump(), stopwords=frozenset(doc.stopwords))


class LabelledExample(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    text: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    matter_code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}-\d{3}$")]


def load_examples(path: str | Path, catalog: MatterCatalog) -> list[LabelledExample]:
    """One JSON object per line: {"text": ..., "matter_code": ...}; codes must exist."""
    examples = []
    with Path(path).open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                ex = LabelledExample.model_validate(json.loads(line))
            except (ValueError, ValidationError) as exc:
                raise TrainingDataError(f"{Path(path).name}:{number}: {type(exc).__name__}"
                                        ) from None
            if catalog.matter(ex.matter_code) is None:
                raise TrainingDataError(f"{Path(path).name}:{number}: matter_code not in catalog")
            examples.append(ex)
    return examples


_lock = threading.Lock()


def jieba_segmenter(catalog: MatterCatalog) -> Segmenter:
    """A private jieba tokenizer that knows the catalog's keywords as words."""
    tokenizer = jieba.Tokenizer()
    with _lock:
        tokenizer.initialize()
    for m in catalog.all():
        for k in m.keywords:
            if len(k) <= 4:
                tokenizer.add_word(k)

    def segment(text: str) -> list[str]:
        return list(tokenizer.lcut(text, HMM=False))

    return segment


def matter_terms(catalog: MatterCatalog) -> list[MatterTerms]:
    return [MatterTerms(m.code, m.name, tuple(m.keywords)) for m in catalog.all()]


def build_classifier(catalog: MatterCatalog | None = None,
                     examples: Iterable[tuple[str, str]] = (),
                     training_file: str | Path | None = TRAINING_FILE,
                     params: ClassifierParams | None = None) -> MatterClassifier:
    """Catalog keywords and names, the training file (None: none) and ``examples``."""
    catalog = catalog or load_matters()
    extra = list(examples)
    if training_file is not None:
        extra += [(e.text, e.matter_code) for e in load_examples(training_file, catalog)]
    return MatterClassifier(matter_terms(catalog), jieba_segmenter(catalog), extra,
                            params or load_params())
