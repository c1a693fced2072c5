"""The areas a job's work serves are not skills it asks for (services/ner/subjects.py)."""

from __future__ import annotations

import pytest

from services.ner.subjects import names_work_subject


@pytest.mark.parametrize(
    ("line", "mention", "subject"),
    [
        ("- Help lead operational audits at plants, covering inventory, procurement and payroll.", "payroll", True),
        ("- Help lead operational audits at plants, covering inventory, procurement and payroll.", "inventory", True),
        ("- Build reports for operations, finance and supply chain: OEE, scrap, standard cost.", "OEE", True),
        ("- Build dashboards for finance in Power BI.", "Power BI", False),
        ("- Build dashboards for finance in Power BI.", "finance", True),
        ("- Operational audits at plants, covering inventory. Payroll experience.", "Payroll", False),
        ("- Reconcile inventory and payroll accounts.", "payroll", False),
    ],
)
def test_areas_after_a_cue_are_the_work_subject(line: str, mention: str, subject: bool) -> None:
    text = f"Internal Auditor\n\nWhat you will do\n{line}\n"
    assert names_work_subject(text, text.index(mention, text.index(line))) is subject
