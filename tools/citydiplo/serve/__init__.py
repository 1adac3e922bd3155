"""The local server (:mod:`.server`): the built site, IRIs by content
negotiation and a read-only SPARQL endpoint. Imports from :mod:`citydiplo.graph`.
"""
