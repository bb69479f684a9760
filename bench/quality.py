"""The matching-quality benchmark: FAQ answers (C8) and moderation (C7) on labelled sets of messages written the
way members write (`bench/data/faq.yaml`, `bench/data/moderation.yaml`).

It runs exactly what live messages go through, without a database: the workspace's `MatchSet` built from the
sets' library and word lists, `MatchSet.faq` + `faq.service.outcome` with the default FAQ settings (an answer is
an automatic reply; a suggestion to staff is not), and `MatchSet.moderate` with the allowed terms
`moderation.service.allowed_terms` gives a community (the default rules plus the community's own list).

The held-out files (`faq_holdout.yaml`, `moderation_holdout.yaml`) were written after the matcher was tuned on the
main sets and are reported beside them (`holdout.*`), never tuned on.

Figures: `faq_precision` (automatic answers that are the right entry / all automatic answers), `faq_recall`
(messages that should be answered and got the right entry / all such messages), `moderation_detection` (spam
flagged / spam), `moderation_false_positive` (normal messages flagged / normal messages), each also per category,
and `faq_scope_drift`: the largest change of any score when the other community's entries are taken out of the
library (0: scores are per community).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import yaml
from rich.console import Console
from rich.table import Table

DATA = Path(__file__).resolve().parent / "data"
TARGETS = {"faq_recall": (">=", 0.90), "faq_precision": (">=", 0.97), "moderation_detection": (">=", 0.95),
           "moderation_false_positive": ("<=", 0.02)}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--data", type=Path, default=DATA, help="folder with faq.yaml and moderation.yaml")
    p.add_argument("--misses", action="store_true", help="list every message the matcher got wrong")


# ---------------------------------------------------------------------------------------------------- FAQ


def _faq_library(data: dict[str, Any], only: set[str | None] | None = None) -> tuple[Any, dict[str, int],
                                                                                      dict[str, int]]:
    """The MatchSet of the FAQ set's library (community names → ids 1, 2, …), optionally only some communities."""
    from siyu.engagement import matching

    community_ids = {name: i + 1 for i, name in enumerate(data["communities"])}
    faqs, keywords, texts, entry_ids = [], {}, [], {}
    for i, e in enumerate(data["entries"]):
        if only is not None and e.get("community") not in only:
            continue
        eid = i + 1
        entry_ids[e["key"]] = eid
        cid = community_ids[e["community"]] if e.get("community") else None
        faqs.append(matching.FaqInfo(eid, cid, e["question"], e["answer"]))
        keywords[eid] = list(e.get("keywords") or [])
        texts.append((eid, e["question"]))
        texts.extend((eid, v) for v in e.get("variants") or [])
    return matching.MatchSet([], {}, faqs, keywords, texts), community_ids, entry_ids


def run_faq(data: dict[str, Any]) -> dict[str, Any]:
    from siyu.engagement.faq import service
    from siyu.engagement.faq.schemas import Config

    cfg = Config()
    ms, community_ids, entry_ids = _faq_library(data)
    key_of = {v: k for k, v in entry_ids.items()}
    answered = right = expected = 0
    per_cat: dict[str, Counter[str]] = {}
    misses: list[dict[str, Any]] = []
    for community, text, want, cat in data["messages"]:
        m = ms.faq(text, community_id=community_ids[community])
        got = key_of[m.entry.id] if m is not None and service.outcome(cfg, m) == "reply" else None
        c = per_cat.setdefault(cat, Counter())
        c["messages"] += 1
        if want is not None:
            expected += 1
        if got is not None:
            answered += 1
            right += got == want
        ok = got == want
        c["right"] += ok
        if not ok:
            misses.append({"community": community, "text": text, "want": want, "got": got,
                           "score": m.score if m else 0.0, "method": m.method if m else None,
                           "best": key_of[m.entry.id] if m else None, "asks": m.asks if m else None})
    drift = _scope_drift(data, ms, community_ids)
    return {
        "faq_precision": round(right / answered, 4) if answered else 0.0,
        "faq_recall": round(right / expected, 4) if expected else 0.0,
        "faq.messages": len(data["messages"]), "faq.should_answer": expected, "faq.answered": answered,
        "faq.right": right, "faq.entries": len(data["entries"]), "faq_scope_drift": drift,
        "faq.by_category": {k: {"messages": v["messages"], "right": v["right"],
                                "share": round(v["right"] / v["messages"], 3)} for k, v in sorted(per_cat.items())},
        "faq.misses": misses,
    }


def _scope_drift(data: dict[str, Any], ms: Any, community_ids: dict[str, int]) -> float:
    """The largest difference of any similarity score of a community's messages when the library holds only that
    community's and the global entries (0.0: other communities do not shift this one's scores)."""
    drift = 0.0
    for name, cid in community_ids.items():
        alone, _, ids_alone = _faq_library(data, only={None, name})
        full_ids = {e["key"]: i + 1 for i, e in enumerate(data["entries"])}
        remap = {full_ids[k]: v for k, v in ids_alone.items()}
        for community, text, _, _ in data["messages"]:
            if community != name:
                continue
            full = ms.similarity_for(cid).scores(text)
            part = alone.similarity_for(cid).scores(text)
            for eid, score in full.items():
                drift = max(drift, abs(score - part.get(remap.get(eid, -1), 0.0)))
    return round(drift, 6)


# ---------------------------------------------------------------------------------------------------- moderation


def run_moderation(data: dict[str, Any]) -> dict[str, Any]:
    from siyu.engagement import matching
    from siyu.engagement.moderation import service
    from siyu.engagement.normalize import DEFAULT_ALLOWED

    lists = [matching.WordListInfo(i + 1, wl["name"], wl.get("severity", "warn"), "moderation")
             for i, wl in enumerate(data["word_lists"])]
    words = {i + 1: list(wl["words"]) for i, wl in enumerate(data["word_lists"])}
    ms = matching.MatchSet(lists, words, [], {}, [])
    allowed_by = {name: service.allowed_terms(DEFAULT_ALLOWED, terms)
                  for name, terms in (data.get("allowed") or {}).items()}
    spam = caught = normal = flagged = 0
    per_cat: dict[str, Counter[str]] = {}
    misses: list[dict[str, Any]] = []
    for community, text, is_spam, cat in data["messages"]:
        allowed = allowed_by.get(community) or service.allowed_terms(DEFAULT_ALLOWED)
        found = ms.moderate(ms.scan(text), allowed=allowed)
        hit = bool(found)
        c = per_cat.setdefault(cat, Counter())
        c["messages"] += 1
        c["flagged"] += hit
        if is_spam:
            spam += 1
            caught += hit
        else:
            normal += 1
            flagged += hit
        if hit != is_spam:
            misses.append({"community": community, "text": text, "spam": is_spam,
                           "found": [(f.rule, f.evidence) for f in found]})
    return {
        "moderation_detection": round(caught / spam, 4) if spam else 0.0,
        "moderation_false_positive": round(flagged / normal, 4) if normal else 0.0,
        "moderation.spam": spam, "moderation.caught": caught, "moderation.normal": normal,
        "moderation.flagged": flagged,
        "moderation.by_category": {k: {"messages": v["messages"], "flagged": v["flagged"]}
                                   for k, v in sorted(per_cat.items())},
        "moderation.misses": misses,
    }


# ---------------------------------------------------------------------------------------------------- main


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        data: dict[str, Any] = yaml.safe_load(f)
    return data


def _holdout(args: argparse.Namespace, faq_data: dict[str, Any], mod_data: dict[str, Any]) -> dict[str, Any]:
    """The same figures on the held-out messages (written after the matcher was tuned, never tuned on)."""
    out: dict[str, Any] = {}
    for name, base, run_set, keys in (
            ("faq_holdout.yaml", faq_data, run_faq, ("faq_precision", "faq_recall", "faq.misses")),
            ("moderation_holdout.yaml", mod_data, run_moderation,
             ("moderation_detection", "moderation_false_positive", "moderation.misses"))):
        path = args.data / name
        if not path.exists():
            continue
        messages = _load(path)["messages"]
        res = run_set({**base, "messages": messages})
        out.update({f"holdout.{k}": res[k] for k in keys})
        out[f"holdout.{name.split('_')[0]}.messages"] = len(messages)
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    faq_data, mod_data = _load(args.data / "faq.yaml"), _load(args.data / "moderation.yaml")
    out: dict[str, Any] = {"messages": len(faq_data["messages"]) + len(mod_data["messages"])}
    out.update(run_faq(faq_data))
    out.update(run_moderation(mod_data))
    out.update(_holdout(args, faq_data, mod_data))
    targets = {}
    for key, (op, bound) in TARGETS.items():
        v = out[key]
        targets[key] = {"target": f"{op} {bound}", "measured": v, "met": v >= bound if op == ">=" else v <= bound}
    out["targets"] = targets
    out["targets_met"] = all(t["met"] for t in targets.values())
    return out


def main(args: argparse.Namespace) -> int:
    result = run(args)
    if args.json:
        if not args.misses:
            for k in [k for k in result if k.endswith("misses")]:
                result.pop(k)
        sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    console = Console(width=None if sys.stdout.isatty() else 150)
    held = result.get("holdout.faq.messages", 0) + result.get("holdout.moderation.messages", 0)
    t = Table(title=f"siyu quality — {result['messages']} labelled messages "
                    f"({result['faq.messages']} FAQ, {result['moderation.spam'] + result['moderation.normal']} "
                    f"moderation) + {held} held out")
    for col in ("figure", "measured", "target", ""):
        t.add_column(col, justify="left" if col == "figure" else "right")
    for key, tgt in result["targets"].items():
        verdict = "[green]met[/]" if tgt["met"] else "[bold red]MISSED[/]"
        t.add_row(key, f"{tgt['measured']:.3f}", tgt["target"], verdict)
    t.add_row("faq_scope_drift", f"{result['faq_scope_drift']:.4f}", "0", "")
    for key in ("faq_precision", "faq_recall", "moderation_detection", "moderation_false_positive"):
        if f"holdout.{key}" in result:
            t.add_row(f"held out: {key}", f"{result[f'holdout.{key}']:.3f}", "", "")
    console.print(t)
    cats = Table(title="by category")
    for col in ("set", "category", "messages", "right / flagged"):
        cats.add_column(col)
    for k, v in result["faq.by_category"].items():
        cats.add_row("faq", k, str(v["messages"]), f"{v['right']} right")
    for k, v in result["moderation.by_category"].items():
        cats.add_row("moderation", k, str(v["messages"]), f"{v['flagged']} flagged")
    console.print(cats)
    if args.misses:
        for m in result["faq.misses"]:
            console.print(f"[yellow]faq[/] {m}", highlight=False)
        for m in result["moderation.misses"]:
            console.print(f"[yellow]moderation[/] {m}", highlight=False)
        for m in result.get("holdout.faq.misses", []) + result.get("holdout.moderation.misses", []):
            console.print(f"[yellow]held out[/] {m}", highlight=False)
    return 0
