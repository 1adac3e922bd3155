"""The local server (:mod:`.server`): the built site, IRIs by content
negotiation and a read-only SPARQL endpoint; and the author's preview that
rebuilds on save (:mod:`.watch`, ``serve --watch``). Imports from
:mod:`citydiplo.graph`, :mod:`citydiplo.site` and :mod:`citydiplo.print`.
"""
