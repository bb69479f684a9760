"""The matching benchmark: moderation + complaint + FAQ keyword matching per message, on one core, beside the naive
per-word loop (LinkWeChat style: `for word in words: if word in text`) over the same messages in the same run; and
the FAQ similarity (BM25 over character n-grams) path on its own.

Only the pure matching path is timed (no database): normalising the text (traditional → simplified, width, symbols,
separators), one Aho-Corasick pass for every word of every list, link / QR / card detection (also 点com / 。com) and
the contact-number rule (phone numbers, WeChat / QQ ids). The words and messages are generated deterministically
from a seed.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

TARGETS = {"keyword.messages_per_s": 100_000}

# About 600 common characters of everyday Chinese chat, in frequency-ish order.
COMMON = (
    "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过"
    "家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只主没公从知老果样想长把现"
    "问开意机高力理回最外表实已气手美门体加先本相新几打间正情平特明重提向西次给关点业使化全代期东被因外山走口内月"
    "路话水别工物条解员第世应员通少真爱题讲书性总运教受合带社件报叫办感领认信度受各式品价收快马确身务款钱买卖单"
    "店客服售后退换货包邮优惠活动红券课程老师班群聊天早晚谢请问吗呢吧啊哦嗯呀哈好棒赞会计税票报销账社保公积金注册"
    "公司个体户小规模一般纳税人申报季度年度汇算清缴开具专用普通电子纸质丢失补办流程材料资料时间地点直播回放链接"
    "朋友孩子学校考试作业成绩家长周末旅游吃饭喝茶咖啡超市外卖快递物流发货收到质量颜色尺码大小便宜贵划算推荐分享"
)
PUNCT = "，。！？、 ~…"
SPLITTERS = (" ", "·", "-", " ", "*")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object (progress goes to stderr)")
    p.add_argument("--messages", type=int, default=100_000, help="messages for the keyword path (default 100,000)")
    p.add_argument("--naive-messages", type=int, default=2_000,
                   help="messages for the naive per-word loop (default 2,000; it is ~1,000x slower)")
    p.add_argument("--similarity-messages", type=int, default=5_000,
                   help="messages for the BM25 similarity path (default 5,000)")
    p.add_argument("--sensitive-words", type=int, default=10_000)
    p.add_argument("--faq-keywords", type=int, default=1_000)
    p.add_argument("--faq-entries", type=int, default=1_000, help="FAQ questions for the similarity index")
    p.add_argument("--seed", type=int, default=20261102)


# ---------------------------------------------------------------------------------------------------- workload


def _words(rng: random.Random, n: int, taken: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        w = "".join(rng.choice(COMMON) for _ in range(rng.choice((2, 3, 3, 4, 4, 5))))
        if w not in taken:
            taken.add(w)
            out.append(w)
    return out


def _sentence(rng: random.Random, lo: int, hi: int) -> str:
    n = rng.randint(lo, hi)
    chars = [rng.choice(COMMON) for _ in range(n)]
    for _ in range(n // 8):
        chars.insert(rng.randrange(len(chars) + 1), rng.choice(PUNCT))
    return "".join(chars)


def _spread(rng: random.Random, word: str) -> str:
    """How spammers dodge filters: 加 微 信, 加·微·信."""
    sep = rng.choice(SPLITTERS)
    return sep.join(word)


def workload(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    taken: set[str] = set()
    sensitive = _words(rng, args.sensitive_words, taken)
    complaint = ["投诉", "退款", "骗子", "差评", "维权", "举报"]
    taken.update(complaint)
    faq_kw = _words(rng, args.faq_keywords, taken)
    questions = []
    for i in range(args.faq_entries):
        topic = faq_kw[i % len(faq_kw)]
        questions.append(rng.choice(("{}怎么办理", "{}需要什么材料", "请问{}多少钱", "{}什么时候截止",
                                     "{}在哪里查询", "{}的流程是什么")).format(topic) + _sentence(rng, 0, 4))

    def message() -> str:
        r = rng.random()
        base = _sentence(rng, 6, 40)
        if r < 0.02:
            w = rng.choice(sensitive)
            base = base[: len(base) // 2] + (_spread(rng, w) if rng.random() < 0.5 else w) + base[len(base) // 2:]
        elif r < 0.07:
            base = base + rng.choice(faq_kw) + rng.choice(("怎么弄", "？", "呢"))
        elif r < 0.08:
            base = base + rng.choice(complaint)
        elif r < 0.10:
            base = base + rng.choice((" https://t.cn/A6x", " www.shop-deal.com/x", " [小程序]", " [名片]"))
        elif r < 0.12:
            base = base.replace("的", "ｄｅ") + " ＶＩＰ２０２６"
        return base

    messages = [message() for _ in range(args.messages)]
    sim_messages = [rng.choice(questions)[:8] + _sentence(rng, 2, 10) if rng.random() < 0.3 else _sentence(rng, 6, 30)
                    for _ in range(args.similarity_messages)]
    return {"sensitive": sensitive, "complaint": complaint, "faq_keywords": faq_kw, "questions": questions,
            "messages": messages, "sim_messages": sim_messages}


# ---------------------------------------------------------------------------------------------------- phases


def _timed(fn: Any, items: list[str]) -> tuple[float, float, int]:
    t0, c0 = time.perf_counter(), time.process_time()
    hits = fn(items)
    return time.perf_counter() - t0, time.process_time() - c0, hits


def run(args: argparse.Namespace, say: Any) -> dict[str, Any]:
    from siyu.engagement import matching

    wl = workload(args)
    out: dict[str, Any] = {"words.sensitive": len(wl["sensitive"]), "words.complaint": len(wl["complaint"]),
                           "words.faq_keywords": len(wl["faq_keywords"])}
    t0 = time.perf_counter()
    lists = [matching.WordListInfo(1, "sensitive", "warn", "moderation"),
             matching.WordListInfo(2, "complaint", "warn", "complaint")]
    faqs = [matching.FaqInfo(i + 1, None, q, f"answer {i}") for i, q in enumerate(wl["questions"])]
    kw = {i + 1: [k] for i, k in enumerate(wl["faq_keywords"][: len(faqs)])}
    ms = matching.MatchSet(lists, {1: wl["sensitive"], 2: wl["complaint"]}, faqs, kw,
                           [(f.id, f.question) for f in faqs])
    out["build.seconds"] = round(time.perf_counter() - t0, 3)
    say(f"built the automaton ({ms.keywords.size:,} words) and the BM25 index ({len(ms.similarity):,} questions) "
        f"in {out['build.seconds']:.2f}s")

    def siyu_path(items: list[str]) -> int:
        n = 0
        scan = ms.scan
        for text in items:
            s = scan(text)
            n += len(s.moderation) + len(s.complaint) + len(s.faq) + len(s.links()) + len(s.contacts())
        return n

    every_word = [matching.normalize(w) for w in wl["sensitive"] + wl["complaint"] + wl["faq_keywords"]]

    def naive_path(items: list[str]) -> int:
        n = 0
        for text in items:
            t = matching.normalize(text)
            for w in every_word:  # LinkWeChat: every word, `contains`, per message
                if w in t:
                    n += 1
        return n

    siyu_path(wl["messages"][:1000])  # warm-up
    secs, cpu, hits = _timed(siyu_path, wl["messages"])
    n = len(wl["messages"])
    out.update({"keyword.messages": n, "keyword.seconds": round(secs, 3), "keyword.cpu_seconds": round(cpu, 3),
                "keyword.messages_per_s": round(n / secs) if secs else 0, "keyword.hits": hits,
                "keyword.us_per_message": round(secs / n * 1e6, 2) if n else None})
    say(f"siyu keyword path: {n:,} messages in {secs:.2f}s = {out['keyword.messages_per_s']:,}/s ({hits:,} hits)")

    naive = wl["messages"][: args.naive_messages]
    secs, cpu, _ = _timed(naive_path, naive)
    out.update({"naive.messages": len(naive), "naive.seconds": round(secs, 3), "naive.cpu_seconds": round(cpu, 3),
                "naive.messages_per_s": round(len(naive) / secs) if secs else 0})
    say(f"naive per-word loop: {len(naive):,} messages in {secs:.2f}s = {out['naive.messages_per_s']:,}/s")
    out["speedup"] = round(out["keyword.messages_per_s"] / out["naive.messages_per_s"], 1) \
        if out["naive.messages_per_s"] else None

    # Same answers: on the naive subset, the automaton finds exactly the words the loop finds.
    word_set = set(every_word)
    mismatches = 0
    for text in naive:
        s = ms.scan(text)
        found = {matching.normalize(t.word) for t in s.moderation + s.complaint + s.faq}
        t = matching.normalize(text)
        if found != {w for w in word_set if w in t}:
            mismatches += 1
    out["agreement.mismatches"] = mismatches

    sims = wl["sim_messages"]
    ms.similarity.scores(sims[0])
    t0, c0 = time.perf_counter(), time.process_time()
    answered = 0
    for text in sims:
        m = ms.faq(text, community_id=None)
        answered += m is not None and m.score >= 0.45
    secs = time.perf_counter() - t0
    out.update({"similarity.messages": len(sims), "similarity.seconds": round(secs, 3),
                "similarity.cpu_seconds": round(time.process_time() - c0, 3),
                "similarity.messages_per_s": round(len(sims) / secs) if secs else 0,
                "similarity.questions": len(ms.similarity), "similarity.answered": int(answered)})
    say(f"similarity path (keywords + BM25 over {len(ms.similarity):,} questions): {len(sims):,} messages in "
        f"{secs:.2f}s = {out['similarity.messages_per_s']:,}/s")
    return out


def _one_core() -> bool:
    """Pin this process to one CPU and keep numpy's pools single-threaded: the figure is per core."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    except (AttributeError, OSError):
        return False
    return True


def main(args: argparse.Namespace) -> int:
    pinned = _one_core()
    console_err = Console(stderr=args.json)

    def say(msg: str) -> None:
        console_err.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {msg}", highlight=False)

    result: dict[str, Any] = {
        "meta.started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "meta.cpus": os.cpu_count(),
        "meta.loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "meta.python": platform.python_version(),
        "meta.seed": args.seed,
        "meta.pinned_to_one_cpu": pinned,
    }
    failures: list[str] = []
    try:
        result.update(run(args, say))
    except Exception as exc:  # keep what was measured, say what broke
        failures.append(f"{type(exc).__name__}: {exc}")
    if result.get("agreement.mismatches"):
        failures.append(f"the automaton and the naive loop disagree on {result['agreement.mismatches']} messages")
    result["meta.loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    targets = {k: {"target": t, "measured": result[k], "met": result[k] >= t}
               for k, t in TARGETS.items() if k in result}
    result["targets"] = targets
    result["targets_met"] = bool(targets) and all(t["met"] for t in targets.values())
    result["failures"] = failures
    result["ok"] = not failures

    if args.json:
        sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0 if result["ok"] else 1
    console = Console(width=None if sys.stdout.isatty() else 150)
    t = Table(title=f"siyu match — {result.get('words.sensitive', 0):,} sensitive words, "
                    f"{result.get('words.faq_keywords', 0):,} FAQ keywords, one core")
    for col in ("path", "messages", "seconds", "messages/s", "vs naive", "target"):
        t.add_column(col, justify="left" if col == "path" else "right")
    rows = (("naive per-word `in` loop (LinkWeChat style)", "naive"),
            ("siyu keywords: normalise + Aho-Corasick + links + contacts", "keyword"),
            ("siyu FAQ similarity: BM25 char n-grams", "similarity"))
    for label, key in rows:
        if f"{key}.messages_per_s" not in result:
            continue
        target = TARGETS.get(f"{key}.messages_per_s")
        verdict = ""
        if target:
            verdict = f"≥ {target:,} " + ("[green]met[/]" if result[f"{key}.messages_per_s"] >= target
                                          else "[bold red]MISSED[/]")
        ratio = {"naive": "1", "keyword": f"{result.get('speedup')}x"}.get(key, "")
        t.add_row(label, f"{result[f'{key}.messages']:,}", f"{result[f'{key}.seconds']:.2f}",
                  f"{result[f'{key}.messages_per_s']:,}", ratio, verdict)
    console.print(t)
    console.print(f"Same hits as the naive loop on its {result.get('naive.messages', 0):,} messages: "
                  f"{'yes' if not result.get('agreement.mismatches') else 'NO'}. Index build "
                  f"{result.get('build.seconds')}s. Load average {result['meta.loadavg_start']} → "
                  f"{result['meta.loadavg_end']} on {result['meta.cpus']} CPUs.")
    for f in failures:
        console.print(f"[bold red]failure[/]: {f}")
    return 0 if result["ok"] else 1
