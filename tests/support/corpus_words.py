"""Words for the generated corpus: labels as invoices print them, company and item names."""

from __future__ import annotations

import random

LANGS: dict[str, dict] = {
    "en": {
        "title": ["INVOICE", "Invoice", "TAX INVOICE"], "credit_title": ["CREDIT NOTE", "Credit Note"],
        "number": ["Invoice No.", "Invoice Number", "Invoice #", "Invoice no:"], "credit_number": ["Credit Note No."],
        "date": ["Invoice Date", "Date", "Date of issue", "Issue date"], "due": ["Due Date", "Payment due", "Due"],
        "net": ["Subtotal", "Net amount", "Total excl. VAT"], "tax": ["VAT {rate}%", "Tax ({rate}%)", "VAT @ {rate}%"],
        "total": ["Total", "Total due", "Amount due", "Grand total", "Total incl. VAT"],
        "ref": ["PO Number", "Your reference", "Order No.", "Purchase order"], "bill_to": ["Bill to", "Invoice to", "Customer"],
        "vat": ["VAT No.", "VAT ID", "VAT Reg. No."], "terms": ["Payment terms: Net {d}", "Payment within {d} days of the invoice date"],
        "head": ["Description", "Qty", "Unit price", "Amount"], "bank": "Bank", "thanks": "Thank you for your business.",
        "items": ["Consulting services", "Web hosting (annual)", "Office chairs", "Software licence", "Maintenance",
                  "Travel expenses", "Printer toner", "Design work", "Support contract", "Training day"],
        "rates": {"GB": [20], "IE": [23, 13]},
    },
    "de": {
        "title": ["Rechnung", "RECHNUNG"], "credit_title": ["Gutschrift"],
        "number": ["Rechnungsnummer", "Rechnungs-Nr.", "Rechnung Nr.", "Beleg-Nr."], "credit_number": ["Gutschrift-Nr."],
        "date": ["Rechnungsdatum", "Datum", "Belegdatum"], "due": ["Fällig am", "Fälligkeitsdatum", "Zahlbar bis"],
        "net": ["Nettobetrag", "Zwischensumme", "Summe netto", "Gesamt netto"],
        "tax": ["MwSt. {rate}%", "USt. {rate} %", "Umsatzsteuer {rate}%", "zzgl. {rate}% MwSt."],
        "total": ["Gesamtbetrag", "Rechnungsbetrag", "Endbetrag", "Gesamt brutto", "Zu zahlender Betrag"],
        "ref": ["Bestellnummer", "Ihre Bestellung", "Auftragsnummer"], "bill_to": ["Rechnungsempfänger", "Kunde", None],
        "vat": ["USt-IdNr.", "USt-ID"], "terms": ["Zahlbar innerhalb von {d} Tagen ohne Abzug", "Zahlungsziel: {d} Tage netto"],
        "head": ["Bezeichnung", "Menge", "Einzelpreis", "Gesamt"], "bank": "Bankverbindung",
        "thanks": "Vielen Dank für Ihren Auftrag.",
        "items": ["Beratungsleistung", "Webhosting (jährlich)", "Bürostühle", "Softwarelizenz", "Wartung", "Reisekosten",
                  "Druckerpatronen", "Gestaltung", "Supportvertrag", "Schulungstag"],
        "rates": {"DE": [19, 7], "AT": [20, 10]},
    },
    "fr": {
        "title": ["FACTURE", "Facture"], "credit_title": ["AVOIR", "Facture d'avoir"],
        "number": ["Facture n°", "N° de facture", "Numéro de facture"], "credit_number": ["Avoir n°"],
        "date": ["Date de facture", "Date", "Date d'émission"], "due": ["Date d'échéance", "Échéance", "À payer avant le"],
        "net": ["Total HT", "Montant HT", "Sous-total"], "tax": ["TVA {rate} %", "Montant TVA ({rate} %)"],
        "total": ["Total TTC", "Montant TTC", "Net à payer", "Total à payer"],
        "ref": ["Bon de commande", "Votre référence", "N° de commande"], "bill_to": ["Facturé à", "Client", "Adresse de facturation"],
        "vat": ["N° TVA", "TVA intracommunautaire"], "terms": ["Paiement à {d} jours", "Conditions de paiement : {d} jours net"],
        "head": ["Désignation", "Qté", "Prix unitaire", "Montant"], "bank": "Coordonnées bancaires",
        "thanks": "Merci de votre confiance.",
        "items": ["Prestation de conseil", "Hébergement web (annuel)", "Chaises de bureau", "Licence logicielle",
                  "Maintenance", "Frais de déplacement", "Cartouches d'encre", "Conception graphique", "Formation"],
        "rates": {"FR": [20, 10], "BE": [21, 6]},
    },
    "nl": {
        "title": ["FACTUUR", "Factuur"], "credit_title": ["CREDITNOTA", "Creditnota"],
        "number": ["Factuurnummer", "Factuurnr.", "Factuur nr."], "credit_number": ["Creditnotanummer"],
        "date": ["Factuurdatum", "Datum"], "due": ["Vervaldatum", "Te betalen voor"],
        "net": ["Subtotaal", "Totaal excl. BTW", "Bedrag excl. btw"], "tax": ["BTW {rate}%", "Btw {rate}%"],
        "total": ["Totaal", "Totaal incl. BTW", "Te betalen", "Totaalbedrag"],
        "ref": ["Uw referentie", "Inkoopordernummer", "Bestelnummer"], "bill_to": ["Factuur aan", "Klant"],
        "vat": ["BTW-nummer", "Btw-nr."], "terms": ["Betaling binnen {d} dagen", "Betalingstermijn: {d} dagen"],
        "head": ["Omschrijving", "Aantal", "Prijs", "Bedrag"], "bank": "Bankgegevens", "thanks": "Bedankt voor uw opdracht.",
        "items": ["Advieswerkzaamheden", "Webhosting (jaarlijks)", "Bureaustoelen", "Softwarelicentie", "Onderhoud",
                  "Reiskosten", "Printerinkt", "Ontwerpwerk", "Supportcontract", "Trainingsdag"],
        "rates": {"NL": [21, 9], "BE": [21, 6]},
    },
}
# Rates for the locales that invoice from another country.
for _lang in LANGS.values():
    _lang["rates"].setdefault("GB", [20])
    _lang["rates"].setdefault("DE", [19])
    _lang["rates"].setdefault("FR", [20])

_FIRST = ["Nordlicht", "Bergmann", "Alpen", "Kestrel", "Harbour", "Lumen", "Vogel", "Orchard", "Granite", "Meridian",
          "Brightwater", "Falke", "Rivage", "Colline", "Duinzicht", "Polder", "Tulpen", "Sterling", "Ashford", "Weiss"]
_SECOND = ["Systems", "Consulting", "Logistik", "Design", "Solutions", "Technik", "Services", "Media", "Bureau", "Partners",
           "Handel", "Conseil", "Studio", "Trading", "Werkstatt", "Groep", "Digital", "Supplies"]
_FORMS = {"DE": ["GmbH", "AG", "GmbH & Co. KG", "UG"], "AT": ["GmbH", "AG"], "GB": ["Ltd", "Limited", "PLC", "LLP"],
          "IE": ["Ltd", "Limited"], "FR": ["SARL", "SAS", "SA"], "BE": ["SRL", "BV", "SA"], "NL": ["B.V.", "BV", "N.V."]}
_STREETS = {"DE": ["Hauptstraße", "Bahnhofstr.", "Lindenweg"], "AT": ["Ringstraße", "Mariahilfer Str."],
            "GB": ["High Street", "Station Road", "Mill Lane"], "IE": ["Main Street", "Quay Road"],
            "FR": ["rue de la Paix", "avenue Victor Hugo", "boulevard Voltaire"], "BE": ["rue Royale", "Kerkstraat"],
            "NL": ["Kerkstraat", "Dorpsstraat", "Stationsweg"]}
_CITIES = {"DE": ["10115 Berlin", "80331 München", "50667 Köln"], "AT": ["1010 Wien", "8010 Graz"],
           "GB": ["London EC1A 1BB", "Leeds LS1 4AP"], "IE": ["Dublin 2", "Cork T12"],
           "FR": ["75002 Paris", "69001 Lyon"], "BE": ["1000 Bruxelles", "2000 Antwerpen"],
           "NL": ["1012 AB Amsterdam", "3511 LX Utrecht"]}
_PEOPLE = ["Anna Schmidt", "Jean Dupont", "Sophie Martin", "Pieter de Vries", "Emma Jones", "Lukas Weber", "Marie Leroy"]


def company(rng: random.Random, country: str) -> str:
    return f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {rng.choice(_FORMS[country])}"


def person_or_company(rng: random.Random, country: str) -> str:
    customer_country = rng.choice(list(_FORMS))
    if rng.random() < 0.25:
        return rng.choice(_PEOPLE)
    return f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {rng.choice(_FORMS[customer_country])}"


def street(rng: random.Random, country: str) -> tuple[str, str]:
    return f"{rng.choice(_STREETS[country])} {rng.randint(1, 180)}", rng.choice(_CITIES[country])
