"""How far two careful readers agree, and so how high any reader of the texts can score against the gold labels.

Sixteen dev pairs (one per field) were labelled again by two readers who had only the labelling guide (data/README.md,
"How they were labelled") and the two texts: not the gold labels, the vocabulary, the code or anything the system
outputs. Their labellings are in tests/data/eval/agreement/<reader>.jsonl: per pair, the job skills (name, aka,
required) and the missing skills, in the format of the pair files.

Each labelling is scored against the gold as the system is scored (`scoring.match_skills`: a predicted name hits a
gold skill when it is one of the gold skill's written forms), and leniently (a hit when any written form of one is a
written form of the other). The first figure is the one to read the system's against: a reader who names a skill
"G-code editing" where the gold says "G-code" is scored like the system is.

    python -m tests.eval.agreement [--system]

`--system` also runs the same pairs through the real stack (as `make eval` does) and scores its answers the same way;
its written forms, for the lenient figure, are each skill's spellings in the vocabulary (data/skills.jsonl).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from services.common.settings import REPO_ROOT
from services.common.taxonomy import Taxonomy, load_taxonomy
from tests.eval.dataset import EVAL_DIR, EvalPair, EvalSetError, GoldSkill, load_split, parse_skill
from tests.eval.scoring import Counts, match_skills, maximum_matching, normalise

AGREEMENT_DIR = EVAL_DIR / "agreement"


@dataclass(frozen=True)
class Labels:
    """One reader's labels of one pair: the job skills and, among them, those the resume does not show."""

    job_skills: tuple[GoldSkill, ...]
    missing_skills: tuple[GoldSkill, ...]


Labelling = Mapping[str, Labels]  # pair id -> labels


def _labels(raw: object) -> tuple[str, Labels]:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not isinstance(raw.get("job_skills"), list):
        raise TypeError("a labelling line must be an object with an id and job_skills")
    skills = [parse_skill(skill, job=True) for skill in raw["job_skills"]]
    missing = raw.get("missing_skills")
    if not isinstance(missing, list) or not set(missing) <= {s.name for s in skills}:
        raise ValueError("missing_skills must be a list of the pair's job skill names")
    return raw["id"], Labels(tuple(skills), tuple(s for s in skills if s.name in set(missing)))


def load_labelling(path: Path) -> dict[str, Labels]:
    """One reader's file; raises EvalSetError naming the line of a malformed one."""
    found: dict[str, Labels] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            pair_id, labels = _labels(json.loads(line))
        except (ValueError, KeyError, TypeError) as exc:
            raise EvalSetError(f"{path}:{number}: bad labelling: {exc!r}") from exc
        found[pair_id] = labels
    return found


def readers(directory: Path = AGREEMENT_DIR) -> dict[str, dict[str, Labels]]:
    """Every reader's labelling, by reader (the file's name)."""
    return {path.stem: load_labelling(path) for path in sorted(directory.glob("*.jsonl"))}


def gold_labelling(pairs: Iterable[EvalPair]) -> dict[str, Labels]:
    return {pair.id: Labels(pair.job_skills, pair.missing_skills) for pair in pairs}


def any_form_counts(predicted: Sequence[GoldSkill], gold: Sequence[GoldSkill]) -> Counts:
    """Hits when any written form of a predicted skill is a written form of a gold skill; each gold skill is hit
    at most once (a maximum matching, as `match_skills`)."""
    predicted_forms = [{normalise(form) for form in skill.forms} for skill in predicted]
    gold_forms = [{normalise(form) for form in skill.forms} for skill in gold]
    owner = maximum_matching([[g for g, forms in enumerate(gold_forms) if mine & forms] for mine in predicted_forms])
    return Counts(tp=len(owner), fp=len(predicted) - len(owner), fn=len(gold) - len(owner))


def compare(predicted: Labelling, gold: Labelling) -> dict[str, Counts]:
    """Counts summed over the pairs both labelled: job and missing skills, by name and by any form."""
    totals = {key: Counts() for key in ("job_names", "job_forms", "gap_names", "gap_forms")}
    for pair_id in sorted(predicted.keys() & gold.keys()):
        mine, theirs = predicted[pair_id], gold[pair_id]
        for what, ours, gold_skills in (
            ("job", mine.job_skills, theirs.job_skills),
            ("gap", mine.missing_skills, theirs.missing_skills),
        ):
            totals[f"{what}_names"] += match_skills([s.name for s in ours], gold_skills).counts
            totals[f"{what}_forms"] += any_form_counts(ours, gold_skills)
    return totals


def format_rows(rows: Sequence[tuple[str, dict[str, Counts]]]) -> str:
    lines = [
        "| labels scored | against | job P | job R | job F1 | job F1, any form"
        " | gap P | gap R | gap F1 | gap F1, any form |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, c in rows:
        scored, against = name.split(" vs ")
        job, gap = c["job_names"], c["gap_names"]
        lenient = [f"{c[k].f1:.3f}" if k in c else "-" for k in ("job_forms", "gap_forms")]
        lines.append(
            f"| {scored} | {against} | {job.precision:.3f} | {job.recall:.3f} | {job.f1:.3f} | {lenient[0]}"
            f" | {gap.precision:.3f} | {gap.recall:.3f} | {gap.f1:.3f} | {lenient[1]} |"
        )
    return "\n".join(lines)


def as_labelled(name: str, vocabulary: Taxonomy) -> GoldSkill:
    """A skill the system named, with its other spellings in the vocabulary as its aka."""
    skill = vocabulary.lookup(name)
    return GoldSkill(name, skill.aliases if skill is not None and skill.name == name else ())


async def system_labelling(pairs: Sequence[EvalPair]) -> dict[str, Labels]:
    """The system's answers on the pairs, through the real stack, as labels."""
    from tests.eval.runner import running_stack

    async with running_stack() as stack:
        outcomes = await stack.run(pairs)
    failed = {o.pair_id: o.error for o in outcomes if o.error}
    if failed:
        raise RuntimeError(f"pairs that did not run: {failed}")
    vocabulary = load_taxonomy(REPO_ROOT / "data" / "skills.jsonl")
    return {
        o.pair_id: Labels(
            tuple(as_labelled(name, vocabulary) for name in o.job_skills),
            tuple(as_labelled(name, vocabulary) for name in o.skill_gap),
        )
        for o in outcomes
    }


def agreement_rows(with_system: bool = False) -> list[tuple[str, dict[str, Counts]]]:
    found = readers()
    ids = set.intersection(*(set(labels) for labels in found.values())) if found else set()
    pairs = [pair for pair in load_split("dev") if pair.id in ids]
    gold = gold_labelling(pairs)
    rows = [(f"{name} vs gold", compare(labels, gold)) for name, labels in found.items()]
    names = list(found)
    rows += [(f"{b} vs {a}", compare(found[b], found[a])) for i, a in enumerate(names) for b in names[i + 1 :]]
    if with_system:
        rows.append(("system vs gold", compare(asyncio.run(system_labelling(pairs)), gold)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--system", action="store_true", help="also run the pairs through the stack and score it")
    args = parser.parse_args(argv)
    rows = agreement_rows(with_system=args.system)
    if not rows:
        print(f"no labellings under {AGREEMENT_DIR}", file=sys.stderr)
        return 2
    print(format_rows(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
