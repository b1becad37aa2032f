"""E-invoices as the law asks: EN 16931 validation (schema, business rules, the CIUS an invoice
claims), the page of a hybrid PDF against its XML, and a readable rendering of XML-only invoices."""
