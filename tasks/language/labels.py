"""The words invoices use for their fields, in English, German, French and Dutch (and the common
labels of Spanish and Czech invoices).

Patterns are matched against text folded to lowercase without accents (``tasks.language.words.fold``),
so "Fälligkeitsdatum", "FALLIGKEITSDATUM" and "Échéance" / "echeance" read alike. A label may be
followed by ":" "#" "." or "No"; the value is what comes after it on the line or just below it.
"""

from __future__ import annotations

import re

_NO = r"(?:(?:number|numero|nummer|num|no|nr|id)\b|n°|nº|n\.|#)\.?"


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


INVOICE_NUMBER = _any(
    # "Invoice: No. 001": a colon may stand between the document's word and its number word.
    rf"\b(?:tax\s*)?invoice\s*:?\s*{_NO}", rf"\binv\.?\s*{_NO}", rf"\bbill\s*{_NO}",
    # A receipt's number: "Receipt # No.", "Bon-Nr.", "Booking ID".
    rf"\breceipt\s*#?\s*:?\s*{_NO}", rf"\b(?:kassen)?bon\s*-?\s*{_NO}", rf"\bbooking\s*{_NO}",
    rf"\bcredit\s*(?:note|memo)\s*{_NO}", rf"\bdocument\s*{_NO}",
    rf"\b[a-z]*rechnungs?\s*-?\s*{_NO}", rf"\bhonorarnote\s*-?\s*{_NO}", r"\bre\.?\s*-\s*nr\b\.?", rf"\bbeleg\s*-?\s*{_NO}", rf"\bgutschrifts?\s*-?\s*{_NO}",
    # "N° de facture", and its "°" as OCR reads it ("N’ de facture", "N* de facture")
    r"\b(?:numero|n\s?[°º'’*]|no|num\.?)\s*(?:de\s*(?:la\s*)?)?(?:facture|l'?avoir|avoir)\b", rf"\bfacture\s*{_NO}",
    rf"\bavoir\s*{_NO}",
    rf"\bfactuur\s*-?\s*{_NO}", r"\bfactuurnr\b\.?", rf"\bcreditnota\s*-?\s*{_NO}",
    # Spanish and Czech: "Número de factura", "Factura N.º", "Faktura č.", "Číslo faktury"
    r"\b(?:numero|n\.?\s?[°º])\s*de\s*factura\b", rf"\bfactura\s*{_NO}", r"\bfaktura\s*(?:c\.|cislo\b)",
    r"\bcislo\s*(?:faktury|dokladu)\b", r"\bvariabilni\s*symbol\b",
)
# A document title followed by its number ("INVOICE INV-0042", "Rechnung 2024-17"): weaker.
# Matched only at the start of a cell (``Reader.labelled(..., cell_start=True)``).
TITLE_NUMBER = re.compile(
    r"(?:tax\s*)?(?:invoice|[a-z]*rechnung|honorarnote|gutschrift|facture|avoir|factuur|creditnota|factura|faktura)\b\s*[:#]?")
# The number of another invoice the document refers to ("Storno zu Rechnung Nr.", "credit note for
# invoice no.", "concerne facture n°", "creditnota bij factuur nr."): words just before the label.
OTHER_INVOICE = re.compile(
    r"(?:\b(?:zu|zur|betrifft|bezug|storniert|to|for|against|re|regarding|original|related|corrected|sur|concerne|"
    r"relative?\s*a\s*la|bij|op|betreft|oorspronkelijke|ursprungliche[nr]?|korrigierte[nr]?)\s*:?\s*)$")
# A number cell of a header row with no word of its own ("Numéro | Date | N° client" over its values).
BARE_NUMBER = re.compile(r"(?:numero|nummer|number|no\.?|nr\.?|n°|nº)\s*:?")

ISSUE_DATE = _any(
    r"\binvoice\s*date\b", r"\bdate\s*of\s*(?:issue|invoice)\b", r"\bissue\s*date\b", r"\bdate\s*issued\b",
    r"\bbilling\s*date\b", r"\brechnungsdatum\b", r"\bbelegdatum\b", r"\bausstellungsdatum\b",
    r"\bdate\s*(?:de\s*(?:la\s*)?)?factur(?:e|ation)\b", r"\bdate\s*d'?\s*emission\b", r"\bfactuurdatum\b",
    r"\bdatum\s*factuur\b",
    r"\bfecha\s*(?:de\s*)?(?:la\s*)?(?:factura|emision|expedicion)\b", r"\bdatum\s*(?:vydani|vystaveni)\b",
    # "Facture 2024-1107 du 07/11/2024", "Rechnung 17 vom 05.01.2024", "Invoice 42 of 5 May 2024"
    r"\b(?:invoice|rechnung|facture|factuur)\b[^:\n]{0,30}?\s(?:du|vom|of|dated|van)\b",
)
GENERIC_DATE = re.compile(r"\b(?:date|datum|dated|le|fecha)\b")
NOT_ISSUE_DATE = re.compile(
    r"due|delivery|deliver|ship|order|period|service|valid|payment|paid|print|"
    r"fallig|liefer|leistung|bestell|zahl|auftrag|"
    r"echeance|livraison|commande|paiement|prestation|"
    r"verval|lever|bestel|betaal|betaling|uiterste|regler|avant|before|voor\b|"
    r"vencimiento|entrega|pedido|splatnost|plneni|dodani"
)
DUE_DATE = _any(
    r"\bdue\s*(?:date|on|by)?\b", r"\bpayment\s*due(?:\s*date)?\b", r"\bdate\s*due\b", r"\bpay(?:able)?\s*(?:by|before)\b",
    r"\bfallig(?:keitsdatum|keit|\s*am|\s*bis|\s*zum)?\b", r"\bzahlbar\s*bis(?:\s*zum)?\b", r"\bzahlungsziel\b",
    r"\bdate\s*d'?\s*echeance\b", r"\bechean(?:ce|t)\b", r"\ba\s*payer\s*avant(?:\s*le)?\b", r"\bdate\s*limite(?:\s*de\s*(?:paiement|reglement))?\b",
    r"\bpayable\s*(?:avant|jusqu'?au|le)\b",
    r"\bvervaldatum\b", r"\bvervaldag\b", r"\bte\s*betalen\s*(?:voor|uiterlijk|op)\b", r"\buiterste\s*betaaldatum\b",
    r"\bbetalen\s*voor\b", r"\buiterlijk\s*(?:op\s*)?(?=\d)",
    r"\b(?:uberweise[nt]?|zahlen|begleichen|bezahlen)\b.{0,30}?\bbis\s*(?:spatestens\s*)?(?:zum\s*)?(?=\s*\d)",
    r"\b(?:pay|paid|settle)\b.{0,30}?\b(?:by|before|no\s*later\s*than)\b(?=\s*\d)",
    r"\b(?:regler|payer|verser)\b.{0,30}?\b(?:avant|d'?ici)\s*(?:le\s*)?(?=\s*\d)",
    r"\bfecha\s*de\s*vencimiento\b", r"\bvencimiento\b(?!\s*en\b)", r"\bdatum\s*splatnosti\b", r"\bsplatnost\b",
)
TERMS_CONTEXT = re.compile(
    r"terms|payable|payment|net\s*\d|within|receipt|"
    r"zahlbar|zahlung|zahlungsziel|innerhalb|netto|"
    r"paiement|reglement|payable|sous|a\s*\d+\s*jours|"
    r"betaling|betalen|binnen|betaaltermijn"
)
# Days that are not a payment term: a refund promised, a right to return goods.
NOT_TERMS = re.compile(
    r"refund|repay|return|cancel|credited|"
    r"erstatt|zuruck|ruckgabe|widerruf|gutgeschrieben|"
    r"rembours|retour|retractation|"
    r"\bterug|retourn|herroep"
)
REFERENCE = _any(
    rf"\b(?:purchase\s*order|p\.?\s?o\b\.?)(?![-\d])\s*(?:{_NO})?", rf"\border\s*{_NO}", r"\byour\s*(?:order\s*ref(?:erence)?|ref(?:erence)?|order)\b\.?",
    r"\bcustomer\s*ref(?:erence)?\b", rf"\bbestell\s*-?\s*{_NO}", r"\bbestellung\b", r"\bihre?\s*(?:bestellung|referenz|zeichen|bestellnummer)\b",
    rf"\bauftrags?\s*-?\s*{_NO}", r"\b(?:ihr|kunden)\s*-?\s*auftrag\b", r"\bbon\s*de\s*commande\b", rf"\b(?:{_NO})\s*(?:de\s*)?commande\b", rf"\bcommande\s*{_NO}",
    r"\bvotre\s*(?:reference|commande|ref\b\.?)", rf"\binkoop\s*order\s*(?:{_NO})?", rf"\bbestel\s*{_NO}", r"\bbestelnummer\b",
    r"\buw\s*(?:referentie|kenmerk|ordernummer|order|ref\b\.?)", r"\bordernummer\b", r"\breferen(?:ce|z|tie)\b", r"\bkenmerk\b",
    # the quote the invoice follows
    rf"\b(?:quote|quotation|devis|angebot|offerte)\s*(?:{_NO})",
    # what a credit note corrects
    r"\b(?:original|related|corrected|relating\s*to)\s*invoice\b", r"\b(?:ursprungliche|korrigierte|zur|zu)\s*rechnung\b",
    r"\bfacture\s*(?:d'?origine|initiale|corrigee)\b", r"\boorspronkelijke\s*factuur\b", r"\bbetreft\s*(?:uw\s*)?factuur\b",
    r"\bconcerne\s*(?:(?:la|votre|notre)\s*)?facture\b", r"\bbetrifft\s*(?:(?:die|unsere|ihre)\s*)?rechnung\b",
    r"\bregarding\s*(?:our\s*|your\s*)?invoice\b",
)
CUSTOMER = _any(
    r"\bbill(?:ed)?\s*to\b", r"\binvoice\s*to\b", r"\bsold\s*to\b", r"\bcustomer(?:\s*name)?\b(?!\s*(?:no|nr|number|id|ref|vat))",
    r"\bclient\b(?!\s*(?:no|nr|n°|number|id|ref))", r"\brechnungsempfanger\b", r"\brechnungsadresse\b", r"\bkunde\b(?!n)", r"\bempfanger\b",
    r"\bleistungsempfanger\b",
    r"\bfacture\s*a\b", r"\badresse\s*de\s*facturation\b", r"\bfactuur\s*aan\b", r"\bgefactureerd\s*aan\b", r"\bklant\b(?!nummer)",
    r"\b(?:cobrar|facturar)\s*a\b", r"\bcliente\b(?!\s*(?:no|n°|numero|id))", r"\bkupujici\b", r"\bodberatel\b",
)
# A delivery address: the customer's too, read only to keep its names from being the vendor's.
DELIVERY_ADDRESS = _any(
    r"\bship(?:ped)?\s*to\b", r"\bdeliver(?:y|ed)?\s*(?:to|address)\b", r"\blieferadresse\b", r"\blieferanschrift\b",
    r"\badresse\s*de\s*livraison\b", r"\blivre\s*a\b", r"\bafleveradres\b", r"\bleveringsadres\b", r"\bbezorgadres\b",
)
VENDOR = _any(
    r"^from\b", r"\bseller\b", r"\bsupplier\b(?!\s*(?:no|nr|number|id))", r"\bvendor\b(?!\s*(?:no|nr|number|id))",
    r"\bissued\s*by\b", r"\blieferant\b(?!en)", r"\bverkaufer\b", r"\brechnungssteller\b", r"\bfournisseur\b", r"\bvendeur\b",
    r"\bemetteur\b", r"\bleverancier\b", r"\bverkoper\b", r"\b(?:rechnungs)?aussteller\b",
    r"\bsold\s*by\b", r"\bverkauft\s*(?:von|durch)\b", r"\bvendu\s*par\b", r"\bverkocht\s*door\b",
    r"\bprodejce\b", r"\bdodavatel\b", r"\bproveedor\b", r"\bemisor\b",
)
# The label of the customer's own VAT id, just before it ("N° TVA client :", "UID Kunde:", "Your VAT no."):
# that id is never the vendor's.
CUSTOMER_VAT = _any(
    r"\b(?:customer|client|buyer|kunden?|kaufer|leistungsempfangers?|acheteur|preneur|klant|afnemer|koper|"
    r"your|ihre|votre|uw)'?s?\s*"
    r"(?:vat|tva|btw|ust|uid|mwst|tax)\b[\w.°\s-]{0,16}[:#]?\s*$",
    r"\b(?:vat|tva|btw|ust|uid|mwst)\b[\w.°\s-]{0,16}\b(?:du\s*)?"
    r"(?:customer|client|kunden?|leistungsempfangers?|klant|afnemer|acheteur|preneur|buyer)\s*[:#]?\s*$",
)
# Numbers printed with a country prefix that are not a VAT id: an electrical-waste (WEEE), customs
# (EORI) or trade-register number, by the label just before them.
NOT_VAT_ID = re.compile(r"\b(?:weee|eori|hrb|hra|handelsregister|register|registre|rcs|lucid|verpackungsregister)\b"
                        r"[\w.\s-]{0,16}[:#]?\s*$")
CUSTOMER_CONTEXT = re.compile(r"customer|client|buyer|your|kunde|ihre|kaufer|votre|acheteur|uw\b|klant|afnemer|koper")

# The tax a total holds, named before it ("Betrag enthält 3,26 € MwSt", "dont TVA 3,26", "davon
# USt. 1,21", "of which VAT 2.00"): read before the total words of the same line.
TAX_INCLUDED = re.compile(r"\b(?:enthalt\w*|darin|davon|dont|thereof|of\s*which|waarvan)\b")
# Amount labels, tried in this order: a "total incl. VAT" is a total, a "total excl. VAT" is a net.
TOTAL_STRONG = _any(
    r"\bincl(?:uding|\.|usive|usief)?\b", r"\binkl\b\.?", r"\bttc\b", r"\btvac\b", r"\bbrutto", r"\bgross\b", r"\bnet\s*a\s*payer\b",
    r"\b(?:amount|balance|total)\s*(?:due|payable|to\s*pay)\b", r"\bgrand\s*total\b", r"\binvoice\s*(?:total|amount)\b",
    r"\bzu\s*zahlen(?:de[rn]?)?\b", r"\b(?:rechnungs|end|gesamt|zahl)betrag\b", r"\bgesamtsumme\b", r"\ba\s*payer\b",
    r"\b(?:rechnungs|gesamt|end)total\b", r"\bendsumme\b",
    r"\bmontant\s*(?:total|du)\b", r"\btotaal\s*(?:bedrag|te\s*betalen)\b", r"\bte\s*betalen\b", r"\btotaalbedrag\b",
    r"\bsaldo\s*adeudado\b", r"\btotal\s*(?:a\s*pagar|factura)\b", r"\bimporte\s*total\b", r"\bk\s*uhrade\b",
    r"\bcelkem\s*s\s*dph\b",
)
NET = _any(
    r"\bsub\s*-?\s*total\b", r"\bnet(?:t)?\s*(?:amount|total|value|price)?\b", r"\btotal\s*net\b", r"\bexcl(?:uding|usive)?\b",
    r"\b(?:before|ex|excl\.?|excluding|without|w/?o)\s*(?:vat|tax|gst)\b", r"\bvor\s*(?:steuern|mwst|ust)\b",
    r"\b(?:hors|avant)\s*(?:tva|taxes?)\b", r"\bzonder\s*btw\b", r"\bzwischensumme\b", r"\bnetto",
    r"\bexkl\b", r"\bohne\s*(?:mwst|ust)\b", r"\bwarenwert\b", r"\bh\.?\s?t\.?(?![a-z])", r"\bhors\s*tax", r"\bsous\s*-?\s*total\b",
    r"\bsubtotaal\b", r"\bbase\s*(?:imposable|ht)\b", r"\bmaatstaf\s*van\s*heffing\b", r"\bhtva\b", r"\bexclusief\b",
    r"\btotal\s*parcial\b", r"\bbase\s*imponible\b", r"\bbez\s*(?:dane|dph)\b", r"\bzaklad\s*dane\b",
)
TAX = re.compile(
    r"\b(?:vat|tax|sales\s*tax|gst|hst|pst|qst|tps|tvq|mwst|ust|umsatzsteuer|mehrwertsteuer|versicherungs?steuer|steuer|tva|t\.v\.a|btw|iva|impuestos?|dph)(?![a-z])"
    r"(?!\s*[-.]?\s*(?:id|no|nr|number|reg|nummer|identification|registration|ident|n°|intracom|num)\b)"
)
# A statement that the invoice charges no VAT (small business, exempt supply, reverse charge):
# the total is then the net and the tax is nil even where no line says so. On folded text ("§" is dropped).
NO_VAT = _any(
    r"\b(?:vat|tax)\s*(?:is\s*)?(?:not\s*(?:applicable|charged)|exempt)\b", r"\b(?:exempt\s*from|not\s*registered\s*for)\s*vat\b",
    r"\bno\s*vat\b", r"\breverse\s*charge\b", r"\boutside\s*the\s*scope\s*of\b[\w\s]{0,10}\bvat\b",
    r"\b19\s*(?:abs\.?\s*1\s*)?ustg\b", r"\bkleinunternehmer", r"\b(?:keine|ohne)\s*(?:umsatzsteuer|mwst|ust)\b",
    r"\bumsatzsteuerfrei\b", r"\bsteuerschuldnerschaft\s*des\s*leistungsempfangers\b", r"\b13b\s*ustg\b",
    r"\btva\s*non\s*applicable\b", r"\b293\s*b\b", r"\bexonere?e?\s*de\s*tva\b", r"\bfranchise\s*en\s*base\b",
    r"\bautoliquidation\b",
    r"\bvrijgesteld\s*van\s*btw\b", r"\bbtw\s*-?\s*vrijgesteld\b", r"\bkleineondernemersregeling\b", r"\bgeen\s*btw\b",
    r"\bbtw\s*verlegd\b",
)
ITEM_HEADER = re.compile(
    r"\b(?:qty|quantity|description|unit|price|rate|hours|menge|anzahl|bezeichnung|beschreibung|einzelpreis|"
    r"artikel|pos|designation|quantite|qte|prix|libelle|omschrijving|aantal|prijs|stuks)\b"
)
NOT_AMOUNT = re.compile(r"\b(?:iban|bic|swift|account|konto|compte|rekening|tel|phone|fax|telefon|intracom\w*|siret|siren|"
                        r"kvk|hrb|registre|handelsregister|amtsgericht)\b")
# What a till receipt prints after its total: the money handed over and the change given back.
# Neither is the total; the total is what was handed over less the change.
TENDERED = _any(
    r"^(?:cash|bar|bargeld|gegeben|given|tendered|amount\s*tendered|espece?s|montant\s*recu|contant)\b",
    r"\b(?:cash|amount)\s*tendered\b",
)
CHANGE = _any(
    r"^(?:change|change\s*due|your\s*change|zuruck|ruckgeld|wechselgeld|rendu|monnaie(?:\s*rendue)?|wisselgeld|terug)\b",
)
TOTAL = _any(r"\btotal\b", r"\bgesamt\b", r"\bsumme\b", r"\btotaal\b", r"\bmontant\b", r"\bamount\b", r"\bbetrag\b",
             r"\bimporte\b", r"\bcelkem\b")

CREDIT_NOTE = re.compile(
    r"\bcredit\s*(?:note|memo)\b|\bgutschrift\b|\brechnungskorrektur\b|\bstornorechnung\b|\bavoir\b|"
    r"\bnote\s*de\s*credit\b|\bfacture\s*d'?avoir\b|\bcreditnota\b|\bcreditfactuur\b"
)
# The words of a till receipt, which names itself no invoice: its total, its cash and change lines.
RECEIPT_WORDS = re.compile(
    r"\b(?:receipt|cash|change|sub\s*-?\s*total|thank\s*you|cashier|sales\s*associate|kassierer|kassenbon|kassenbeleg|beleg|bon|summe|zu\s*zahlen|bar|bargeld|"
    r"ruckgeld|gegeben|kartenzahlung|ticket|recu|especes|rendu|kassabon|kasbon|contant|wisselgeld)\b")
INVOICE_WORDS = re.compile(
    r"\b(?:invoice|rechnung|facture|factuur|credit\s*note|gutschrift|avoir|creditnota|bill|factura|faktura)\b")

LANGUAGE_WORDS = {
    "en": re.compile(r"\b(?:invoice|total|amount|due|date|vat|tax|payment|bill|subtotal|terms|thank)\b"),
    "de": re.compile(r"\b(?:rechnung|datum|betrag|mwst|ust|summe|zahlbar|netto|brutto|gesamt|bitte|steuer)\b"),
    "fr": re.compile(r"\b(?:facture|montant|tva|echeance|total|ttc|ht|paiement|reglement|date|le|du|de)\b"),
    "nl": re.compile(r"\b(?:factuur|bedrag|btw|datum|totaal|vervaldatum|betaling|betalen|de|het|van)\b"),
}

# Legal forms that mark a company name. Short, ambiguous ones must be written in capitals.
LEGAL_FORM = re.compile(
    r"(?:\b(?:GmbH(?:\s*&\s*Co\.?\s*KG)?|mbH|AG|KG|OHG|UG(?:\s*\(haftungsbeschränkt\))?|e\.\s?K\.|e\.\s?V\.|KGaA|GbR|"
    r"Ltd|LTD|Limited|LIMITED|LLC|L\.L\.C\.|Inc|INC|Corp|Corporation|plc|PLC|LLP|LP|"
    r"SARL|S\.A\.R\.L\.|SàRL|S\.à\s?r\.?\s?l\.?|SAS|SASU|S\.A\.S\.|SA|S\.A\.|EURL|SCI|SNC|"
    r"B\.V\.|BV|N\.V\.|NV|VOF|V\.O\.F\.|BVBA|SRL|S\.r\.l\.|SpA|S\.p\.A\.|A/S|ApS|AB|Oy|Co\.(?:,?\s*(?:Ltd|KGaA|KG|LLC|Inc)\b\.?)?(?!\s*[A-Z][a-z]))(?:\.|\b|(?<=\.))(?![\w-]))"
)
TITLE_WORDS = re.compile(
    r"^(?:(?:simplified\s*)?(?:tax\s*)?(?:invoice|rechnung|facture|factuur|credit\s*note|gutschrift|avoir|creditnota|"
    r"page|seite|blatt|date|datum|original|copy|kopie|duplicate|bill\s*to|ship\s*to|description|quantity)\b"
    # Words that are a whole line's text on receipts and in table headings, never a name on their own
    # (but may begin one: "Cash & Carry Nord GmbH"): only the word itself, with its punctuation.
    r"|(?:cash(?:\s*sales?)?|slip|items?|article|designation|quittung|beleg|kassenbon|kassenbeleg|bon|receipt|recu|"
    r"ticket|factura|fattura|faktura|cashier|kassierer|kasse)\W*$)"
)
