"""The text matching engine behind moderation (C7), FAQ replies (C8) and complaint alerts (C9).

Two paths, both pure (no database) so the benchmarks measure exactly what a message costs:

- **Keywords**: every sensitive word, complaint word and FAQ keyword of a workspace goes into one Aho-Corasick
  automaton (pyahocorasick), so a message is scanned once, whatever the number of words — not once per word, as the
  LinkWeChat loop does. Words and messages go through the same `normalize` (`normalize.keyword_text`: traditional →
  simplified, full-width → half-width, symbols that stand for characters, separators and strokes dropped), so
  "加 微 信", "加丨微丨信", "➕微信" and "加微信" are the same. A word that starts or ends with an ASCII letter
  must start or end there in the message too: "this book" does not hit `sb`, "增加VAT" does not hit `加v`.
  Moderation then drops hits that start or end inside an allowed term (参加微信支付 is not 加微信) or lie wholly in
  one (税务局代开发票 in an accounting community), and adds two rules that need no list: links (also written
  点com / 。com) and contact numbers (phone numbers in any digits, WeChat / QQ ids after their cue).
- **Similarity** (FAQ paraphrases): character uni- and bigrams of what each question and variant is
  about (question words taken out), after `normalize.similarity_text` (phrase-level traditional → simplified,
  English words of a glossary in Chinese); a message's homophone typos are read as the library's words first
  (发漂 → 发票, by pinyin); indexed with BM25 (bm25s) **per community** (its entries and the global ones, so
  another community's entries never shift the scores). A message's score against a question combines the part of
  the question's own BM25 weight the message covers and the part of the message the question explains
  (`SimilarityIndex`), so it lies in 0..1 and a threshold means the same for long and short questions. Only
  questions and requests for help are answered (`normalize.asks`), never statements that contain a keyword.

`MatchSet` holds both for one workspace; `load(session, ws)` returns it from a process cache keyed by the
database, the workspace and a cheap version key (row counts and sums of the random `revision` of word lists and FAQ
entries), so the automaton is rebuilt only when a list or an entry changes.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import ahocorasick

from siyu.engagement import normalize as norm

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# -------------------------------------------------------------------------------------------------- normalising

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"

fold = norm.fold
#: What keywords are matched on; words and messages go through the same function.
normalize = norm.keyword_text
#: The same text for the spam-wave rule: a message that differs only in spaces and punctuation is the same.
compact = norm.keyword_text


# -------------------------------------------------------------------------------------------------- links

_TLDS = ("com|cn|net|org|top|xyz|vip|cc|io|me|shop|info|site|club|online|app|link|ly|co|tv|wang|ltd|store|tk|ink"
         "|work|fun|icu|live|asia|biz|pro|red|kim|cloud")
_URL = re.compile(
    r"(?:https?|ftp|weixin|wxp|alipays?|taobao|tbopen)://\S+"
    r"|www\.[a-z0-9-]+\.\S+"
    r"|\b[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9-]+)*\."
    rf"(?:{_TLDS})"
    r"(?![a-z0-9])(?:/\S*)?"
)
#: Links whose dots are written out so that filters miss them: pan点baidu点com, youhui。com, hb8 dot com, 99tuan·com.
_DISGUISED = re.compile(
    r"(?<![a-z0-9])(?:www\s*(?:点|。|dot|·|,|，)\s*)?[a-z0-9][a-z0-9-]{1,62}\s*(?:点|。|dot|·|，)\s*"
    rf"(?:[a-z0-9-]+\s*(?:点|。|dot|·|，)\s*)?(?:{_TLDS})(?![a-z0-9])(?:/\S*)?")
_DISGUISED_GATE = re.compile(r"(?:点|。|dot|·|，)\s*[a-z]")
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
    t = norm.fold(text) if folded is None else folded
    if "[" in t:
        for marker, what in _MARKERS.items():
            if marker in t:
                out.append((what, marker))
    if "." in t or ":" in t:
        out.extend(("link", m.group(0)[:200]) for m in _URL.finditer(t))
    for m in _DISGUISED.finditer(t) if _DISGUISED_GATE.search(t) else ():
        if not any(m.group(0) in ev or ev in m.group(0) for _, ev in out):
            out.append(("link", m.group(0)[:200]))
    return out


# -------------------------------------------------------------------------------------------------- contact numbers

_NUMERALS = "0-9零一二三四五六七八九幺两壹贰叁肆伍陆柒捌玖"
_CONTACT_GATE = re.compile(rf"[a-z{_NUMERALS}]{{5}}")
_DIGIT_RUN = re.compile(rf"[{_NUMERALS}]{{10,}}")
_PHONE = re.compile(r"(?:0?86)?1[3-9][0-9]{9}|[48]00[0-9]{7}")
_ID_CHARS = r"[a-z][a-z0-9_\-]{5,24}"
_CONTACT_ID = re.compile(
    # an ASCII cue, then a separator, 号 / id / 是 or a colon, then the id (wxWidgets is not `wx` + an id)
    r"(?<![a-z0-9])(?:v\s?x|w\s?x|v|weixin|wechat|q\s?q)(?:\s*(?:号|id|是|为|:)\s*|\s+)(?:" + _ID_CHARS
    + r"|[0-9]{5,12})(?![a-z0-9_\-])"
    r"|(?<![a-z0-9])(?:v\s?x|w\s?x|q\s?q|q)[0-9]{5,12}(?![0-9])"
    r"|(?<![a-z0-9])q\s*(?:号|:)?\s*[0-9]{5,12}(?![0-9])"
    # a Chinese cue, then the id
    r"|(?:微信|威信|徽信|维信|喂信|v信|微|扣扣|企鹅|qq)\s*(?:号)?\s*(?:是|为|:)?\s*(?:" + _ID_CHARS
    + r"|[0-9]{5,12})(?![a-z0-9_\-])"
    r"|(?<![a-z0-9])wxid_?[a-z0-9]{4,}")


def contacts(normalized: str, folded: str) -> list[tuple[str, str]]:
    """(what, evidence) for phone numbers (138 0013 8000, ①③⑧…, 一三八…, 幺三八…, 壹叁捌…, +86, 400 numbers) and
    WeChat / QQ ids after their cue (vx：abc_123, 微：kj2024, 扣扣 287…, wxid_…). Numbers are read from the text
    with separators dropped, ids from the text with them kept (so an id cannot be glued from two words)."""
    joined = normalized.replace(" ", "") if " " in normalized else normalized
    if not _CONTACT_GATE.search(joined):
        return []
    out: list[tuple[str, str]] = []
    for m in _DIGIT_RUN.finditer(joined):
        if len(m.group(0)) <= 13 and _PHONE.fullmatch(norm.digits(m.group(0))):
            out.append(("phone", m.group(0)))
    out.extend(("contact_id", m.group(0)[:100]) for m in _CONTACT_ID.finditer(folded))
    return out


# -------------------------------------------------------------------------------------------------- keywords


@dataclass(frozen=True, slots=True)
class Term:
    """One word of one source: `source` is moderation | complaint | faq, `ref` the word list or FAQ entry id."""

    source: str
    ref: int
    word: str


#: Where a key was found in the normalised text: (start, end exclusive, the terms that have that key).
Hit = tuple[int, int, tuple[Term, ...]]


class KeywordIndex:
    """All words of a workspace in one Aho-Corasick automaton over normalised text (with their spam spellings)."""

    def __init__(self, terms: Iterable[Term]) -> None:
        by_key: dict[str, list[Term]] = {}
        for term in terms:
            key = normalize(term.word)
            if key:
                by_key.setdefault(key, []).append(term)
        self.size = len(by_key)
        keys: dict[str, list[Term]] = {}
        for key, found in by_key.items():
            for spelling in norm.spellings(key):
                keys.setdefault(spelling, []).extend(found)
        self._auto: Any = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
        for key, found in keys.items():
            self._auto.add_word(key, (len(key) - 1, norm.is_ascii_word_char(key[0]),
                                      norm.is_ascii_word_char(key[-1]), tuple(dict.fromkeys(found))))
        if keys:
            self._auto.make_automaton()

    def hits(self, normalized: str) -> list[Hit]:
        """Every occurrence in already-normalised text, in order of their end. A key that starts (ends) with an
        ASCII letter or digit counts only where the text has no ASCII letter or digit just before (after) it."""
        if not self.size or not normalized:
            return []
        out: list[Hit] = []
        last_index = len(normalized) - 1
        ascii_word = norm.is_ascii_word_char
        for end, (back, first, last, terms) in self._auto.iter(normalized):
            start = end - back
            if first and start > 0 and ascii_word(normalized[start - 1]):
                continue
            if last and end < last_index and ascii_word(normalized[end + 1]):
                continue
            out.append((start, end + 1, terms))
        return out

    def search(self, normalized: str) -> list[Term]:
        """Terms found in already-normalised text, each once, in order of first appearance."""
        hits = self.hits(normalized)
        if not hits:
            return []
        if len(hits) == 1:
            return list(hits[0][2])
        return list(dict.fromkeys(term for h in hits for term in h[2]))


class AllowedTerms:
    """Terms that are fine where they are: a hit (or a link, or a number) that starts or ends inside one of them, or
    lies wholly in one, does not count. 参加 keeps 参加微信支付 from hitting 加微信; 税务局代开 keeps
    税务局代开发票 from hitting 代开发票."""

    def __init__(self, terms: Iterable[str]) -> None:
        keys = {normalize(t) for t in terms}
        keys.discard("")
        self.keys = frozenset(keys)
        self._auto: Any = None
        if keys:
            self._auto = ahocorasick.Automaton(ahocorasick.STORE_LENGTH, ahocorasick.KEY_STRING)
            for k in keys:
                self._auto.add_word(k)
            self._auto.make_automaton()

    def spans(self, normalized: str) -> list[tuple[int, int]]:
        if self._auto is None or not normalized:
            return []
        return [(end - length + 1, end + 1) for end, length in self._auto.iter(normalized)]

    @staticmethod
    def covers(spans: Sequence[tuple[int, int]], start: int, end: int) -> bool:
        """An allowed span that overlaps [start, end) without lying inside it: the hit crosses a word boundary or
        is part of an allowed word."""
        return any(a < end and start < b and not (start <= a and b <= end) for a, b in spans)

    def allows(self, evidence: str) -> bool:
        """A link or number that is (part of) an allowed term: ASP.NET, the community's own hotline."""
        key = normalize(evidence)
        return bool(key) and any(key in k for k in self.keys)


@lru_cache(maxsize=256)
def allowed_terms(terms: tuple[str, ...]) -> AllowedTerms:
    """The allowed terms of one scope (built once per distinct list)."""
    return AllowedTerms(terms)


# -------------------------------------------------------------------------------------------------- similarity

_SCRIPT_RUNS = re.compile(rf"[{_CJK}]+|[a-z0-9]+")
#: Function characters that say nothing about what a question is about (as unigrams; bigrams keep them).
STOP_CHARS = frozenset("的了吗呢呀啊吧哦嘛么是在有我你他她它们这那个一请问吖哈呗喔噢哇咯啦")


def runs(text: str) -> list[str]:
    """What a question or message is about, as CJK runs and ASCII words: `normalize.similarity_text`, then the
    question words taken out (`normalize.content_runs`)."""
    return _SCRIPT_RUNS.findall(norm.content_runs(norm.similarity_text(text)))


def tokens(segments: Iterable[str]) -> list[str]:
    """Tokens (unique): character unigrams (less function characters) and bigrams of CJK runs; ASCII words whole.
    (Skip-bigrams for mistyped characters were tried: they dilute every question's weight and cost more recall on
    the labelled sets than the typos they catch.)"""
    out: dict[str, None] = {}
    for seg in segments:
        if seg.isascii():
            out[seg] = None
            continue
        for ch in seg:
            if ch not in STOP_CHARS:
                out[ch] = None
        for i in range(len(seg) - 1):
            out[seg[i:i + 2]] = None
    return list(out)


def ngrams(text: str) -> list[str]:
    """The tokens of a text (`tokens(runs(text))`)."""
    return tokens(runs(text))


class SimilarityIndex:
    """BM25 over the tokens of FAQ questions and variants; scores normalised to 0..1 per document.

    A message is first corrected against the library's own words by sound: a character pair the library does not
    have but whose pinyin is one of its pairs is read as that pair (发漂 → 发票, 回方 → 回放, 推款 → 退款), and an
    ASCII word that is pinyin of the library's words likewise (fapiao → 发票). Its score against a question then
    combines two coverages: `q`, the part of the question's own BM25 weight the message covers (a long message that
    contains the question scores high), and `m`, the part of the message's IDF weight the question covers — tokens
    the library has never seen weigh as much as its rarest ones —, so a short message wholly about one question
    ("回放在哪里看") scores high too. The score is max(q, F_beta) with m as precision and q as recall, beta = 0.5:
    what the member said being explained counts more than every word of the question being repeated."""

    BETA = 0.5

    def __init__(self, docs: Sequence[tuple[int, str]]) -> None:
        self.entry_of: list[int] = []
        corpus: list[list[str]] = []
        pairs: dict[tuple[str, str], dict[str, int]] = {}
        for entry_id, text in docs:
            segs = runs(text)
            toks = tokens(segs)
            if not any(len(t) > 1 for t in toks):
                continue
            corpus.append(toks)
            self.entry_of.append(entry_id)
            for seg in segs:
                for i in range(len(seg) - 1):
                    a, b = seg[i], seg[i + 1]
                    pa, pb = norm.pinyin(a), norm.pinyin(b)
                    if pa and pb and a not in STOP_CHARS and b not in STOP_CHARS:
                        seen = pairs.setdefault((pa, pb), {})
                        seen[a + b] = seen.get(a + b, 0) + 1
        #: pinyin pair → the library's most frequent character pair with that sound
        self._by_sound = {k: max(v, key=lambda w: (v[w], w)) for k, v in pairs.items()}
        self._bm25: Any = None
        self._self: Any = None
        self._vocab: dict[str, int] = {}
        self._postings: dict[str, Any] = {}
        self._idf: dict[str, float] = {}
        self._unknown_idf = 0.0
        if not corpus:
            return
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets itself to DEBUG on import
        import numpy as np

        self._np = np
        self._bm25 = bm25s.BM25()
        self._bm25.index(corpus, show_progress=False)
        self._vocab = {t: i for t, i in self._bm25.vocab_dict.items() if t}
        self._self = np.array([self._bm25.get_scores([self._vocab[t] for t in toks])[i]
                               for i, toks in enumerate(corpus)])
        self._self[self._self <= 0] = 1.0
        docs_of: dict[str, list[int]] = {}
        for i, toks in enumerate(corpus):
            for t in toks:
                docs_of.setdefault(t, []).append(i)
        n = len(corpus)
        self._postings = {t: np.array(d, dtype=np.intp) for t, d in docs_of.items()}
        self._idf = {t: math.log(1 + (n - len(d) + 0.5) / (len(d) + 0.5)) for t, d in docs_of.items()}
        self._unknown_idf = math.log(1 + (n + 0.5) / 0.5)

    def __len__(self) -> int:
        return len(self.entry_of)

    def correct(self, segments: list[str]) -> list[str]:
        """The message's runs with homophone typos replaced by the library's words (see the class docstring)."""
        out = []
        for seg in segments:
            if seg.isascii():
                syllables = norm.pinyin_word(seg) if seg.isalpha() and seg not in self._vocab else None
                if syllables and len(syllables) % 2 == 0:
                    words = [self._by_sound.get((syllables[i], syllables[i + 1]))
                             for i in range(0, len(syllables), 2)]
                    if all(words):
                        seg = "".join(w for w in words if w)
                out.append(seg)
                continue
            chars = list(seg)
            for i in range(len(chars) - 1):
                pair = chars[i] + chars[i + 1]
                if pair in self._vocab:
                    continue
                pa, pb = norm.pinyin(chars[i]), norm.pinyin(chars[i + 1])
                fix = self._by_sound.get((pa, pb)) if pa and pb else None
                if fix is not None:
                    chars[i], chars[i + 1] = fix[0], fix[1]
            out.append("".join(chars))
        return out

    def _unknown_weight(self, toks: Sequence[str]) -> float:
        """The weight of the message's tokens the library does not know (content it cannot answer); pairs with a
        function character (有问, 量有) are not counted."""
        n = sum(1 for t in toks if t not in self._vocab and not any(c in STOP_CHARS for c in t))
        return n * self._unknown_idf

    def scores(self, text: str) -> dict[int, float]:
        """Best normalised score per FAQ entry that shares at least one bigram with the text."""
        if self._bm25 is None:
            return {}
        all_toks = tokens(self.correct(runs(text)))
        toks = [t for t in all_toks if t in self._vocab]
        if not any(len(t) > 1 for t in toks):
            return {}
        np = self._np
        q = np.minimum(self._bm25.get_scores([self._vocab[t] for t in toks]) / self._self, 1.0)
        overlap = np.zeros(len(self.entry_of))
        for t in toks:
            overlap[self._postings[t]] += self._idf[t]
        total = sum(self._idf[t] for t in toks) + self._unknown_weight(all_toks)
        m = overlap / total if total > 0 else overlap
        b2 = self.BETA ** 2
        f = np.divide((1 + b2) * q * m, b2 * m + q, out=np.zeros_like(q), where=(b2 * m + q) > 0)
        raw = np.maximum(q, f)
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
    #: The message asks (a question or a request for help): only then does the FAQ answer it.
    asks: bool = True


@dataclass
class TextFinding:
    """What a moderation rule that reads one message found: `rule` is word | link | qr_code | card |
    mini_program | contact_number; `what` the kind of evidence (phone, contact_id, link…); `list_id` for words."""

    rule: str
    evidence: list[str] = field(default_factory=list)
    list_id: int | None = None
    what: str = ""


class Scan:
    """What one message hit: moderation words, complaint words, FAQ keywords (each term once), with where."""

    __slots__ = ("complaint", "faq", "folded", "hits", "moderation", "normalized", "text")

    def __init__(self, text: str, folded: str, normalized: str, hits: list[Hit]) -> None:
        self.text = text
        self.folded = folded
        self.normalized = normalized
        self.hits = hits
        self.moderation: tuple[Term, ...] = ()
        self.complaint: tuple[Term, ...] = ()
        self.faq: tuple[Term, ...] = ()
        if hits:
            by: dict[str, dict[Term, None]] = {"moderation": {}, "complaint": {}, "faq": {}}
            for h in hits:
                for t in h[2]:
                    by[t.source][t] = None
            self.moderation = tuple(by["moderation"])
            self.complaint = tuple(by["complaint"])
            self.faq = tuple(by["faq"])

    def links(self, kind: str | None = None) -> list[tuple[str, str]]:
        return links(self.text, kind, folded=self.folded)

    def contacts(self) -> list[tuple[str, str]]:
        return contacts(self.normalized, self.folded)

    def moderation_words(self, allowed: AllowedTerms | None = None) -> list[Term]:
        """The moderation terms hit at least once outside the allowed terms."""
        if not self.moderation:
            return []
        spans = allowed.spans(self.normalized) if allowed is not None else []
        out: dict[Term, None] = {}
        for start, end, terms in self.hits:
            if spans and AllowedTerms.covers(spans, start, end):
                continue
            for t in terms:
                if t.source == "moderation":
                    out[t] = None
        return list(out)


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
        self._faq_texts = list(faq_texts)
        self._similarity: dict[int | None, SimilarityIndex] = {}
        self._sim_lock = threading.Lock()
        self.answers = {compact(f.answer) for f in faqs}

    def scan(self, text: str) -> Scan:
        folded = norm.fold(text)
        normalized = norm.strip_separators(folded)
        return Scan(text, folded, normalized, self.keywords.hits(normalized) if normalized else [])

    # ---------------------------------------------------------------------------------------------- moderation

    def moderate(self, scan: Scan, *, kind: str | None = None, allowed: AllowedTerms | None = None,
                 check_links: bool = True, check_contacts: bool = True) -> list[TextFinding]:
        """What the rules that read one message find in it: listed words (one finding per list), links / QR codes
        / cards / mini-programs, and contact numbers; all outside the allowed terms."""
        out: list[TextFinding] = []
        by_list: dict[int, list[str]] = {}
        for term in scan.moderation_words(allowed):
            by_list.setdefault(term.ref, []).append(term.word)
        out.extend(TextFinding("word", words[:10], list_id) for list_id, words in by_list.items()
                   if list_id in self.lists)
        if check_links:
            found = [(what, ev) for what, ev in scan.links(kind) if allowed is None or not allowed.allows(ev)]
            if found:
                out.append(TextFinding(found[0][0], [ev for _, ev in found][:5], what=found[0][0]))
        if check_contacts:
            found = [(what, ev) for what, ev in scan.contacts() if allowed is None or not allowed.allows(ev)]
            if found:
                out.append(TextFinding("contact_number", [ev for _, ev in found][:5], what=found[0][0]))
        return out

    # ---------------------------------------------------------------------------------------------- FAQ

    def similarity_for(self, community_id: int | None) -> SimilarityIndex:
        """The BM25 index of one community's scope (its entries and the global ones), built on first use: IDF
        and scores never depend on the entries of other communities."""
        idx = self._similarity.get(community_id)
        if idx is not None:
            return idx
        with self._sim_lock:
            idx = self._similarity.get(community_id)
            if idx is None:
                docs = [(e, t) for e, t in self._faq_texts if self._in_scope(e, community_id)]
                idx = self._similarity[community_id] = SimilarityIndex(docs)
        return idx

    @property
    def similarity(self) -> SimilarityIndex:
        """The index of the global entries (what a message outside any community is compared with)."""
        return self.similarity_for(None)

    def _in_scope(self, entry_id: int, community_id: int | None) -> bool:
        e = self.faqs.get(entry_id)
        return e is not None and (e.community_id is None or e.community_id == community_id)

    def faq(self, text: str, *, community_id: int | None, scan: Scan | None = None) -> FaqMatch | None:
        """The best FAQ answer for a message in a community (global entries count everywhere): a keyword hit
        first (score 1), otherwise the most similar question. `asks` says whether the message is a question or a
        request for help; a statement is never answered (`faq.service.outcome`)."""
        scan = scan or self.scan(text)
        asks = norm.asks(norm.similarity_text(text))
        hits = [t for t in scan.faq if self._in_scope(t.ref, community_id)]
        if hits:
            best = max(hits, key=lambda t: len(normalize(t.word)))
            return FaqMatch(self.faqs[best.ref], 1.0, "keyword", best.word, asks=asks)
        scores = self.similarity_for(community_id).scores(text)
        if not scores:
            return None
        entry_id = max(scores, key=lambda e: (scores[e], -e))
        return FaqMatch(self.faqs[entry_id], round(scores[entry_id], 4), "similarity", asks=asks)

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
