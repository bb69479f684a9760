"""Finding and reading playbook files: the shipped ones (this folder) and any file path an operator gives."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from siyu.kit.errors import Invalid, NotFound
from siyu.playbooks.schema import Playbook

SHIPPED = Path(__file__).resolve().parent


def shipped() -> list[Playbook]:
    return [load(p) for p in sorted(SHIPPED.glob("*.yaml"))]


def parse(text: str, origin: str = "<text>") -> Playbook:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise Invalid(f"{origin}: not valid YAML: {exc}", code="playbook_yaml") from None
    if not isinstance(data, dict):
        raise Invalid(f"{origin}: a playbook is a mapping with name, version, title …", code="playbook_invalid")
    try:
        return Playbook.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = ".".join(str(p) for p in e.get("loc", ()))
            problems.append(f"{loc}: {e.get('msg')}" if loc else str(e.get("msg")))
        raise Invalid(f"{origin}: " + "; ".join(problems), code="playbook_invalid", detail=problems) from None


def load(path: Path) -> Playbook:
    return parse(path.read_text(encoding="utf-8"), path.name)


def find(name_or_path: str) -> Playbook:
    """A shipped playbook by name, or a YAML file by path."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return load(p)
    for pb in shipped():
        if pb.name == name_or_path:
            return pb
    raise NotFound(f"no playbook named {name_or_path!r} (shipped: {', '.join(b.name for b in shipped())})",
                   code="playbook_not_found")
