"""The knowledge graph: load ``vocab/``, validate it, view it, query it, export it.

Nothing here imports Sphinx. Modules: :mod:`.load`, :mod:`.validate`,
:mod:`.views` (labels, slugs, kinds), :mod:`.query`, :mod:`.export`, :mod:`.jsonld`.
"""
