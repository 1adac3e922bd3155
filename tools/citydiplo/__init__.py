"""citydiplo: validate and compile the city-diplomacy knowledge graph and handbook.

The package is laid out as the data flows; each room imports only from the
rooms below it:

``cli``            the command line on top (``main(argv) -> int``)
``serve/``         the local server: static site, IRIs by content negotiation, SPARQL
``print/``         course packs and the EPUB: print builder, print forms, PDF checks
``site/``          the website: compile graph → pages, Sphinx extension, build, publication
``graph/``         the knowledge graph: load, validate, views, queries, export, JSON-LD
``config``, ``files``, ``problems``, ``escape``, ``paths``, ``background``
                   the floor: project settings, atomic writes, messages, escaping, safe paths,
                   work forked to a second core

``graph/`` knows nothing of Sphinx; ``site/`` knows nothing of PDFs or servers.
"""

__version__ = "0.2.0"
