"""Builds data/skills.jsonl from the curated category files in data/tools/taxonomy/*.txt.

Run from the repository root: `.venv/bin/python data/tools/build_taxonomy.py`. It refuses to write a taxonomy
with a duplicate name or alias, an alias that is a stop word or a generic noise word (unless the term is marked
as guarded), or a marker it does not know. File syntax is described at the top of 01_programming_languages.txt
and in data/README.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from spacy.lang.en.stop_words import STOP_WORDS

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from services.ner.core import NOISE_TERMS  # noqa: E402  (needs the repository root on sys.path)

SOURCE_DIR = Path(__file__).resolve().parent / "taxonomy"
OUTPUT = ROOT / "data" / "skills.jsonl"


def parse_term(raw: str) -> tuple[str, str]:
    """Splits a term into its text and its marker: "" (any case), "~" (exact case) or "!" (guarded)."""
    raw = raw.strip()
    if raw[:1] in {"~", "!"}:
        return raw[1:].strip(), raw[0]
    return raw, ""


def build() -> list[dict[str, object]]:
    """Reads every category file, validates, and returns the skills in file order."""
    skills: list[dict[str, object]] = []
    owner: dict[str, str] = {}
    errors: list[str] = []
    for path in sorted(SOURCE_DIR.glob("*.txt")):
        category = ""
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            where = f"{path.name}:{number}"
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("@"):
                category = line[1:].strip()
                continue
            if not category:
                errors.append(f"{where}: skill before any '@ Category' line")
                continue
            terms = [parse_term(part) for part in line.split("|") if part.strip()]
            name = terms[0][0]
            aliases: list[str] = []
            exact: list[str] = []
            guarded: list[str] = []
            for text, marker in terms:
                key = text.casefold()
                if key in owner and owner[key] != name:
                    errors.append(f"{where}: {text!r} already belongs to {owner[key]!r}")
                    continue
                if key in owner:
                    continue  # the same term twice on one line, e.g. "npm | NPM"
                if marker != "!" and (key in STOP_WORDS or key in NOISE_TERMS):
                    errors.append(f"{where}: {text!r} is a stop word or noise word; mark it '!' or drop it")
                owner[key] = name
                if text != name:
                    aliases.append(text)
                if marker == "~":
                    exact.append(text)
                elif marker == "!":
                    guarded.append(text)
            entry: dict[str, object] = {"name": name, "category": category, "aliases": aliases}
            if exact:
                entry["exact_case"] = exact
            if guarded:
                entry["guarded"] = guarded
            skills.append(entry)
    if errors:
        raise SystemExit("taxonomy has errors:\n" + "\n".join(errors))
    return skills


def main() -> None:
    skills = build()
    with OUTPUT.open("w", encoding="utf-8") as handle:
        for entry in skills:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
    sys.stderr.write(f"wrote {len(skills)} skills to {OUTPUT}\n")


if __name__ == "__main__":
    main()
