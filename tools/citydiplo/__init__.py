"""citydiplo: validate and compile the city-diplomacy knowledge graph and handbook.

The package is a pure core (load, validate, compile, export) with thin edges:
the command line (:mod:`citydiplo.cli`) and the Sphinx extension
(:mod:`citydiplo.sphinxext`).
"""

__version__ = "0.1.0"
