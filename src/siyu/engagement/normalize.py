"""Text as members write it, folded to what they mean, for moderation (C7) and the FAQ (C8).

Members write traditional characters (發票), full-width letters (ＶＸ), circled or spelled-out digits (①③⑧,
一三八), symbols that stand for characters (➕微 = 加微, V❤ = V信), strokes and emoji between the characters of a
word (代丨开丨发丨票), homophones (发漂, 回方) and English words (coupon怎么用). Two foldings:

- `keyword_text`: for the Aho-Corasick path (sensitive words, complaint words, FAQ keywords). One `str.translate`
  does traditional → simplified per character (a table built once from OpenCC), full-width → half-width, upper →
  lower case, symbol variants and the strokes spammers put between characters; then separators are dropped — except
  between two ASCII words of two or more letters, which keep one space, so "this book" never reads "thisbook" (and
  never hits `sb`) while "v x" still reads "vx". It is on the per-message hot path: a few microseconds.
- `similarity_text`: for FAQ questions: OpenCC's phrase-level conversion (tw2sp: 甚麼 → 什么, 資訊 → 信息), NFKC,
  lower case, everyday spoken forms (咋 → 怎么) and the English words of a small glossary in Chinese (coupon →
  优惠券); `content_runs` then takes the question words out. `pinyin` gives each character's toneless reading (from
  pypinyin's dictionary), with which the FAQ reads a homophone typo as the library's own word (发漂 → 发票).
- `asks`: is a message a question or a request for help (what the FAQ answers), or a statement?

Everything is built lazily on first use and kept for the process: nothing is fetched, the data ship with the
`opencc` and `pypinyin` packages.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

# -------------------------------------------------------------------------------------------------- tables

#: Symbols that stand for a character in spam: ➕微 / +V = 加微 / 加V; V❤ / 微❤ = V信 / 微信; 🉑 = 可.
SYMBOLS: dict[str, str] = {
    "➕": "加", "＋": "加", "+": "加", "✚": "加", "✙": "加", "⊕": "加", "﹢": "加", "➕️": "加",
    "❤": "信", "♥": "信", "♡": "信", "💗": "信", "💕": "信", "💖": "信", "💓": "信", "💞": "信", "😍": "信",
    "🉑": "可", "〇": "零",
}
#: Stroke-like characters put between the characters of a word to break it up (they are letters to Unicode).
FILLERS = "丨丶丿乀乁亅乛ㄧ〡〢〣︱︲丄丅乚亠"
#: Two-character spellings of 微信 / QQ / 群 that spammers use (after the table: 薇 is already 微).
PHRASES: dict[str, str] = {
    "威信": "微信", "徽信": "微信", "维信": "微信", "喂信": "微信", "微芯": "微信", "围信": "微信", "嘉微": "加微",
    "伽微": "加微", "十v": "加v", "十微": "加微", "扣扣": "qq", "企鹅号": "qq号", "加裙": "加群",
    "甚么": "什么",
}
#: Character variants folded everywhere (rare in ordinary chat, common in spam).
VARIANTS = {"薇": "微", "徵": "微", "羣": "群"}
#: Everyday words that contain the start of a common spam phrase: 参加微信支付 is not 加微信. Allowed terms by
#: default (a hit that starts or ends inside one of them is not a hit); operators add their own per community.
DEFAULT_ALLOWED = ("参加", "增加", "更加", "附加", "追加", "叠加", "外加", "施加", "累加", "相加", "加计扣除",
                   "asp.net", "vb.net", "ado.net", "c#.net")

_CJK_RANGES = ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00))


@cache
def _t2s_chars() -> dict[str, str]:
    """Traditional → simplified for single characters, from OpenCC (one conversion of every CJK character)."""
    import opencc

    chars = [chr(i) for lo, hi in _CJK_RANGES for i in range(lo, hi)]
    out = opencc.OpenCC("t2s.json").convert("\n".join(chars)).split("\n")
    if len(out) != len(chars):  # never seen; keep going without the table rather than mis-align it
        return {}
    return {a: b for a, b in zip(chars, out, strict=True) if a != b and len(b) == 1}


@cache
def _table() -> dict[int, str | None]:
    """One translation table for the hot path: NFKC of every BMP character that has one (full-width, circled
    digits, compatibility ideographs, …), lower case, traditional → simplified characters, symbol variants, and the
    fillers dropped. With it, almost no message needs the (slow) NFKC pass any more."""
    t2s = _t2s_chars()
    table: dict[int, str | None] = {}
    for i in range(0x80, 0x10000):
        if 0xD800 <= i < 0xE000:
            continue
        c = chr(i)
        n = unicodedata.normalize("NFKC", c).lower()
        if n != c:
            table[i] = "".join(t2s.get(x, x) for x in n)
    for a, b in t2s.items():
        table[ord(a)] = b
    for i in range(ord("A"), ord("Z") + 1):
        table[i] = chr(i).lower()
    table[0] = None
    for k, v in {**VARIANTS, **SYMBOLS}.items():
        if len(k) == 1:
            table[ord(k)] = v
    for ch in FILLERS:
        table[ord(ch)] = None
    return table


_NON_WORD = re.compile(r"[\W_]+")
#: A separator between two ASCII letters / digits: the only place where dropping separators can join words.
_ASCII_GAP = re.compile(r"(?<=[a-z0-9])[\W_]+(?=[a-z0-9])")
_ASCII_GAP_GATE = re.compile(r"[a-z0-9][\W_]+[a-z0-9]")  # the same without look-arounds: a cheaper first test
#: The other spellings of each canonical form in `PHRASES` (微信 → 威信, 徽信, …).
ALTERNATIVES: dict[str, tuple[str, ...]] = {}
for _alt, _canon in PHRASES.items():
    ALTERNATIVES[_canon] = (*ALTERNATIVES.get(_canon, ()), _alt)


def _run_length(s: str, i: int, step: int) -> int:
    n = 0
    while 0 <= i < len(s) and s[i].isascii() and s[i].isalnum():
        n += 1
        i += step
    return n


def _gap(m: re.Match[str]) -> str:
    """Keep one space between two ASCII words of two or more characters ("this book"); join single letters
    that were spread out ("v x" → "vx", "q q" → "qq")."""
    s = m.string
    if _run_length(s, m.start() - 1, -1) >= 2 and _run_length(s, m.end(), 1) >= 2:
        return "\0"
    return ""


def fold(text: str) -> str:
    """The table (traditional → simplified characters, width, case, symbols, fillers), then NFKC if anything is
    left that is not normal (math letters 𝕨𝕨𝕨, ligatures, compatibility forms). Separators are kept."""
    t = text.translate(_table())
    if not unicodedata.is_normalized("NFKC", t):
        t = unicodedata.normalize("NFKC", t).lower().translate(_table())
    return t


def strip_separators(folded: str) -> str:
    """Separators dropped, ASCII words kept apart (see `_gap`)."""
    if _ASCII_GAP_GATE.search(folded):
        marked = _ASCII_GAP.sub(_gap, folded)  # kept gaps are "\0" (the table drops any NUL of the text)
        t = " ".join(_NON_WORD.sub("", part) for part in marked.split("\0"))
    else:
        t = _NON_WORD.sub("", folded)
    return t


def spellings(key: str) -> set[str]:
    """A normalised word and its spam spellings (加微信 → 加威信, 加徽信, 伽微信, …): the automaton gets them all
    as keys, so messages need no phrase rewriting on the hot path."""
    out = {key}
    for canon, alts in ALTERNATIVES.items():
        if canon in key:
            out.update(key.replace(canon, alt) for alt in alts)
    return out


def keyword_text(text: str) -> str:
    """What keywords are matched on (words and messages alike): see the module's docstring."""
    return strip_separators(fold(text))


def is_ascii_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


# -------------------------------------------------------------------------------------------------- digits

#: Digits as members spell them in phone numbers: 一三八, 幺三八 (spoken 1), 壹叁捌, 〇 / 零.
CN_DIGITS = {"零": "0", "〇": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4", "五": "5",
             "六": "6", "七": "7", "八": "8", "九": "9", "壹": "1", "贰": "2", "叁": "3", "肆": "4", "伍": "5",
             "陆": "6", "柒": "7", "捌": "8", "玖": "9"}
_CN_DIGITS_TABLE = str.maketrans(CN_DIGITS)


def digits(text: str) -> str:
    """Chinese digits as ASCII digits (for the contact-number rule only: 一般 is not 1般 anywhere else)."""
    return text.translate(_CN_DIGITS_TABLE)


# -------------------------------------------------------------------------------------------------- similarity

#: English words members mix into Chinese questions, in the Chinese the FAQ library is written in. Longest first.
GLOSSARY: dict[str, str] = {
    "tax refund": "退税", "tracking number": "快递单号", "working hours": "工作时间", "customer service": "客服",
    "social security": "社保", "how to": "怎么", "how do i": "怎么", "how can i": "怎么",
    "invoice": "发票", "invoices": "发票", "fapiao": "发票", "receipt": "发票", "refund": "退款", "refunds": "退款",
    "coupon": "优惠券", "coupons": "优惠券", "voucher": "优惠券", "discount": "优惠", "ship": "发货",
    "shipping": "发货", "shipped": "发货", "delivery": "发货", "deliver": "发货", "tracking": "物流",
    "logistics": "物流", "express": "快递", "parcel": "快递", "address": "地址", "size": "尺码", "sizes": "尺码",
    "points": "积分", "point": "积分", "member": "会员", "membership": "会员", "order": "订单", "orders": "订单",
    "return": "退货", "exchange": "换货", "replay": "回放", "playback": "回放", "recording": "回放",
    "live": "直播", "livestream": "直播", "certificate": "证书", "cert": "证书", "deadline": "截止",
    "tax": "税", "service": "客服", "human": "人工", "agent": "人工客服", "password": "密码", "login": "登录",
    "account": "账号", "price": "价格", "invite": "邀请", "friends": "朋友", "friend": "朋友", "group": "群",
    "rules": "群规", "course": "课程", "class": "课程", "when": "什么时候", "where": "哪里", "what": "什么",
    "how": "怎么", "why": "为什么", "can": "能", "use": "用",
}
_GLOSSARY = re.compile(r"(?<![a-z])(?:" + "|".join(sorted(map(re.escape, GLOSSARY), key=len, reverse=True))
                       + r")(?![a-z])")


#: Everyday spoken forms and the words an FAQ library is written in (not a domain thesaurus: the entries'
#: variants are for that). Longest first.
COLLOQUIAL: dict[str, str] = {
    "甚么": "什么", "啥时候": "什么时候", "咋整": "怎么办", "咋办": "怎么办", "咋弄": "怎么弄", "咋": "怎么",
    "啥": "什么", "找不到了": "丢失了", "找不到": "丢失", "不见了": "丢失了", "弄丢": "丢失", "搞丢": "丢失",
    "丢了": "丢失了", "多长时间": "多久", "最晚": "截止", "最后一天": "截止", "退钱": "退款", "返款": "退款",
}
_COLLOQUIAL = re.compile("|".join(sorted(map(re.escape, COLLOQUIAL), key=len, reverse=True)))


@cache
def _opencc_t2s() -> object:
    """Taiwan / Hong Kong standard → mainland simplified, with phrases (資訊 → 信息, 軟體 → 软件)."""
    import opencc

    return opencc.OpenCC("tw2sp.json")


def similarity_text(text: str) -> str:
    """A question as the FAQ compares it: simplified (phrase-level, 甚麼 → 什么), NFKC, lower case, the glossary's
    English words and everyday spoken forms (咋 → 怎么) in the library's words."""
    t = _opencc_t2s().convert(text)  # type: ignore[attr-defined]
    if not unicodedata.is_normalized("NFKC", t):
        t = unicodedata.normalize("NFKC", t)
    t = t.translate(_table()).lower()
    if _COLLOQUIAL.search(t):
        t = _COLLOQUIAL.sub(lambda m: COLLOQUIAL[m.group(0)], t)
    if _GLOSSARY.search(t):
        t = _GLOSSARY.sub(lambda m: GLOSSARY[m.group(0)], t)
    return t


#: How a question is asked rather than what it is about: taken out before a question is cut into tokens, so that
#: 证书什么时候发 and 什么时候发货 share nothing but 发, and 客服几点上班 reads 客服 · 上班.
QUESTION_WORDS = (
    "请问一下", "请问", "请教一下", "请教", "想问一下", "想问下", "想问问", "想问", "问一下", "问下", "我想知道",
    "一下", "的话", "是多少", "是什么", "是哪", "是几",
    "什么时候", "什么", "怎么办", "怎么样", "怎么弄", "怎么操作", "怎么处理", "怎么", "如何处理", "如何操作", "如何",
    "在哪里", "在哪儿", "在哪", "哪里", "哪儿", "哪个", "哪些", "哪", "多少钱", "多少", "多久", "几点", "几号", "几天",
    "是不是", "是否", "能不能", "可不可以", "可以", "能否", "有没有", "还能", "吗", "呢", "呀", "啊", "吧", "嘛", "哈",
    "呗", "啦", "哦", "老师", "各位", "大家", "宝子们", "宝子", "亲", "您好", "你好",
)
_QUESTION_WORDS = re.compile("|".join(sorted(map(re.escape, QUESTION_WORDS), key=len, reverse=True)))


def content_runs(text: str) -> str:
    """`similarity_text` with the question words replaced by a space (so no bigram bridges them), and 的 dropped
    (下的单 reads 下单)."""
    return _QUESTION_WORDS.sub(" ", text).replace("的", "")


@cache
def _pinyin() -> dict[str, str]:
    """Each character's first reading, toneless (发 → fa, 绿 → lv), from pypinyin's dictionary."""
    from pypinyin.pinyin_dict import pinyin_dict

    out: dict[str, str] = {}
    for code, readings in pinyin_dict.items():
        first = readings.split(",", 1)[0]
        plain = "".join(c for c in unicodedata.normalize("NFD", first) if not unicodedata.combining(c))
        out[chr(code)] = plain.replace("ü", "v").replace("u\u0308", "v")
    return out


def pinyin(ch: str) -> str | None:
    return _pinyin().get(ch)


@cache
def _syllables() -> frozenset[str]:
    """Syllables with a vowel (n, m, ng, hm are readings too, but any English word would split into them)."""
    return frozenset(s for s in _pinyin().values() if any(v in s for v in "aeiouv"))


def pinyin_word(word: str) -> list[str] | None:
    """An ASCII word that is whole pinyin (fapiao → fa piao), as syllables; None when it is not pinyin. Greedy
    longest syllable first, with one step of backtracking (xian / xi an both read)."""
    syl = _syllables()
    out: list[str] = []
    i = 0
    while i < len(word):
        for n in range(min(6, len(word) - i), 0, -1):
            piece = word[i:i + n]
            rest = word[i + n:]
            if piece in syl and (not rest or any(rest[:k] in syl for k in range(1, min(6, len(rest)) + 1))):
                out.append(piece)
                i += n
                break
        else:
            return None
    return out if len(out) >= 2 else None


# -------------------------------------------------------------------------------------------------- questions

#: A member asking (a question word or mark) or asking for help (a problem, a request). A message with neither —
#: "优惠券已经用掉了，谢谢客服" — is a statement, and the FAQ does not answer statements.
_QUESTION = re.compile(
    r"[?？]|怎|咋|如何|吗|么|嘛|哪|几|多少|多久|多长|是否|能否|可否|可不可以|能不能|会不会|是不是|有没有|要不要|有无|"
    r"请问|请教|想问|问一下|问下|问问大家|求|为啥|啥|为什么|何时|什么时候|何处|"
    r"\b(?:how|what|when|where|why|which|can|could|is there|do you|does)\b")
_HELP = re.compile(
    r"急|帮|麻烦|求助|救|错了|填错|写错|弄错|坏了|碎了|破了|破损|丢了|丢失|没收到|没到|还没|收不到|查不到|找不到|"
    r"用不了|打不开|登不上|不能用|失败|报错|不行|不会|不懂|不知道|没看到|想要|想|需要|我要|要找|转人工")
#: Closing words: thanks, done, understood. With no question word they make a statement even with a help word.
_CLOSING = re.compile(r"谢谢|感谢|多谢|已经|好了|好的|收到|明白|懂了|搞定|解决了|可以了|知道了|没事了|完了|弄好")


def asks(text: str) -> bool:
    """Is this a question or a request for help (what the FAQ answers), rather than a statement?"""
    if _QUESTION.search(text):
        return True
    return bool(_HELP.search(text)) and not _CLOSING.search(text)
