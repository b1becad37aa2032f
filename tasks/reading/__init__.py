"""From a document's bytes to positioned text: the PDF text layer and its lines, tesseract OCR of
scans and images (with the re-read of ink the layout analysis dropped), and e-invoice XML, whose
fields are exact. The reader registry says which kinds of document can be read and by what;
every other list of readable kinds is derived from it.
"""
