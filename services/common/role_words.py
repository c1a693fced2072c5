"""Words that end a job title or a role ("Senior Data Engineer", "our account managers"): a phrase ending in one
names a person's role, not a skill. Shared by the NER stage (no skills from role nouns) and the similarity stage
(no coverage from a job title)."""

from __future__ import annotations

ROLE_WORDS = frozenset(
    {
        "owner", "owners", "manager", "managers", "nurse", "nurses", "engineer", "engineers", "developer",
        "developers", "analyst", "analysts", "designer", "designers", "assistant", "assistants", "coordinator",
        "coordinators", "specialist", "specialists", "technician", "technicians", "master", "masters",
        "representative", "representatives", "officer", "officers", "director", "directors", "administrator",
        "administrators", "architect", "architects", "consultant", "consultants", "scientist", "scientists",
        "teacher", "teachers", "educator", "educators", "inspector", "inspectors", "paralegal", "paralegals",
        "machinist", "machinists", "estimator", "estimators", "planner", "planners", "accountant", "accountants",
        # Roles no vocabulary term ends in (checked against data/skills.jsonl: "Certified Welder" or "Licensed
        # Professional Counselor" would be lost to theirs): "warehouse supervisors" is people, not Warehouse
        # Management.
        "supervisor", "supervisors", "clerk", "clerks", "receptionist", "receptionists", "lawyer", "lawyers",
        "pharmacist", "pharmacists", "plumber", "plumbers", "attendant", "attendants", "hygienist", "hygienists",
        "dentist", "dentists", "surgeon", "surgeons", "buyer", "buyers", "advisor", "advisors", "adviser",
        "advisers", "carpenter", "carpenters", "counsellor", "counsellors",
    }
)  # fmt: skip
