"""The vocabulary build (data/tools): which curated aliases become skills of their own."""

from __future__ import annotations

import sys

from services.common.settings import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "data" / "tools"))  # the build scripts import each other as siblings

from build_taxonomy import CuratedSkill, is_synonym_term, parse_term
from build_vocabulary import split_specific_aliases


def test_a_synonym_mark_is_read_before_the_other_marks() -> None:
    assert parse_term("=~ObjC") == ("ObjC", "~")
    assert is_synonym_term(" =~ObjC") and not is_synonym_term("~ObjC")
    assert parse_term("=IxD") == ("IxD", "")


def test_a_product_alias_becomes_its_own_skill_and_a_synonym_stays_an_alias() -> None:
    design = CuratedSkill(name="Interaction Design", category="Design", field="design", aliases=["IxD", "Axure"])
    marked = CuratedSkill(
        name="Interaction Design", category="Design", field="design", aliases=["IxD", "Axure"], synonyms=["IxD"]
    )
    common = {"interaction", "design"}  # words English prose writes in lower case: the parent is no product
    split = {s.name: s for s in split_specific_aliases([design], common)}
    assert set(split) == {"Interaction Design", "IxD", "Axure"}
    assert split["IxD"].covers == ["Interaction Design"]
    kept = {s.name: s for s in split_specific_aliases([marked], common)}
    assert set(kept) == {"Interaction Design", "Axure"}
    assert kept["Interaction Design"].aliases == ["IxD"]


def test_a_soft_skills_other_words_are_never_split() -> None:
    detail = CuratedSkill(name="Attention to Detail", category="Soft Skills", field="general", aliases=["Meticulous"])
    assert [s.name for s in split_specific_aliases([detail], set())] == ["Attention to Detail"]
