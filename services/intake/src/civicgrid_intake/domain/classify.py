"""Matter classification of Chinese free text (pure: the segmenter is passed in).

Two kinds of evidence, both learnt from data files, none written into code:

* keyword rules from the matter catalog (``matters.json``: each matter's keywords and
  its name): a keyword found in the text is strong evidence, longer keywords more so;
* a multinomial naive Bayes model over word tokens (from the segmenter, jieba in
  production) and character bigrams, trained on the catalog's keywords and names plus
  any labelled examples given (a JSONL file named by a setting).

The two are added in log space and turned into a posterior; its top value is the
confidence. Below the threshold the appeal waits for a person (manual triage).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

Segmenter = Callable[[str], Sequence[str]]

_CJK = re.compile(r"[\u4e00-\u9fff]+")
_NOT_WORD = re.compile(r"^[\W_]+$")


@dataclass(frozen=True)
class MatterTerms:
    """What the classifier knows about one matter from the catalog."""

    code: str
    name: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Classification:
    matter_code: str | None
    confidence: float
    keyword_hits: int


@dataclass(frozen=True)
class ClassifierParams:
    """Tuning knobs; production values come from data/classifier.json."""

    keyword_weight: float = 2.2  # log-odds added per character of a matched keyword
    name_weight: float = 2.2  # per character of the matter's name found in the text
    catalog_doc_weight: float = 3.0  # the mass of one catalog keyword or name
    example_weight: float = 3.0  # the mass of one labelled example
    alpha: float = 0.1  # Laplace smoothing
    temperature: float = 1.0
    # Words that say nothing about the matter (function words, politeness, fillers).
    stopwords: frozenset[str] = frozenset()


class MatterClassifier:
    def __init__(self, matters: Sequence[MatterTerms], segment: Segmenter,
                 examples: Iterable[tuple[str, str]] = (),
                 params: ClassifierParams | None = None) -> None:
        if not matters:
            raise ValueError("the classifier needs at least one matter")
        self._segment = segment
        self._p = params or ClassifierParams()
        self._matters = {m.code: m for m in matters}
        self._codes = tuple(self._matters)
        self._by_prefix: dict[str, set[str]] = defaultdict(set)
        for m in matters:
            for phrase in (*m.keywords, m.name):
                self._by_prefix[phrase[:2] if len(phrase) >= 2 else ""].add(m.code)
        # Each document spreads a fixed mass over its features (a catalog phrase
        # catalog_doc_weight, an example example_weight), so long texts do not swamp
        # short ones and matters with more words are not penalised.
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        docs: Counter[str] = Counter()

        def add(code: str, text: str, mass: float) -> None:
            feats = self.features(text)
            if not feats:
                return
            share = mass / len(feats)
            for f in feats:
                counts[code][f] += share  # type: ignore[assignment]
            docs[code] += 1

        for m in matters:
            for phrase in (*m.keywords, m.name):
                add(m.code, phrase, float(self._p.catalog_doc_weight))
        for text, code in examples:
            if code not in self._matters:
                raise ValueError(f"example labelled with unknown matter {code}")
            add(code, text, self._p.example_weight)
        self._vocab = frozenset(f for c in counts.values() for f in c)
        # How specific a feature is: features found in few matters weigh more (idf).
        spread: Counter[str] = Counter(f for c in counts.values() for f in c)
        n = len(self._codes)
        self._idf = {f: math.log(1 + n / k) for f, k in spread.items()}
        total_docs = sum(docs.values()) or 1
        self._log_prior = {c: math.log((docs[c] + 1) / (total_docs + n)) for c in self._codes}
        v = len(self._vocab)
        # Sparse form: logit(c) = base(c) + unseen(c) * sum(idf) + sum over the text's
        # features f seen in c of idf(f) * (log P(f|c) - unseen(c)).
        self._log_unseen: dict[str, float] = {}
        self._delta: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for code in self._codes:
            total = sum(counts[code].values())
            denom = total + self._p.alpha * v
            unseen = math.log(self._p.alpha / denom)
            self._log_unseen[code] = unseen
            for f, x in counts[code].items():
                self._delta[f].append((code, math.log((x + self._p.alpha) / denom) - unseen))

    def features(self, text: str) -> list[str]:
        """Word tokens (no stopwords, no punctuation) and CJK character bigrams."""
        words = [w for w in self._segment(text)
                 if w.strip() and not _NOT_WORD.match(w) and w not in self._p.stopwords]
        bigrams = [f"#{run[i:i + 2]}" for run in _CJK.findall(text)
                   for i in range(len(run) - 1)]
        return words + bigrams

    def _keyword_scores(self, text: str) -> tuple[dict[str, float], int]:
        scores: dict[str, float] = defaultdict(float)
        hits = 0
        # Only matters with a keyword or name starting with a pair of characters that the
        # text contains can match: a cheap pre-filter instead of ~1,000 substring tests.
        pairs = {text[i:i + 2] for i in range(len(text) - 1)}
        candidates = {code for pair in pairs for code in self._by_prefix.get(pair, ())}
        candidates |= self._by_prefix.get("", set())
        for code in candidates:
            m = self._matters[code]
            matched = [k for k in m.keywords if k in text]
            # A keyword inside a longer matched keyword of the same matter counts once.
            matched = [k for k in matched if not any(k != o and k in o for o in matched)]
            for k in matched:
                scores[m.code] += self._p.keyword_weight * len(k)
                hits += 1
            if m.name in text:
                scores[m.code] += self._p.name_weight * len(m.name)
                hits += 1
        return scores, hits

    def classify(self, text: str) -> Classification:
        feats = [f for f in self.features(text) if f in self._vocab]
        rules, hits = self._keyword_scores(text)
        if not feats and not rules:
            return Classification(None, 0.0, 0)
        idf_sum = sum(self._idf[f] for f in feats)
        logits = {c: self._log_prior[c] + self._log_unseen[c] * idf_sum + rules.get(c, 0.0)
                  for c in self._codes}
        for f in feats:
            weight = self._idf[f]
            for code, delta in self._delta[f]:
                logits[code] += weight * delta
        best = max(logits, key=lambda c: logits[c])
        top = logits[best]
        z = sum(math.exp((v - top) / self._p.temperature) for v in logits.values())
        return Classification(best, 1.0 / z, hits)
