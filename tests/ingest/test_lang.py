"""Telling a document's language, for the lang: filter: by script, or by its commonest short
words; None rather than a guess when the text is too short or too mixed."""

from __future__ import annotations

import pytest

from ingest.lang import KNOWN_LANGUAGES, detect_language

# each a short paragraph written for this test, about an office moving premises
TEXTS = {
    "en": "The office will move to the new building at the end of the month. All staff are asked to pack their"
    " desks by Friday, and the movers will arrive on Monday morning with boxes for the files that are kept in"
    " the archive room.",
    "fr": "Le bureau déménagera dans le nouveau bâtiment à la fin du mois. Tout le personnel est prié de vider"
    " son bureau avant vendredi, et les déménageurs arriveront lundi matin avec des cartons pour les dossiers"
    " qui sont conservés dans la salle des archives.",
    "de": "Das Büro zieht am Ende des Monats in das neue Gebäude um. Alle Mitarbeiter werden gebeten, ihre"
    " Schreibtische bis Freitag zu räumen, und die Umzugsfirma kommt am Montagmorgen mit Kisten für die Akten,"
    " die im Archivraum aufbewahrt werden.",
    "es": "La oficina se trasladará al nuevo edificio a fin de mes. Se pide a todo el personal que vacíe sus"
    " escritorios antes del viernes, y los de la mudanza llegarán el lunes por la mañana con cajas para los"
    " archivos que se guardan en la sala del archivo.",
    "it": "L'ufficio si trasferirà nel nuovo edificio alla fine del mese. Tutto il personale è pregato di"
    " liberare la propria scrivania entro venerdì, e i traslocatori arriveranno lunedì mattina con le scatole"
    " per i documenti che sono conservati nella sala dell'archivio.",
    "nl": "Het kantoor verhuist aan het einde van de maand naar het nieuwe gebouw. Al het personeel wordt"
    " gevraagd om hun bureau voor vrijdag leeg te maken, en de verhuizers komen maandagochtend met dozen voor"
    " de dossiers die in de archiefruimte worden bewaard.",
    "ru": "Офис переедет в новое здание в конце месяца. Всех сотрудников просят освободить свои столы до"
    " пятницы, и грузчики приедут в понедельник утром с коробками для документов, которые хранятся в архиве,"
    " так что это не займёт много времени и он будет готов к работе.",
    "ja": "事務所は月末に新しい建物へ移転します。全員が金曜日までに机を片付けてください。"
    "月曜日の朝に引越し業者が箱を持って来ます。",
    "zh": "办公室将在月底搬到新大楼。请所有员工在星期五之前清理好自己的办公桌，搬家公司将在星期一早上带着箱子来。",
    "ar": "سينتقل المكتب إلى المبنى الجديد في نهاية الشهر. يطلب من جميع الموظفين إخلاء مكاتبهم قبل يوم الجمعة.",
}


@pytest.mark.parametrize("lang", sorted(TEXTS))
def test_each_language_is_told(lang: str) -> None:
    assert detect_language(TEXTS[lang]) == lang
    assert lang in KNOWN_LANGUAGES


def test_too_little_or_too_mixed_text_is_not_guessed() -> None:
    assert detect_language("Budget 2024") is None
    assert detect_language("") is None and detect_language("1234 5678 9999") is None
    assert detect_language(" ".join(["Acme", "Holdings", "Ltd", "GmbH", "Invoice", "No"] * 10)) is None
