"""Which specification an e-invoice claims to follow (BT-24), and what that means for its checks."""

from __future__ import annotations

from dataclasses import dataclass

# (marker in the customization / guideline id, the name people know it by); first match wins.
_PROFILES: tuple[tuple[str, str], ...] = (
    ("xrechnung", "XRechnung"),
    ("peppol.eu:2017:poacc:billing:3.0", "Peppol BIS Billing 3.0"),
    ("factur-x.eu:1p0:minimum", "Factur-X / ZUGFeRD MINIMUM"),
    ("factur-x.eu:1p0:basicwl", "Factur-X / ZUGFeRD BASIC WL"),
    ("factur-x.eu:1p0:basic", "Factur-X / ZUGFeRD BASIC"),
    ("factur-x.eu:1p0:extended", "Factur-X / ZUGFeRD EXTENDED"),
    ("zugferd.de:2p0:minimum", "ZUGFeRD MINIMUM"),
    ("zugferd.de:2p0:basicwl", "ZUGFeRD BASIC WL"),
    ("zugferd.de:2p0:basic", "ZUGFeRD BASIC"),
    ("zugferd.de:2p0:extended", "ZUGFeRD EXTENDED"),
    ("urn:ferd:crossindustrydocument:invoice:1p0", "ZUGFeRD 1.0 profile"),
    ("urn:cen.eu:en16931:2017", "EN 16931"),
)
# Profiles that carry less than an EN 16931 invoice (no lines, no tax breakdown): not e-invoices in law.
BELOW_EN16931 = frozenset({"Factur-X / ZUGFeRD MINIMUM", "Factur-X / ZUGFeRD BASIC WL", "ZUGFeRD MINIMUM",
                           "ZUGFeRD BASIC WL"})


@dataclass(frozen=True)
class Profile:
    """What an invoice claims: its syntax, the id it states and the name of that specification."""

    syntax: str  # "CII", "UBL" or "ZUGFeRD 1.0" (the CII draft before D16B)
    identifier: str | None
    name: str

    @property
    def en16931(self) -> bool:
        """Whether the EN 16931 business rules apply (ZUGFeRD 1.0 and the small profiles are not EN 16931)."""
        return self.syntax != "ZUGFeRD 1.0" and self.name not in BELOW_EN16931

    @property
    def xrechnung(self) -> bool:
        return self.name == "XRechnung"

    @property
    def peppol(self) -> bool:
        return self.name == "Peppol BIS Billing 3.0"


def classify(syntax: str, root_name: str, identifier: str | None) -> Profile:
    """The profile of an invoice of ``syntax`` whose root element is ``root_name``, claiming ``identifier``."""
    if root_name == "CrossIndustryDocument":
        return Profile("ZUGFeRD 1.0", identifier, "ZUGFeRD 1.0")
    folded = (identifier or "").lower()
    for marker, name in _PROFILES:
        if marker in folded:
            return Profile(syntax, identifier, name)
    return Profile(syntax, identifier, "unknown (no EN 16931 customization id)" if not identifier else identifier)
