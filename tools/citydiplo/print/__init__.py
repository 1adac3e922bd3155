"""Print outputs: PDF course packs and the EPUB (:mod:`.coursepack`), the Sphinx
builder behind them (:mod:`.builder`), print forms of components (:mod:`.forms`)
and PDF checks (:mod:`.pdfcheck`). Imports from :mod:`citydiplo.site` and below.
"""
