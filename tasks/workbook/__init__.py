"""The Excel workbook: reading its parts safely, finding the tabs and columns that hold invoices,
turning cells into values, applying the rows to the invoices (every row accounted for), and
writing the consolidated workbook back.
"""
