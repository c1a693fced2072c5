"""The bundled catalog data/courses.jsonl: size, shape, coverage, and agreement with its build table."""

from __future__ import annotations

import re
import runpy
from collections import defaultdict
from urllib.parse import urlparse

import pytest

from services.common.catalog import LEVELS, Course, load_catalog
from services.common.settings import REPO_ROOT
from services.common.taxonomy import load_taxonomy

CATALOG = REPO_ROOT / "data" / "courses.jsonl"

# Common skills a job description asks for: each must be taught by at least one course.
COMMON_SKILLS = [
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
def courses() -> list[Course]:
    return load_catalog(CATALOG)


def test_catalog_has_at_least_300_well_formed_courses(courses: list[Course]) -> None:
    assert len(courses) >= 300
    assert len({c.id for c in courses}) == len(courses)
    assert len({c.title for c in courses}) == len(courses), "titles are unique"
    for course in courses:
        assert re.fullmatch(r"crs-\d{4}", course.id), course.id
        assert course.skills, f"{course.id} teaches no skill"
        assert len(set(course.skills)) == len(course.skills), f"{course.id} repeats a skill"
        assert all(s == s.strip() and s for s in course.skills)
        assert course.level in LEVELS, course.id
        assert 0 < course.duration_hours <= 200, course.id
        assert course.provider and course.title
        assert 20 <= len(course.description) <= 400, course.id
        url = urlparse(course.url)
        assert url.scheme == "https" and url.netloc, course.url


def test_common_skills_are_taught(courses: list[Course]) -> None:
    taught = {s for c in courses for s in c.skills}
    assert [s for s in COMMON_SKILLS if s not in taught] == []


def test_big_skills_are_taught_at_every_level(courses: list[Course]) -> None:
    levels: dict[str, set[str]] = defaultdict(set)
    for course in courses:
        for skill in course.skills:
            levels[skill].add(course.level)
    assert {s: sorted(levels[s]) for s in ALL_LEVEL_SKILLS if levels[s] != set(LEVELS)} == {}


def test_jsonl_matches_its_build_table(courses: list[Course]) -> None:
    # The JSONL is generated: a hand edit that the table lacks would be lost at the next build.
    module = runpy.run_path(str(REPO_ROOT / "data" / "tools" / "build_catalog.py"), run_name="build_catalog")
    assert module["build"](module["TABLE"]) == courses


def test_course_skills_use_canonical_taxonomy_spellings(courses: list[Course]) -> None:
    path = REPO_ROOT / "data" / "skills.jsonl"
    if not path.exists():
        pytest.skip("data/skills.jsonl is not built yet")
    taxonomy = load_taxonomy(path)
    # A skill the taxonomy knows must be spelled as its canonical name, or gap matching would miss it.
    wrong = {s: taxonomy.canonical(s) for c in courses for s in c.skills if taxonomy.canonical(s) != s}
    assert wrong == {}
