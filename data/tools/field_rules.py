"""Which field an ESCO skill or occupation belongs to: keyword rules over its label and definition.

A field wins with at least two keyword hits and strictly more than any other field; otherwise the concept gets
no field ("") and is left out of the vocabulary (skills) or serves no field vote (occupations). The keywords
are word stems matched at word starts, so "nurs" matches "nurse", "nursing" and "nurses".
"""

from __future__ import annotations

import re

FIELD_KEYWORDS: dict[str, tuple[str, ...]] = {
    "healthcare": (
        "patient", "nurs", "clinical", "medical", "medication", "health care", "healthcare", "hospital", "wound",
        "therap", "diagnos", "surgical", "dental", "pharmac", "physician", "midwi", "care plan", "disease",
    ),
    "accounting-finance": (
        "accounting", "accountan", "financial", "finance", "audit", "tax", "ledger", "budget", "invoice",
        "bookkeep", "payroll", "bank", "investment", "credit", "fiscal", "cash",
    ),
    "marketing": ("marketing", "advertis", "brand", "campaign", "promotion", "public relations", "market research"),
    "sales": ("sales", "selling", "sell ", "customer account", "quota", "prospect", "retail sale", "merchandis"),
    "human-resources": (
        "human resource", "recruit", "employee", "personnel", "staff", "workforce", "payroll", "hiring",
        "job applicant", "labour relations", "compensation",
    ),
    "supply-chain-logistics": (
        "logistic", "supply chain", "warehouse", "inventory", "shipment", "freight", "procurement", "purchas",
        "transport", "cargo", "stock", "supplier", "distribution", "customs",
    ),
    "mechanical-manufacturing": (
        "manufactur", "machin", "mechanical", "welding", "assembly", "production line", "tooling", "metal",
        "plastic", "mould", "mold", "engine", "quality control", "fabricat", "cnc",
    ),
    "civil-construction": (
        "construction", "building", "civil engineering", "concrete", "structural", "site", "road", "bridge",
        "surveying", "plumbing", "carpent", "roof", "masonry", "scaffold", "architectur",
    ),
    "education": (
        "teach", "student", "pupil", "learner", "lesson", "curriculum", "classroom", "educat", "school",
        "instruction", "tutor", "pedagog",
    ),
    "legal": ("legal", "law", "court", "contract", "litigation", "lawyer", "judicial", "regulation", "legislat"),
    "design": ("graphic", "visual design", "user interface", "user experience", "illustrat", "typograph", "layout"),
    "customer-service": ("customer service", "customer", "client", "complaint", "call centre", "call center"),
    "hospitality": (
        "food", "beverage", "kitchen", "cook", "restaurant", "hotel", "guest", "menu", "catering", "bar ",
        "wine", "hospitality", "tourism", "chef",
    ),
    "software": ("software", "programming", "computer program", "application development", "code", "web"),
    "data": ("data", "statistic", "machine learning", "analytics", "database"),
    "cloud-devops": ("cloud", "network", "server", "ICT system", "ICT infrastructure", "security", "cyber"),
}  # fmt: skip

_PATTERNS = {
    field: re.compile(r"\b(?:" + "|".join(re.escape(k.strip()) for k in keys) + r")", re.IGNORECASE)
    for field, keys in FIELD_KEYWORDS.items()
}


def assign_field(text: str, *, minimum: int = 2) -> str:
    """The field whose keywords occur most often in `text`, when clearly ahead; "" otherwise."""
    scores = sorted(((len(p.findall(text)), f) for f, p in _PATTERNS.items()), reverse=True)
    (best, field), (second, _) = scores[0], scores[1]
    return field if best >= minimum and best > second else ""
