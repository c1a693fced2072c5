"""Course <-> skillbridge.common.v1.Course, for the servicers that send or receive courses."""

from __future__ import annotations

from skillbridge.common.v1 import course_pb2

from services.common.catalog import Course


def course_from_proto(message: course_pb2.Course) -> Course:
    """A domain Course from its proto form (level lower-cased, as the catalog stores it)."""
    return Course(
        id=message.id,
        title=message.title,
        provider=message.provider,
        description=message.description,
        skills=tuple(message.skills),
        level=message.level.strip().lower(),
        duration_hours=message.duration_hours,
        url=message.url,
        field=message.field,
    )


def course_to_proto(course: Course) -> course_pb2.Course:
    """The proto form of a domain Course."""
    return course_pb2.Course(
        id=course.id,
        title=course.title,
        provider=course.provider,
        description=course.description,
        skills=list(course.skills),
        level=course.level,
        duration_hours=course.duration_hours,
        url=course.url,
        field=course.field,
    )
