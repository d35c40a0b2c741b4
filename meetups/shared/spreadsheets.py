"""CSV downloads for planners and the product team: Excel-friendly and safe to open."""
import csv
import io

from flask import Response

# Spreadsheets run a cell that starts like a formula (CSV injection): such cells get a quote.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_download(filename: str, header: list[str], rows: list[list]) -> Response:
    """UTF-8 with a byte-order mark, so that Excel shows Chinese names rather than mojibake."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([[_safe_cell(cell) for cell in row] for row in rows])
    return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    })


def _safe_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
