"""Spellings a vocabulary term is matched in besides its own: hyphen and ".js" forms, plurals, singulars, and an
acronym's plural. The matcher has no lemmatizer, so the forms people write are generated from each term."""

from __future__ import annotations

import re


def term_variants(term: str) -> list[str]:
    """Spelling variants people write for a term: "scikit-learn" -> "scikit learn", "Node.js" -> "NodeJS"."""
    variants = [term]
    if "-" in term:
        variants += [term.replace("-", " "), term.replace("-", "")]
    if term.lower().endswith(".js"):
        variants += [term[:-3] + "js", term[:-3] + " js"]
    if " & " in term:
        variants.append(term.replace(" & ", " and "))
    if " and " in term:
        variants.append(term.replace(" and ", " & "))
    last = term.split()[-1] if term.split() else ""
    # Job ads pluralise freely ("data pipelines", "REST APIs"); the matcher has no lemmatizer, so add the plural.
    if last.isalpha() and len(last) >= 3 and last[-1].lower() not in "sxyz":
        variants.append(term + "s")
    elif last.isalpha() and len(last) >= 4 and last.endswith("y") and last[-2].lower() not in "aeiou":
        variants.append(term[:-1] + "ies")
    return variants


# A one-word name in the plural is read in the singular only when its ending marks it as a noun of its own
# ("Accruals", "Submittals", "Receivables"): "Windows" is not "window", "Sales" is not "sale", and "Escalations"
# (complaint handling) is not "escalation" (an escalation path).
SINGULAR_ONE_WORD_ENDINGS = ("als", "ables")


def singular_variant(term: str) -> str | None:
    """The singular of a name written in the plural ("Journal Entries" -> "Journal Entry", "Accruals" ->
    "Accrual"): a resume writes "posted the AP accrual" for the Accruals an ad asks for. None when the last word is
    not a plain plural ("Analytics", "Logistics", "Business", "Kubernetes" stays as it is)."""
    words = term.split()
    last = words[-1] if words else ""
    lower = last.casefold()
    if not last.isalpha() or len(last) < 5 or not lower.endswith("s") or lower.endswith(("ss", "us", "is", "ics")):
        return None
    if len(words) == 1 and not lower.endswith(SINGULAR_ONE_WORD_ENDINGS):
        return None
    if lower.endswith("ies"):
        single = last[:-3] + "y"
    elif lower.endswith(("ches", "shes", "xes", "sses")):
        single = last[:-2]
    else:
        single = last[:-1]
    return " ".join([*words[:-1], single])


def strict_variants(term: str) -> list[str]:
    """An exact-case term as written, and an acronym's plural ("EKGs", "IEPs", "BOLs"): written as one token
    with a lower-case "s", it cannot be mistaken for another word."""
    if re.fullmatch(r"[A-Z][A-Z0-9&]*[A-Z0-9]", term) and sum(c.isupper() for c in term) >= 2:
        return [term, term + "s"]
    return [term]
