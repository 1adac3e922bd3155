"""The website: compile the graph into pages, the Sphinx extension, the build,
and the per-IRI publication files. Imports from :mod:`citydiplo.graph` and the floor.
"""
