"""The text matching engine behind moderation (C7), FAQ replies (C8) and complaint alerts (C9).

Two paths, both pure (no database) so the benchmark measures exactly what a message costs:

- **Keywords**: every sensitive word, complaint word and FAQ keyword of a workspace goes into one Aho-Corasick
  automaton (pyahocorasick), so a message is scanned once, whatever the number of words — not once per word, as the
  LinkWeChat loop does. Words and messages go through the same `normalize`: full-width → half-width, lower case,
  every separator (space, punctuation, zero-width) dropped, so "加 微 信" and "加·微·信" both hit 加微信.
- **Similarity** (FAQ paraphrases): character uni- and bi-grams of each question and variant, indexed with BM25
  (bm25s). A message's score against a question is the part of that question's own BM25 weight the message covers
  (score / the question's self-score), so it lies in 0..1 and a threshold means the same for long and short
  questions.

`MatchSet` holds both for one workspace; `load(session, ws)` returns it from a process cache keyed by the
database, the workspace and a cheap version key (row counts and sums of the random `revision` of word lists and FAQ
entries), so the automaton is rebuilt only when a list or an entry changes.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ahocorasick

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# -------------------------------------------------------------------------------------------------- normalising

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Separators: whitespace, punctuation, symbols, underscores, zero-width characters (anything not a letter or digit).
_NON_WORD = re.compile(r"[\W_]+")


# Full-width letters, digits and the characters URLs and markers are made of (not the everyday ，。！？).
_FULL_WIDTH_URLISH = re.compile(r"[\uff0e-\uff1a\uff21-\uff3b\uff3d\uff41-\uff5a]")


def fold(text: str) -> str:
    """Full-width → half-width and other compatibility forms (NFKC, skipped when already normal), lower case."""
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return text.lower()


def normalize(text: str) -> str:
    """What keywords are matched on: every separator dropped, then NFKC (full-width → half-width) and lower case,
    so "加 微 信", "加·微·信" and "Ｖ Ｘ" read 加微信 and vx. Words and messages go through the same function.

    Separators go first: Chinese text is full of full-width punctuation, and once it is gone the rest is usually
    NFKC-normal already, which saves the costly normalisation on most messages."""
    t = _NON_WORD.sub("", text)
    if not unicodedata.is_normalized("NFKC", t):
        t = _NON_WORD.sub("", unicodedata.normalize("NFKC", t))
    return t.lower()


#: The same text for the spam-wave rule: a message that differs only in spaces and punctuation is the same.
compact = normalize


# -------------------------------------------------------------------------------------------------- links

_URL = re.compile(
    r"(?:https?|ftp|weixin|wxp|alipays?|taobao|tbopen)://\S+"
    r"|www\.[a-z0-9-]+\.\S+"
    r"|\b[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9-]+)*\."
    r"(?:com|cn|net|org|top|xyz|vip|cc|io|me|shop|info|site|club|online|app|link|ly|co|tv|wang|ltd|store|tk|ink)"
    r"(?![a-z0-9])(?:/\S*)?"
)
_MARKERS: dict[str, str] = {
    "[链接]": "link", "[link]": "link", "[网页]": "link",
    "[二维码]": "qr_code", "[qr]": "qr_code", "[qr code]": "qr_code",
    "[名片]": "card", "[个人名片]": "card", "[card]": "card",
    "[小程序]": "mini_program", "[mini program]": "mini_program",
}
#: The message kinds a connector may put in `message.posted` payloads (`kind`) that are moderated like links.
LINK_KINDS = {"link": "link", "url": "link", "qr_code": "qr_code", "qrcode": "qr_code", "card": "card",
              "business_card": "card", "mini_program": "mini_program", "miniprogram": "mini_program"}


def links(text: str, kind: str | None = None, *, folded: str | None = None) -> list[tuple[str, str]]:
    """(what, evidence) for every link, QR code, contact card or mini-program in a message."""
    out: list[tuple[str, str]] = []
    if kind and kind.lower() in LINK_KINDS:
        out.append((LINK_KINDS[kind.lower()], kind))
    t = text.lower() if folded is None else folded
    if folded is None and _FULL_WIDTH_URLISH.search(t):
        t = unicodedata.normalize("NFKC", t)
    if "[" in t:
        for marker, what in _MARKERS.items():
            if marker in t:
                out.append((what, marker))
    if "." in t or ":" in t:
        out.extend(("link", m.group(0)[:200]) for m in _URL.finditer(t))
    return out


# -------------------------------------------------------------------------------------------------- keywords


@dataclass(frozen=True, slots=True)
class Term:
    """One word of one source: `source` is moderation | complaint | faq, `ref` the word list or FAQ entry id."""

    source: str
    ref: int
    word: str


class KeywordIndex:
    """All words of a workspace in one Aho-Corasick automaton over normalised text."""

    def __init__(self, terms: Iterable[Term]) -> None:
        by_key: dict[str, list[Term]] = {}
        for term in terms:
            key = normalize(term.word)
            if key:
                by_key.setdefault(key, []).append(term)
        self.size = len(by_key)
        self._auto: Any = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
        for key, found in by_key.items():
            self._auto.add_word(key, tuple(found))
        if by_key:
            self._auto.make_automaton()

    def search(self, normalized: str) -> list[Term]:
        """Terms found in already-normalised text, each once, in order of first appearance."""
        if not self.size or not normalized:
            return []
        hits = [found for _, found in self._auto.iter(normalized)]
        if not hits:
            return []
        if len(hits) == 1:
            return list(hits[0])
        return list(dict.fromkeys(term for found in hits for term in found))


# -------------------------------------------------------------------------------------------------- similarity

_SCRIPT_RUNS = re.compile(rf"[{_CJK}]+|[a-z0-9]+")
#: Function characters that say nothing about what a question is about (as unigrams; bigrams keep them).
STOP_CHARS = frozenset("的了吗呢呀啊吧哦嘛么是在有我你他她它们这那个一请问吖哈呗喔噢哇咯啦")


def ngrams(text: str) -> list[str]:
    """Character unigrams (less function characters) and bigrams of CJK runs; ASCII words whole. Unique."""
    out: dict[str, None] = {}
    for seg in _SCRIPT_RUNS.findall(fold(text)):
        if seg.isascii():
            out[seg] = None
            continue
        for ch in seg:
            if ch not in STOP_CHARS:
                out[ch] = None
        for i in range(len(seg) - 1):
            out[seg[i:i + 2]] = None
    return list(out)


class SimilarityIndex:
    """BM25 over character n-grams of FAQ questions and variants; scores normalised to 0..1 per document."""

    def __init__(self, docs: Sequence[tuple[int, str]]) -> None:
        self.entry_of: list[int] = []
        corpus: list[list[str]] = []
        for entry_id, text in docs:
            toks = ngrams(text)
            if any(len(t) > 1 for t in toks):
                corpus.append(toks)
                self.entry_of.append(entry_id)
        self._bm25: Any = None
        self._self: Any = None
        self._vocab: dict[str, int] = {}
        if not corpus:
            return
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets itself to DEBUG on import
        import numpy as np

        self._bm25 = bm25s.BM25()
        self._bm25.index(corpus, show_progress=False)
        self._vocab = {t: i for t, i in self._bm25.vocab_dict.items() if t}
        self._self = np.array([self._bm25.get_scores([self._vocab[t] for t in toks])[i]
                               for i, toks in enumerate(corpus)])
        self._self[self._self <= 0] = 1.0

    def __len__(self) -> int:
        return len(self.entry_of)

    def scores(self, text: str) -> dict[int, float]:
        """Best normalised score per FAQ entry that shares at least one bigram with the text."""
        if self._bm25 is None:
            return {}
        toks = [t for t in ngrams(text) if t in self._vocab]
        if not any(len(t) > 1 for t in toks):
            return {}
        raw = self._bm25.get_scores([self._vocab[t] for t in toks]) / self._self
        best: dict[int, float] = {}
        for i in raw.nonzero()[0]:
            entry, score = self.entry_of[i], min(1.0, float(raw[i]))
            if score > best.get(entry, 0.0):
                best[entry] = score
        return best


# -------------------------------------------------------------------------------------------------- match sets


@dataclass(frozen=True)
class WordListInfo:
    id: int
    name: str
    severity: str
    purpose: str


@dataclass(frozen=True)
class FaqInfo:
    id: int
    community_id: int | None
    question: str
    answer: str


@dataclass
class FaqMatch:
    entry: FaqInfo
    score: float
    method: str  # keyword | similarity
    keyword: str = ""


class Scan:
    """What one message hit: moderation words, complaint words, FAQ keywords (each term once)."""

    __slots__ = ("complaint", "faq", "moderation", "normalized", "text")

    def __init__(self, text: str, normalized: str, terms: list[Term]) -> None:
        self.text = text
        self.normalized = normalized
        self.moderation: tuple[Term, ...] = ()
        self.complaint: tuple[Term, ...] = ()
        self.faq: tuple[Term, ...] = ()
        if terms:
            self.moderation = tuple(t for t in terms if t.source == "moderation")
            self.complaint = tuple(t for t in terms if t.source == "complaint")
            self.faq = tuple(t for t in terms if t.source == "faq")

    def links(self, kind: str | None = None) -> list[tuple[str, str]]:
        return links(self.text, kind)


class MatchSet:
    """Everything a workspace matches messages against, built once per version of its lists and entries."""

    def __init__(self, lists: Sequence[WordListInfo], words: dict[int, list[str]], faqs: Sequence[FaqInfo],
                 faq_keywords: dict[int, list[str]], faq_texts: Sequence[tuple[int, str]]) -> None:
        self.lists = {w.id: w for w in lists}
        self.faqs = {f.id: f for f in faqs}
        terms: list[Term] = []
        for wl in lists:
            source = "complaint" if wl.purpose == "complaint" else "moderation"
            terms.extend(Term(source, wl.id, w) for w in words.get(wl.id, ()))
        for entry_id, kws in faq_keywords.items():
            terms.extend(Term("faq", entry_id, k) for k in kws)
        self.keywords = KeywordIndex(terms)
        self.similarity = SimilarityIndex(faq_texts)
        self.answers = {compact(f.answer) for f in faqs}

    def scan(self, text: str) -> Scan:
        norm = normalize(text)
        return Scan(text, norm, self.keywords.search(norm) if norm else [])

    def faq(self, text: str, *, community_id: int | None, scan: Scan | None = None) -> FaqMatch | None:
        """The best FAQ answer for a message in a community (global entries count everywhere): a keyword hit
        first (score 1), otherwise the most similar question."""
        def in_scope(entry_id: int) -> bool:
            e = self.faqs.get(entry_id)
            return e is not None and (e.community_id is None or e.community_id == community_id)

        scan = scan or self.scan(text)
        hits = [t for t in scan.faq if in_scope(t.ref)]
        if hits:
            best = max(hits, key=lambda t: len(normalize(t.word)))
            return FaqMatch(self.faqs[best.ref], 1.0, "keyword", best.word)
        scores = {e: s for e, s in self.similarity.scores(text).items() if in_scope(e)}
        if not scores:
            return None
        entry_id = max(scores, key=lambda e: (scores[e], -e))
        return FaqMatch(self.faqs[entry_id], round(scores[entry_id], 4), "similarity")

    def is_own_answer(self, text: str) -> bool:
        """A message that is one of our own answers (with or without the @nickname): never answer it again."""
        c = compact(text)
        return bool(c) and any(a and c.endswith(a) for a in self.answers)


def split_words(raw: str) -> list[str]:
    """Words of a list as uploaded: one per line (commas, 、 and ; also separate); blanks and duplicates dropped."""
    out: dict[str, None] = {}
    for part in re.split(r"[\n\r,，、;；]+", raw):
        w = part.strip()
        if w and normalize(w):
            out[w] = None
    return list(out)


# -------------------------------------------------------------------------------------------------- cache

_CACHE: OrderedDict[tuple[str, int], tuple[tuple[int, ...], MatchSet]] = OrderedDict()
_LOCK = threading.Lock()
_CACHE_SIZE = 64
builds = 0  # how many match sets this process has built (tests check that the cache holds)


def version(session: Session, ws: int) -> tuple[int, ...]:
    """A cheap key that changes whenever a word list or FAQ entry is added, changed or removed."""
    from sqlalchemy import func, select

    from siyu.models import FaqEntry, WordList

    parts = []
    for model in (WordList, FaqEntry):
        parts.append(select(func.count()).where(model.workspace_id == ws).scalar_subquery())
        parts.append(select(func.coalesce(func.sum(model.revision), 0)).where(model.workspace_id == ws)
                     .scalar_subquery())
    row = session.execute(select(*parts)).one()
    return tuple(int(x) for x in row)


def build(session: Session, ws: int) -> MatchSet:
    from sqlalchemy import select

    from siyu.models import FaqEntry, WordList

    lists, words = [], {}
    for wl in session.scalars(select(WordList).where(WordList.workspace_id == ws, WordList.active.is_(True))):
        lists.append(WordListInfo(wl.id, wl.name, wl.severity, wl.purpose))
        words[wl.id] = split_words(wl.words)
    faqs, keywords, texts = [], {}, []
    for e in session.scalars(select(FaqEntry).where(FaqEntry.workspace_id == ws, FaqEntry.active.is_(True))
                             .order_by(FaqEntry.id)):
        faqs.append(FaqInfo(e.id, e.community_id, e.question, e.answer))
        keywords[e.id] = [k for k in (e.keywords or []) if str(k).strip()]
        texts.append((e.id, e.question))
        texts.extend((e.id, str(v)) for v in (e.variants or []) if str(v).strip())
    return MatchSet(lists, words, faqs, keywords, texts)


def load(session: Session, ws: int) -> MatchSet:
    """The workspace's match set, rebuilt only when its version changed."""
    global builds
    key = (str(session.get_bind().engine.url), ws)
    ver = version(session, ws)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit[0] == ver:
            _CACHE.move_to_end(key)
            return hit[1]
    ms = build(session, ws)
    with _LOCK:
        builds += 1
        _CACHE[key] = (ver, ms)
        _CACHE.move_to_end(key)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return ms
