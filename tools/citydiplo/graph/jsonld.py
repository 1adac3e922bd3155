"""Compacted JSON-LD from RDF triples: deterministic, with a ``@context``
that declares the project prefixes.

pyoxigraph writes expanded JSON-LD only (full IRIs, a node object per
triple group, random blank-node labels). Data users want the compact form
(``"skos:prefLabel"``, ``"@type": "cd:Forum"``), so this module writes it
directly from triples:

- the ``@context`` holds the prefixes, nothing else: every key and value
  below is a compact IRI that a JSON-LD 1.1 (or 1.0) processor expands back
  to the same IRI, so the document is lossless;
- one node object per subject, in ``@graph``, sorted by ``@id``; a blank
  node used exactly once as an object is embedded where it is used (like
  Turtle's ``[ … ]``), the others keep their (canonical) label;
- literals keep their lexical form: ``xsd:string`` as a JSON string,
  language-tagged text as ``{"@value", "@language"}``, other datatypes as
  ``{"@value", "@type"}``;
- keys and values sorted, so the same triples give the same bytes (feed it
  canonicalised triples, as :func:`citydiplo.export.canonical` makes them).
"""

from __future__ import annotations

import json
from collections import defaultdict

from pyoxigraph import BlankNode, Literal, NamedNode, Triple

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


class Compactor:
    """Turns IRIs into compact IRIs with the longest matching prefix."""

    def __init__(self, prefixes: dict[str, str]):
        # longest namespace first, so that cdi: wins over a shorter match
        self.prefixes = sorted(prefixes.items(), key=lambda kv: (-len(kv[1]), kv[0]))

    def __call__(self, iri: str) -> str:
        for prefix, ns in self.prefixes:
            if iri.startswith(ns):
                local = iri[len(ns) :]
                # an empty local part or one starting with '//' would not
                # expand back to the same IRI
                if local and not local.startswith("//"):
                    return f"{prefix}:{local}"
        return iri


def context(prefixes: dict[str, str]) -> dict[str, str]:
    return dict(sorted(prefixes.items()))


def _sort_key(term) -> tuple:
    if isinstance(term, NamedNode):
        return (0, term.value, "", "")
    if isinstance(term, BlankNode):
        return (1, term.value, "", "")
    return (2, term.value, term.language or "", term.datatype.value if term.datatype else "")


def to_jsonld(triples: list[Triple], prefixes: dict[str, str], embed_blank_nodes: bool = True) -> dict:
    """A compacted JSON-LD document (as a dict) for ``triples``."""
    compact = Compactor(prefixes)
    by_subject: dict = defaultdict(list)
    uses: dict = defaultdict(int)
    for t in triples:
        by_subject[t.subject].append(t)
        if isinstance(t.object, BlankNode):
            uses[t.object] += 1
    embedded = set()
    if embed_blank_nodes:
        embedded = {b for b, n in uses.items() if n == 1 and b in by_subject}
        parent = {t.object: t.subject for t in triples if t.object in embedded}
        # a cycle of blank nodes each used once cannot be embedded: keep one
        # of each cycle at the top level
        for start in sorted(embedded, key=lambda b: b.value):
            seen, node = set(), start
            while node in embedded and node not in seen:
                seen.add(node)
                node = parent.get(node)
            if node is not None and node == start:
                embedded.discard(start)

    def node_id(term) -> str:
        return compact(term.value) if isinstance(term, NamedNode) else f"_:{term.value}"

    def value(term):
        if isinstance(term, NamedNode):
            return {"@id": compact(term.value)}
        if isinstance(term, BlankNode):
            if term in embedded:
                return node_object(term, with_id=False)
            return {"@id": f"_:{term.value}"}
        assert isinstance(term, Literal)
        if term.language:
            return {"@value": term.value, "@language": term.language}
        datatype = term.datatype.value if term.datatype else XSD_STRING
        if datatype == XSD_STRING:
            return term.value
        return {"@value": term.value, "@type": compact(datatype)}

    def node_object(subject, with_id: bool = True) -> dict:
        obj: dict = {}
        if with_id:
            obj["@id"] = node_id(subject)
        types, props = [], defaultdict(list)
        for t in by_subject.get(subject, []):
            if t.predicate.value == RDF_TYPE and not isinstance(t.object, Literal):
                types.append(node_id(t.object))
            else:
                props[compact(t.predicate.value)].append(t.object)
        if types:
            types = sorted(set(types))
            obj["@type"] = types[0] if len(types) == 1 else types
        for key in sorted(props):
            values = [value(v) for v in sorted(set(props[key]), key=_sort_key)]
            obj[key] = values[0] if len(values) == 1 else values
        return obj

    def top_key(subject) -> tuple:
        return (isinstance(subject, BlankNode), subject.value)

    graph = [node_object(s) for s in sorted(by_subject, key=top_key) if s not in embedded]
    return {"@context": context(prefixes), "@graph": graph}


def dumps(document: dict) -> str:
    """Stable text: two-space indent, UTF-8 characters kept, a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
