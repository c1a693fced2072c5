"""The bundled catalog data/courses.jsonl: its build rules, size per field, the skills each field needs taught,
and agreement with its curated sources in data/tools/catalog/."""

from __future__ import annotations

import re
import runpy
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from services.common.catalog import LEVELS, Course, load_catalog
from services.common.course_proto import course_from_proto, course_to_proto
from services.common.settings import REPO_ROOT

CATALOG = REPO_ROOT / "data" / "courses.jsonl"
MIN_TOTAL = 1000
MIN_PER_FIELD = 45
MIN_FIELDS = 15

# Skills people in each field need, as job ads name them: each must be taught by a course of that field.
FIELD_SKILLS: dict[str, list[str]] = {
    "healthcare": [
        "Medication Administration", "IV Therapy", "Wound Care", "Telemetry", "Care Planning", "Patient Education",
        "Infection Control", "Basic Life Support", "Advanced Cardiovascular Life Support",
        "Pediatric Advanced Life Support", "CPR", "Vital Signs", "Electronic Health Records", "Phlebotomy",
        "Medical Coding", "Dosage Calculation", "ECG Interpretation", "Patient Safety", "Discharge Planning",
    ],
    "accounting-finance": [
        "GAAP", "IFRS", "Accounts Payable", "Accounts Receivable", "General Ledger", "Bookkeeping", "Month-end Close",
        "Reconciliation", "Financial Reporting", "Auditing", "Internal Controls", "Tax Preparation", "Payroll",
        "QuickBooks", "Financial Modeling", "Budgeting", "Variance Analysis", "Revenue Recognition",
    ],
    "marketing": [
        "SEO", "Google Ads", "Content Marketing", "Email Marketing", "Social Media Marketing", "Marketing Analytics",
        "Google Analytics", "Brand Management", "Copywriting", "Marketing Automation", "Public Relations",
    ],
    "sales": [
        "Sales Prospecting", "Cold Calling", "Negotiation", "Salesforce", "Account Management", "Closing Deals",
        "Sales Pipeline Management", "Sales Forecasting", "Customer Relationship Management", "Solution Selling",
    ],
    "human-resources": [
        "Recruiting", "Onboarding", "Employee Relations", "Performance Management", "Compensation and Benefits",
        "Employment Law", "HR Information Systems", "Payroll", "People Analytics", "Workday", "SHRM-CP", "PHR",
    ],
    "supply-chain-logistics": [
        "Supply Chain Management", "Inventory Management", "Procurement", "Demand Planning", "Warehouse Management",
        "Logistics Management", "Transportation Management", "Sales and Operations Planning", "CPIM", "CSCP",
        "Strategic Sourcing", "Import/Export",
    ],
    "mechanical-manufacturing": [
        "GD&T", "Tolerance Stack-up Analysis", "Design for Manufacturing", "Injection Molding", "Sheet Metal Design",
        "Bill of Materials", "CAPA", "ISO 13485", "ISO 9001", "FMEA", "SolidWorks", "Finite Element Analysis",
        "CNC Machining", "Six Sigma", "Lean Manufacturing", "Root Cause Analysis",
    ],
    "civil-construction": [
        "OSHA 30", "OSHA 10", "Construction Management", "Construction Scheduling", "Cost Estimating", "BIM", "Revit",
        "AutoCAD", "Primavera P6", "Procore", "LEED", "Structural Analysis", "Construction Safety", "Quantity Takeoff",
    ],
    "education": [
        "Classroom Management", "Lesson Planning", "Curriculum Development", "Instructional Design",
        "Differentiated Instruction", "Special Education", "Student Assessment", "TESOL",
        "Learning Management Systems", "Behaviour Management", "Educational Technology",
    ],
    "legal": [
        "Legal Research", "Legal Writing", "Contract Drafting", "Contract Law", "Litigation", "E-Discovery",
        "Paralegal", "Intellectual Property", "Regulatory Compliance", "GDPR", "Legal Ethics",
    ],
    "design": [
        "Figma", "User Research", "Wireframing", "Prototyping", "Typography", "Adobe Photoshop", "Adobe Illustrator",
        "Adobe InDesign", "Graphic Design", "Design Systems", "Usability Testing", "Accessibility Design",
    ],
    "customer-service": [
        "Customer Service", "Complaint Handling", "De-escalation", "Zendesk", "Ticketing Systems",
        "Call Center Operations", "Technical Support", "ITIL", "Customer Experience", "Net Promoter Score",
        "Help Desk Support",
    ],
    "hospitality": [
        "ServSafe", "Food Safety", "HACCP", "Responsible Alcohol Service", "Front Office Operations",
        "Hotel Revenue Management", "Housekeeping Management", "Bartending", "Event Planning",
        "Food and Beverage Service", "Guest Service", "Culinary Skills",
    ],
}  # fmt: skip
# Common skills of software, data and cloud job ads: each must be taught by at least one course.
TECH_SKILLS = [
    "Python", "SQL", "Java", "JavaScript", "TypeScript", "Go", "Rust", "C++", "C#", "Scala", "Kotlin", "Swift",
    "R", "Bash", "Kubernetes", "Docker", "Terraform", "Ansible", "CI/CD", "Jenkins", "GitHub Actions", "Git",
    "Linux", "Amazon Web Services", "Google Cloud Platform", "Microsoft Azure", "Apache Spark", "Apache Kafka",
    "Apache Airflow", "Apache Flink", "Stream Processing", "dbt", "Snowflake", "Data Warehousing", "ETL",
    "Machine Learning", "Deep Learning", "PyTorch", "TensorFlow", "Natural Language Processing",
    "Computer Vision", "Large Language Models", "MLOps", "Statistics", "React", "Angular", "Vue.js", "Node.js",
    "HTML", "CSS", "Django", "Flask", "FastAPI", "Spring Boot", "GraphQL", "RESTful APIs", "Microservices",
    "PostgreSQL", "MySQL", "MongoDB", "Redis", "Elasticsearch", "Data Visualization", "Tableau", "Power BI",
    "Microsoft Excel", "Data Analysis", "Pandas", "Cybersecurity", "Penetration Testing", "Network Security",
    "Cloud Security", "Selenium", "Cypress", "Test Automation", "Unit Testing", "Figma", "User Experience Design",
    "User Research", "Agile", "Scrum", "Jira", "Project Management", "Product Management",
    "Stakeholder Management", "Communication", "Leadership", "Android Development", "iOS Development",
    "Flutter", "React Native", "Prometheus", "Grafana", "Helm",
]  # fmt: skip
# The biggest skills are taught at every level, so a beginner and an expert both get a fitting course.
ALL_LEVEL_SKILLS = [
    "Python", "SQL", "JavaScript", "Java", "Kubernetes", "Amazon Web Services", "Apache Spark", "Apache Kafka",
    "Machine Learning", "Deep Learning", "React", "Terraform", "PostgreSQL", "MongoDB", "TensorFlow",
    "Penetration Testing", "Project Management", "Apache Airflow", "Microsoft Azure", "TypeScript",
]  # fmt: skip


@pytest.fixture(scope="module")
def builder() -> dict[str, Any]:
    """The build script's namespace (data/tools is not a package)."""
    return runpy.run_path(str(REPO_ROOT / "data" / "tools" / "build_catalog.py"), run_name="build_catalog")


@pytest.fixture(scope="module")
def courses() -> list[Course]:
    return load_catalog(CATALOG)


def test_every_course_is_well_formed(courses: list[Course], builder: dict[str, Any]) -> None:
    fields, providers = builder["FIELDS"], builder["PROVIDERS"]
    assert len({c.id for c in courses}) == len(courses), "ids are unique"
    for course in courses:
        assert re.fullmatch(r"crs-\d{4}", course.id), course.id
        assert course.title and course.provider in providers, course.id
        assert course.skills, f"{course.id} teaches no skill"
        assert len({s.casefold() for s in course.skills}) == len(course.skills), f"{course.id} repeats a skill"
        assert all(s == s.strip() and s for s in course.skills), course.id
        assert course.level in LEVELS, course.id
        assert 1 <= course.duration_hours <= 500, course.id
        assert 20 <= len(course.description) <= 400, course.id
        assert course.field in fields, course.id
        # The URL is https and on one of the provider's own domains.
        assert builder["host_allowed"](course.url, providers[course.provider]), (course.id, course.url)


def test_titles_are_unique_per_provider(courses: list[Course]) -> None:
    counts = Counter((c.provider, c.title.casefold()) for c in courses)
    assert [key for key, n in counts.items() if n > 1] == []


def test_catalog_size_and_fields(courses: list[Course], builder: dict[str, Any]) -> None:
    per_field = Counter(c.field for c in courses)
    assert len(courses) >= MIN_TOTAL
    assert len(per_field) >= MIN_FIELDS
    assert {f: n for f, n in per_field.items() if n < MIN_PER_FIELD} == {}
    assert set(per_field) == set(builder["FIELDS"]), "every field has courses"


@pytest.mark.parametrize("field", sorted(FIELD_SKILLS))
def test_each_field_teaches_the_skills_its_jobs_ask_for(
    courses: list[Course], builder: dict[str, Any], field: str
) -> None:
    # A job ad's skill reaches the recommender under the vocabulary's name for it (read in the ad's field), so
    # compare those names; the build names course skills the same way.
    taxonomy = builder["default_taxonomy"]()
    taught = {s.casefold() for c in courses if c.field == field for s in c.skills}
    expected = {
        s: builder["canonical_skills"]((s,), field, taxonomy)[0] if taxonomy else s for s in FIELD_SKILLS[field]
    }
    assert [s for s, name in expected.items() if name.casefold() not in taught] == []


def test_common_tech_skills_are_taught(courses: list[Course]) -> None:
    taught = {s for c in courses for s in c.skills}
    assert [s for s in TECH_SKILLS if s not in taught] == []


def test_big_skills_are_taught_at_every_level(courses: list[Course]) -> None:
    levels: dict[str, set[str]] = defaultdict(set)
    for course in courses:
        for skill in course.skills:
            levels[skill].add(course.level)
    assert {s: sorted(levels[s]) for s in ALL_LEVEL_SKILLS if levels[s] != set(LEVELS)} == {}


def test_jsonl_and_readme_figures_match_the_sources(courses: list[Course], builder: dict[str, Any]) -> None:
    # The JSONL is generated: a hand edit that the sources lack would be lost at the next build.
    sources = builder["load_sources"](builder["SOURCES"], builder["default_taxonomy"]())
    assert [s.course for s in sources] == courses
    readme = (REPO_ROOT / "data" / "README.md").read_text(encoding="utf-8")
    assert builder["with_figures"](readme, builder["figures_block"](sources)) == readme, "run build_catalog.py"


def test_course_skills_use_canonical_taxonomy_spellings(courses: list[Course], builder: dict[str, Any]) -> None:
    taxonomy = builder["default_taxonomy"]()
    if taxonomy is None:
        pytest.skip("data/skills.jsonl is not built yet")
    lookup_all = getattr(taxonomy, "lookup_all", None)

    def is_a_skill_name(term: str) -> bool:
        if lookup_all is not None and lookup_all(term):
            return any(skill.name == term for skill in lookup_all(term))
        return bool(taxonomy.canonical(term) == term)

    # A skill the vocabulary knows must be spelled as a skill's name, not an alias, or gap matching would miss it.
    assert sorted({s for c in courses for s in c.skills if not is_a_skill_name(s)}) == []


def test_field_survives_the_loader_and_the_proto(courses: list[Course], tmp_path: Path) -> None:
    course = next(c for c in courses if c.field == "healthcare")
    assert course_from_proto(course_to_proto(course)) == course
    csv_file = tmp_path / "catalog.csv"
    csv_file.write_text(
        "id,title,provider,description,skills,level,duration_hours,url,field\n"
        "c-1,Wound Care,Udemy,Dressings and wound assessment.,Wound Care;Wound Assessment,beginner,4,"
        "https://www.udemy.com/courses/search/?q=wound%20care,Healthcare\n",
        encoding="utf-8",
    )
    [loaded] = load_catalog(csv_file)
    assert (loaded.field, loaded.skills) == ("healthcare", ("Wound Care", "Wound Assessment"))


@dataclass(frozen=True)
class FieldSkill:
    name: str
    field: str


class FieldVocabulary:
    """A two-skill vocabulary where "RN" names a skill in two fields: enough to test the build's choice."""

    skills = (FieldSkill("React Native", "software"), FieldSkill("Registered Nurse", "healthcare"))

    def lookup_all(self, term: str) -> list[FieldSkill]:
        return list(self.skills) if term.casefold() == "rn" else []

    def canonical(self, term: str) -> str:
        return self.skills[0].name if term.casefold() == "rn" else term.strip()


def test_build_names_skills_as_the_vocabulary_does(builder: dict[str, Any]) -> None:
    canonical_skills = builder["canonical_skills"]
    # A term shared across fields is read in the course's field; unknown terms keep their wording.
    assert canonical_skills(("RN", "Wound Care"), "healthcare", FieldVocabulary()) == ("Registered Nurse", "Wound Care")
    assert canonical_skills(("RN",), "software", FieldVocabulary()) == ("React Native",)
    taxonomy = builder["default_taxonomy"]()
    if taxonomy is None:
        pytest.skip("data/skills.jsonl is not built yet")
    # An alias becomes the skill it names, and two names of one skill become one.
    skill = next(k for k in taxonomy.skills if any(taxonomy.canonical(a) == k.name != a for a in k.aliases))
    alias = next(a for a in skill.aliases if taxonomy.canonical(a) == skill.name != a)
    assert canonical_skills((alias, skill.name, "Wound Care"), "", taxonomy) == (skill.name, "Wound Care")


GOOD_LINE = (
    "crs-0001 | Wound Care Basics | Udemy | beginner | 4 | Wound Care; Dressing Selection | search wound care | - | "
    "Assessing wounds and choosing dressings, with documentation."
)


def write_sources(directory: Path, files: dict[str, list[str]]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, lines in files.items():
        (directory / f"{name}.txt").write_text("# a comment\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return directory


def test_a_valid_source_builds_with_the_provider_search_url(builder: dict[str, Any], tmp_path: Path) -> None:
    sources = builder["load_sources"](write_sources(tmp_path / "catalog", {"healthcare": [GOOD_LINE]}))
    [course] = [s.course for s in sources]
    assert course.url == "https://www.udemy.com/courses/search/?q=wound%20care"
    assert (course.field, course.level, course.duration_hours) == ("healthcare", "beginner", 4)
    assert course.skills == ("Wound Care", "Dressing Selection")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("| Udemy |", "| Nowhere Academy |"), "unknown provider"),
        (("| beginner |", "| expert |"), "level 'expert'"),
        (("| 4 |", "| 0 |"), "hours '0'"),
        (("| 4 |", "| 501 |"), "hours '501'"),
        (("Wound Care; Dressing Selection", " ; "), "no skills"),
        (("Wound Care; Dressing Selection", "Wound Care; wound care"), "a skill is listed twice"),
        (("search wound care", "course https://www.coursera.org/learn/wound"), "not an https address on Udemy"),
        (("search wound care", "course http://www.udemy.com/course/wound-care/"), "not an https address"),
        (("search wound care", "course https://udemy.com.evil.example/x"), "not an https address"),
        (("search wound care", "page https://www.udemy.com/x"), "is not '<course|catalog|search>"),
        (("| - |", "| trusted |"), "evidence 'trusted'"),
        (("crs-0001", "course-1"), "is not crs-NNNN"),
    ],
)
def test_the_build_rejects_a_bad_line(
    builder: dict[str, Any], tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    bad = GOOD_LINE.replace(*change)
    assert bad != GOOD_LINE
    with pytest.raises(ValueError, match=re.escape(message)):
        builder["load_sources"](write_sources(tmp_path / "catalog", {"healthcare": [bad]}))


def test_the_build_rejects_duplicates_and_unknown_fields(builder: dict[str, Any], tmp_path: Path) -> None:
    other_id = GOOD_LINE.replace("crs-0001", "crs-0002")
    cases = {
        "duplicate id": {"healthcare": [GOOD_LINE], "hospitality": [GOOD_LINE.replace("Wound Care Basics", "X")]},
        "duplicate Udemy 'wound care basics'": {"healthcare": [GOOD_LINE, other_id]},
        "'nursing' is not a field": {"nursing": [GOOD_LINE]},
        "Stanford Online has no search address": {"healthcare": [GOOD_LINE.replace("Udemy", "Stanford Online")]},
    }
    for number, (message, files) in enumerate(cases.items()):
        with pytest.raises(ValueError, match=re.escape(message)):
            builder["load_sources"](write_sources(tmp_path / f"case{number}", files))
