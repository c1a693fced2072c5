"""Builds data/courses.jsonl, the bundled course catalog, from the curated sources in data/tools/catalog/.

Run from the repository root: `.venv/bin/python data/tools/build_catalog.py` (writes data/courses.jsonl and the
figures block of data/README.md; the output is deterministic). `--check` validates the sources and reports whether
the written files are current, writing nothing; `--next-id` prints the first free course id.

One source file per field, `data/tools/catalog/<field>.txt`; one course per line, nine columns split by " | ":

    id | title | provider | level | hours | skills | url | evidence | description

- `id`: `crs-NNNN`, unique across all files (ids are stable: never reuse or renumber one).
- `level`: beginner, intermediate or advanced; `hours`: typical effort, 1 to 500.
- `skills`: the skills the course teaches, separated by ";", written as resumes and job ads write them.
- `url`: `course <https URL>` for the course's own page, `catalog <https URL>` for the provider's page listing the
  courses of that topic or certification, or `search <query>` for the provider's own search page for that query
  (built from the provider's search address below). Every host must belong to the provider's domains.
- `evidence`: how the address was confirmed without visiting it (this machine is offline): `listed` (in a public
  scrape of the provider's catalog), `cited` (the exact address found in public repositories), `stored` (a stored
  public copy of the page was found), several joined by "+", or `-` (not checked). See data/README.md.

Lines starting with "#" and blank lines are ignored. Every rule is checked and all violations are reported at once.
The written skills are the vocabulary's names (data/skills.jsonl): an alias in a source becomes its canonical name,
so rebuild the catalog whenever the vocabulary changes.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from services.common.catalog import LEVELS, Course, load_catalog, write_catalog  # noqa: E402 - needs the path set above
from services.common.taxonomy import Taxonomy, load_taxonomy  # noqa: E402

SOURCES = ROOT / "data" / "tools" / "catalog"
OUTPUT = ROOT / "data" / "courses.jsonl"
README = ROOT / "data" / "README.md"
TAXONOMY = ROOT / "data" / "skills.jsonl"
FIGURES_BEGIN = "<!-- catalog-figures:begin (written by data/tools/build_catalog.py) -->"
FIGURES_END = "<!-- catalog-figures:end -->"

# The fields a course can serve: slug (the file name and the `field` value) -> what it covers.
FIELDS: dict[str, str] = {
    "healthcare": "Healthcare and nursing",
    "accounting-finance": "Accounting and finance",
    "marketing": "Marketing",
    "sales": "Sales",
    "human-resources": "Human resources",
    "supply-chain-logistics": "Supply chain and logistics",
    "mechanical-manufacturing": "Mechanical engineering and manufacturing",
    "civil-construction": "Civil engineering and construction",
    "education": "Education and teaching",
    "legal": "Legal",
    "design": "Design (UX, graphic, visual)",
    "customer-service": "Customer service and support",
    "hospitality": "Hospitality and food service",
    "general": "Skills of every field: project, product and people management, communication, office tools, languages",
    "software": "Software engineering",
    "data": "Data, analytics and AI",
    "cloud-devops": "Cloud, DevOps, infrastructure and security",
}
URL_KINDS = ("course", "catalog", "search")
EVIDENCE = ("listed", "cited", "stored")
MIN_HOURS, MAX_HOURS = 1, 500


@dataclass(frozen=True)
class Provider:
    """Where a provider's pages live: its own domains, and its search address ("{q}" is the query) if it has one."""

    domains: tuple[str, ...]
    search: str = ""


# Provider -> domains (a URL's host must be one of them or a subdomain) and search address. Search addresses are
# the providers' own public search pages; each was seen in use in public code (see data/README.md).
PROVIDERS: dict[str, Provider] = {
    # MOOC and e-learning platforms
    "Coursera": Provider(("coursera.org",), "https://www.coursera.org/search?query={q}"),
    "edX": Provider(("edx.org",), "https://www.edx.org/search?q={q}"),
    "Udemy": Provider(("udemy.com",), "https://www.udemy.com/courses/search/?q={q}"),
    "LinkedIn Learning": Provider(("linkedin.com",), "https://www.linkedin.com/learning/search?keywords={q}"),
    "FutureLearn": Provider(("futurelearn.com",), "https://www.futurelearn.com/search?q={q}"),
    "OpenLearn": Provider(("open.edu",), "https://www.open.edu/openlearn/search-results?query={q}"),
    "Alison": Provider(("alison.com",), "https://alison.com/courses?query={q}"),
    "Khan Academy": Provider(("khanacademy.org",), "https://www.khanacademy.org/search?page_search_query={q}"),
    "Pluralsight": Provider(("pluralsight.com",), "https://www.pluralsight.com/search?q={q}"),
    "DataCamp": Provider(("datacamp.com",), "https://www.datacamp.com/search?q={q}"),
    "Codecademy": Provider(("codecademy.com",), "https://www.codecademy.com/search?query={q}"),
    "O'Reilly": Provider(("oreilly.com",), "https://www.oreilly.com/search/?q={q}"),
    "MIT OpenCourseWare": Provider(("ocw.mit.edu",), "https://ocw.mit.edu/search/?q={q}"),
    "Udacity": Provider(("udacity.com",)),
    "Stanford Online": Provider(("online.stanford.edu",)),
    "Frontend Masters": Provider(("frontendmasters.com",)),
    "freeCodeCamp": Provider(("freecodecamp.org",)),
    # Vendors' own learning sites (software, data, cloud, design)
    "Microsoft Learn": Provider(("learn.microsoft.com",), "https://learn.microsoft.com/en-us/search/?terms={q}"),
    "Google Cloud Skills Boost": Provider(
        ("cloudskillsboost.google",), "https://www.cloudskillsboost.google/catalog?keywords={q}"
    ),
    "AWS Skill Builder": Provider(("skillbuilder.aws",)),
    "Linux Foundation": Provider(("linuxfoundation.org",), "https://training.linuxfoundation.org/?s={q}"),
    "Interaction Design Foundation": Provider(("interaction-design.org",)),
    "Scrum.org": Provider(("scrum.org",)),
    "SANS Institute": Provider(("sans.org",)),
    "Hack The Box Academy": Provider(("hackthebox.com",)),
    "Databricks Academy": Provider(("databricks.com",)),
    "Confluent Developer": Provider(("confluent.io",)),
    "dbt Learn": Provider(("getdbt.com",)),
    "DeepLearning.AI": Provider(("deeplearning.ai",)),
    "fast.ai": Provider(("fast.ai",)),
    "Hugging Face": Provider(("huggingface.co",)),
    "Kaggle Learn": Provider(("kaggle.com",)),
    "Android Developers": Provider(("developer.android.com",)),
    "Apple Developer": Provider(("developer.apple.com",)),
    "HashiCorp Developer": Provider(("hashicorp.com",)),
    "MongoDB University": Provider(("mongodb.com",)),
    "Salesforce Trailhead": Provider(("trailhead.salesforce.com",)),
    "HubSpot Academy": Provider(("academy.hubspot.com",)),
    "Google Skillshop": Provider(("skillshop.withgoogle.com", "skillshop.exceedlms.com")),
    "Meta Blueprint": Provider(("facebook.com", "facebookblueprint.com")),
    "Semrush Academy": Provider(("semrush.com",)),
    "Autodesk": Provider(("autodesk.com",)),
    "Dassault Systemes SOLIDWORKS": Provider(("solidworks.com",)),
    "Procore": Provider(("procore.com",)),
    "Zendesk": Provider(("zendesk.com",)),
    "Intuit": Provider(("intuit.com",)),
    # Professional bodies and certifiers
    "American Heart Association": Provider(("heart.org",)),
    "American Red Cross": Provider(("redcross.org",)),
    "OSHA": Provider(("osha.gov",)),
    "ServSafe": Provider(("servsafe.com",)),
    "ASCM": Provider(("ascm.org",)),
    "SHRM": Provider(("shrm.org",)),
    "HRCI": Provider(("hrci.org",)),
    "PMI": Provider(("pmi.org",)),
    "AICPA & CIMA": Provider(("aicpa-cima.com", "aicpa.org")),
    "IMA": Provider(("imanet.org",)),
    "CFA Institute": Provider(("cfainstitute.org",)),
    "American Marketing Association": Provider(("ama.org",)),
    "ASQ": Provider(("asq.org",)),
    "ASME": Provider(("asme.org",)),
    "NCCER": Provider(("nccer.org",)),
    "USGBC": Provider(("usgbc.org",)),
    "AAPC": Provider(("aapc.com",)),
    "AHIMA": Provider(("ahima.org",)),
    "CITI Program": Provider(("citiprogram.org",)),
    "OpenWHO": Provider(("openwho.org",)),
    "AHLEI": Provider(("ahlei.org",)),
    "WSET": Provider(("wsetglobal.com",)),
    "Cambridge English": Provider(("cambridgeenglish.org",)),
    "CIPS": Provider(("cips.org",)),
    "ISM": Provider(("ismworld.org",)),
    "NALA": Provider(("nala.org",)),
    "IAPP": Provider(("iapp.org",)),
    "HDI": Provider(("thinkhdi.com",)),
    "Corporate Finance Institute": Provider(("corporatefinanceinstitute.com",)),
}
LINE_COLUMNS = ("id", "title", "provider", "level", "hours", "skills", "url", "evidence", "description")


@dataclass(frozen=True)
class SourceCourse:
    """One validated source line: the course, how its address was made, and how the address was confirmed."""

    course: Course
    url_kind: str
    evidence: str
    where: str


def search_url(provider: Provider, query: str) -> str:
    """The provider's own search page for `query`."""
    return provider.search.replace("{q}", quote(query))


def host_allowed(url: str, provider: Provider) -> bool:
    """True for an https URL whose host is one of the provider's domains or a subdomain of one."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and any(host == d or host.endswith("." + d) for d in provider.domains)


def parse_line(line: str, field: str, where: str, errors: list[str]) -> SourceCourse | None:
    """One source line as a SourceCourse, or None after appending what is wrong with it to `errors`."""
    cells = [cell.strip() for cell in line.split(" | ")]
    if len(cells) != len(LINE_COLUMNS):
        errors.append(f"{where}: {len(cells)} columns, expected {len(LINE_COLUMNS)} ({' | '.join(LINE_COLUMNS)})")
        return None
    ident, title, provider_name, level, hours_text, skills_text, url_text, evidence, description = cells
    problems = []
    if not re.fullmatch(r"crs-\d{4}", ident):
        problems.append(f"id {ident!r} is not crs-NNNN")
    provider = PROVIDERS.get(provider_name)
    if provider is None:
        problems.append(f"unknown provider {provider_name!r} (add it to PROVIDERS with its domains)")
    if level not in LEVELS:
        problems.append(f"level {level!r} is not one of {', '.join(LEVELS)}")
    hours = int(hours_text) if hours_text.isdigit() else 0
    if not MIN_HOURS <= hours <= MAX_HOURS:
        problems.append(f"hours {hours_text!r} is not a whole number in {MIN_HOURS}..{MAX_HOURS}")
    skills = tuple(s.strip() for s in skills_text.split(";") if s.strip())
    if not skills:
        problems.append("no skills")
    elif len({s.casefold() for s in skills}) != len(skills):
        problems.append("a skill is listed twice")
    if not 20 <= len(description) <= 400:
        problems.append("description must be 20 to 400 characters")
    if not title:
        problems.append("no title")
    if evidence != "-" and any(part not in EVIDENCE for part in evidence.split("+")):
        problems.append(f"evidence {evidence!r} is not '-' or a '+'-joined subset of {', '.join(EVIDENCE)}")
    kind, _, target = url_text.partition(" ")
    target = target.strip()
    url = ""
    if kind not in URL_KINDS or not target:
        problems.append(f"url {url_text!r} is not '<{'|'.join(URL_KINDS)}> <address or query>'")
    elif provider is not None:
        if kind == "search":
            if provider.search:
                url = search_url(provider, target)
            else:
                problems.append(f"{provider_name} has no search address: give a course or catalog URL")
        elif not host_allowed(target, provider):
            problems.append(f"{target} is not an https address on {provider_name}'s domains {provider.domains}")
        else:
            url = target
    if problems:
        errors.extend(f"{where}: {problem}" for problem in problems)
        return None
    course = Course(ident, title, provider_name, description, skills, level, hours, url, field)
    return SourceCourse(course, kind, evidence, where)


def read_sources(directory: Path, errors: list[str]) -> list[SourceCourse]:
    """Every course line of every `<field>.txt` in `directory`, in file then line order."""
    found: list[SourceCourse] = []
    for path in sorted(directory.glob("*.txt")):
        field = path.stem
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        if field not in FIELDS:
            errors.append(f"{path}: {field!r} is not a field (one of {', '.join(FIELDS)})")
            continue
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            line = raw.strip()
            if line and not line.startswith("#"):
                parsed = parse_line(line, field, f"{shown}:{number}", errors)
                if parsed is not None:
                    found.append(parsed)
    return found


def check_catalog(sources: list[SourceCourse], errors: list[str]) -> None:
    """The rules across lines: unique ids, unique titles per provider, unique URLs for course pages."""
    first_seen: dict[tuple[str, str], str] = {}
    for source in sources:
        course = source.course
        for key in (("id", course.id), (course.provider, course.title.casefold())):
            if key in first_seen:
                errors.append(f"{source.where}: duplicate {key[0]} {key[1]!r} (first at {first_seen[key]})")
            else:
                first_seen[key] = source.where
        if source.url_kind == "course":
            page_key = ("course page", course.url.rstrip("/"))
            if page_key in first_seen:
                errors.append(f"{source.where}: course page {course.url} used twice (first at {first_seen[page_key]})")
            else:
                first_seen[page_key] = source.where


def canonical_skills(skills: tuple[str, ...], field: str, taxonomy: Taxonomy) -> tuple[str, ...]:
    """The skills as the vocabulary names them (an alias becomes its canonical name), duplicates dropped.

    Gap matching compares names exactly, so a course must say "Reconciliation" where the vocabulary reads
    "bank reconciliation" as that skill; skills the vocabulary does not know keep the source's wording. A term the
    vocabulary shares between fields ("RN", "PCA") is read as the skill of the course's own field when the
    vocabulary can say which skills a term names (`lookup_all`, skills with a `field`).
    """
    lookup_all = getattr(taxonomy, "lookup_all", None)  # vocabularies with per-field skills have it

    def name(term: str) -> str:
        if lookup_all is not None:
            same_field = [skill for skill in lookup_all(term) if getattr(skill, "field", None) == field]
            if same_field:
                return str(same_field[0].name)
        return taxonomy.canonical(term)

    return tuple(dict.fromkeys(name(skill) for skill in skills))


def default_taxonomy() -> Taxonomy | None:
    """The skill vocabulary the catalog is written against, when it has been built."""
    return load_taxonomy(TAXONOMY) if TAXONOMY.exists() else None


def load_sources(directory: Path = SOURCES, taxonomy: Taxonomy | None = None) -> list[SourceCourse]:
    """All source courses sorted by id, skills in the taxonomy's names; raises ValueError listing every violation."""
    errors: list[str] = []
    sources = read_sources(directory, errors)
    check_catalog(sources, errors)
    if errors:
        raise ValueError(f"{len(errors)} problem(s) in the catalog sources:\n" + "\n".join(errors))
    if taxonomy is not None:
        sources = [
            replace(s, course=replace(s.course, skills=canonical_skills(s.course.skills, s.course.field, taxonomy)))
            for s in sources
        ]
    return sorted(sources, key=lambda s: s.course.id)


def figures_block(sources: list[SourceCourse]) -> str:
    """The Markdown tables of data/README.md that count courses per field, URL kind and evidence."""
    per_field = Counter(s.course.field for s in sources)
    kinds = {f: Counter(s.url_kind for s in sources if s.course.field == f) for f in FIELDS}
    checked = {f: sum(1 for s in sources if s.course.field == f and s.evidence != "-") for f in FIELDS}
    providers = {f: len({s.course.provider for s in sources if s.course.field == f}) for f in FIELDS}
    unchecked = [s for s in sources if s.evidence == "-"]
    provider_count = len({s.course.provider for s in sources})
    searches = sum(s.url_kind == "search" for s in unchecked)
    lines = [
        FIGURES_BEGIN,
        f"{len(sources):,} courses from {provider_count} providers in {len(per_field)} fields.",
        "",
        "| field | courses | providers | course page | catalog page | search page | address confirmed |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for field in FIELDS:
        k = kinds[field]
        lines.append(
            f"| {field} | {per_field[field]} | {providers[field]} | {k['course']} | {k['catalog']} | "
            f"{k['search']} | {checked[field]} |"
        )
    total = Counter(s.url_kind for s in sources)
    evidence = Counter(part for s in sources if s.evidence != "-" for part in s.evidence.split("+"))
    lines += [
        f"| all | {len(sources):,} | {provider_count} | {total['course']} | "
        f"{total['catalog']} | {total['search']} | {len(sources) - len(unchecked)} |",
        "",
        "Confirmed addresses by evidence (a course may have two): "
        + ", ".join(f"{name} {evidence[name]}" for name in EVIDENCE)
        + f". Not checked one by one: {len(unchecked)} ({searches} of them search pages).",
        FIGURES_END,
    ]
    return "\n".join(lines)


def with_figures(readme: str, block: str) -> str:
    """The README text with its figures block replaced; the markers must already be there."""
    start, end = readme.find(FIGURES_BEGIN), readme.find(FIGURES_END)
    if start < 0 or end < start:
        raise ValueError(f"{README} lacks the markers {FIGURES_BEGIN!r} ... {FIGURES_END!r}")
    return readme[:start] + block + readme[end + len(FIGURES_END) :]


def next_free_id(sources: list[SourceCourse]) -> str:
    """The id after the highest one in use."""
    highest = max((int(s.course.id[4:]) for s in sources), default=0)
    return f"crs-{highest + 1:04d}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="validate and compare with the written files only")
    parser.add_argument("--next-id", action="store_true", help="print the first free course id")
    args = parser.parse_args(argv)
    try:
        sources = load_sources(SOURCES, default_taxonomy())
    except ValueError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    if args.next_id:
        sys.stdout.write(next_free_id(sources) + "\n")
        return 0
    courses = [s.course for s in sources]
    readme = with_figures(README.read_text(encoding="utf-8"), figures_block(sources))
    if args.check:
        stale = [] if OUTPUT.exists() and load_catalog(OUTPUT) == courses else [OUTPUT.name]
        stale += [] if readme == README.read_text(encoding="utf-8") else [README.name]
        status = f"stale: {', '.join(stale)}" if stale else "files current"
        sys.stderr.write(f"{len(courses)} courses valid; {status}\n")
        return 1 if stale else 0
    write_catalog(courses, OUTPUT)
    README.write_text(readme, encoding="utf-8")
    sys.stderr.write(f"wrote {len(courses)} courses in {len(set(c.field for c in courses))} fields to {OUTPUT}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
