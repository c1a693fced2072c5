"""The course-recommendation stages' pure parts."""

from __future__ import annotations

from skillbridge.common.v1 import course_pb2
from skillbridge.recommendation.v1 import recommendation_service_pb2 as rec

from services.scheduler.handlers import Analysis, uncovered


def test_uncovered_skills_are_the_missing_ones_no_course_teaches() -> None:
    a = Analysis(resume_text="r", job_text="j", threshold=0.5)
    a.missing = ["Kafka", "Terraform", "COBOL", "Rust"]
    a.candidates = {"c1": course_pb2.Course(id="c1", skills=["terraform"])}
    a.chosen = [rec.RecommendedCourse(course=course_pb2.Course(id="c2"), covered_skills=["Kafka"])]
    assert uncovered(a) == ["COBOL", "Rust"]
