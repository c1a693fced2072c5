"""What a job's work is about, as against what it asks the candidate to know.

An ad names the areas its work serves: "operational audits at plants, covering inventory, procurement and payroll";
"reports for operations, finance and supply chain: OEE, scrap, standard cost". The auditor is not asked to run
procurement, nor the report developer to manage a supply chain, and a resume without them lacks nothing. The
areas follow a cue ("covering", "reports for", "dashboards for") to the end of the clause; a tool named after
"using", "in", "with" ("dashboards for finance in Power BI") is asked again, so the list stops there.
"""

from __future__ import annotations

import re

SUBJECT_CUE = re.compile(
    r"\b(?:covering|(?:reports?|reporting|dashboards?|analytics|insights|KPIs)\s+for)\s+(?P<rest>[^.;()\n]*)$",
    re.IGNORECASE,
)
TOOL_OPENING = re.compile(r"\b(?:using|with|in|on|via|through|from)\b", re.IGNORECASE)


def names_work_subject(text: str, start: int) -> bool:
    """True when the mention at `start` is in the list of areas a cue opens on its line and clause."""
    line_start = text.rfind("\n", 0, start) + 1
    found = SUBJECT_CUE.search(text[line_start:start])
    return found is not None and not TOOL_OPENING.search(found.group("rest"))
