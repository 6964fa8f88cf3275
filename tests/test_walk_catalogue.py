"""The demo walk's detector of mixed pages (tests/walk/catalogue.py), on texts of known language."""

from __future__ import annotations

import pytest

from tests.walk.catalogue import languages


@pytest.fixture(scope="module")
def words():
    return languages()


def test_an_english_button_on_a_french_page_is_found(words):
    # the example: "Mot de passe" above "Validate"
    found = words["en"].foreign_in(["Mot de passe", "Validate"], "Mot de passe Validate")
    assert found == ["Validate"]


def test_a_french_label_on_an_english_page_is_found(words):
    found = words["fr"].foreign_in(["Password", "Valider"], "Password Valider")
    assert found == ["Valider"]


def test_a_long_english_sentence_inside_french_text_is_found(words):
    text = "Étape 1 sur 2 Please wait a few seconds while your entry is checked. Valider"
    assert "Please wait a few seconds while your entry is checked." in words["en"].foreign_in([], text)


def test_a_page_in_one_language_has_nothing_foreign(words):
    french = ["Mot de passe", "Valider", "Annuler votre paiement", "Code reçu par SMS"]
    english = ["Password", "Validate", "Cancel your payment", "Code received by SMS"]
    assert words["en"].foreign_in(french, " ".join(french)) == []
    assert words["fr"].foreign_in(english, " ".join(english)) == []


def test_words_both_languages_write_alike_tell_nothing(words):
    # "OK", the FR/EN switch and brand names are in both languages' pages
    assert words["en"].foreign_in(["OK", "FR", "EN", "Visa Secure"], "OK FR EN Visa Secure") == []
    assert words["fr"].foreign_in(["OK", "FR", "EN", "Visa Secure"], "OK FR EN Visa Secure") == []
