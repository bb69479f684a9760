"""What siyu posts in the group for each interaction (Chinese: the groups are Chinese-speaking).

Member nicknames and notes go into chat messages as plain text; the console escapes them when it shows them.
"""

from __future__ import annotations

from typing import Any

from siyu.engagement.interaction.triggers import label
from siyu.models import Interaction

MAX_LIST = 100


def _head(tag: str, ia: Interaction) -> str:
    return f"【{tag}】{ia.title}"


def _remaining(ia: Interaction, count: int) -> str:
    stock = ia.config.get("stock")
    if not stock:
        return ""
    left = max(0, int(stock) - count)
    return " · 已售罄" if left == 0 else f" · 仅剩 {left} 份"


def _roster(rows: list[tuple[str, str]]) -> list[str]:
    lines = [f"{i}. {name}{f'（{note}）' if note else ''}" for i, (name, note) in enumerate(rows[:MAX_LIST], 1)]
    if len(rows) > MAX_LIST:
        lines.append(f"…… 共 {len(rows)} 人")
    return lines


def opening(ia: Interaction) -> str:
    cfg = ia.config
    intro = [cfg["intro"]] if cfg.get("intro") else []
    if ia.kind == "solitaire":
        stock = f"限量 {cfg['stock']} 份，" if cfg.get("stock") else ""
        body = [f"{stock}回复「接龙」或「+1」参与，可写「#接龙 备注」注明规格/数量。"]
        return "\n".join([_head("接龙", ia), *intro, *body])
    if ia.kind == "draw":
        body = [f"回复「{cfg['keyword']}」参与抽奖，共 {cfg['winners']} 个名额。",
                "把你的专属分享链接发给好友，好友点开后你多一次中奖机会。"]
        return "\n".join([_head("抽奖", ia), *intro, *body])
    if ia.kind in ("quiz", "poll"):
        opts = [f"{label(i)}. {o}" for i, o in enumerate(ia.options)]
        how = ("回复选项字母或数字作答，以第一次回答为准。" if ia.kind == "quiz"
               else "回复选项字母或数字投票，可改票，以最后一次为准。")
        return "\n".join([_head("答题" if ia.kind == "quiz" else "投票", ia), *intro, *opts, how])
    return "\n".join([_head("掷骰子", ia), *intro,
                      f"回复「掷骰子」或「/dice」试试手气，每人 {cfg.get('rolls_per_member', 1)} 次，点数最大者胜。"])


def live(ia: Interaction, rows: list[tuple[str, str]]) -> str:
    count = len(rows)
    return "\n".join([_head("接龙", ia), f"已接龙 {count} 人{_remaining(ia, count)}", *_roster(rows),
                      "回复「接龙」或「+1」参与"])


def closed(ia: Interaction, result: dict[str, Any], names: dict[int, str]) -> str:
    reason = result.get("reason", "closed")
    if ia.kind == "solitaire":
        rows = [(names.get(cid, str(cid)), note) for cid, note in result.get("roster", [])]
        status = "已售罄" if reason == "sold_out" else "已截止"
        return "\n".join([_head("接龙结束", ia), f"{status}，共 {len(rows)} 人接龙{_remaining(ia, len(rows))}",
                          *_roster(rows), "感谢参与！"])
    if ia.kind == "draw":
        winners = [names.get(cid, str(cid)) for cid in result.get("winners", [])]
        if not winners:
            return "\n".join([_head("抽奖结束", ia), "本次无人参与，未抽出中奖者。"])
        lines = [f"{i}. {n}" for i, n in enumerate(winners, 1)]
        return "\n".join([_head("中奖名单", ia), *lines,
                          f"共 {result.get('entries', 0)} 人参与，随机种子 {result.get('seed')}，结果可复核。"])
    if ia.kind in ("quiz", "poll"):
        counts = result.get("counts", [])
        unit = "人" if ia.kind == "quiz" else "票"
        lines = [f"{label(i)}. {o} — {counts[i] if i < len(counts) else 0} {unit}" for i, o in enumerate(ia.options)]
        if ia.kind == "poll":
            return "\n".join([_head("投票结果", ia), *lines, f"共 {result.get('entries', 0)} 人投票。"])
        right = int(result.get("correct", 1)) - 1
        who = [names.get(cid, str(cid)) for cid in result.get("correct_contacts", [])]
        tail = f"答对 {len(who)} 人：{'、'.join(who[:MAX_LIST])}" if who else "本题无人答对。"
        return "\n".join([_head("答题结果", ia), f"正确答案：{label(right)}. {ia.options[right]}", *lines, tail])
    top = [names.get(cid, str(cid)) for cid in result.get("top_contacts", [])]
    if not top:
        return "\n".join([_head("掷骰子结束", ia), "本次无人掷骰子。"])
    return "\n".join([_head("掷骰子结束", ia), f"最大 {result.get('max')} 点：{'、'.join(top)}",
                      f"共 {result.get('rolls', 0)} 次投掷。"])


def rolled(name: str, roll: int) -> str:
    return f"🎲 {name} 掷出了 {roll} 点"
