"""Synthetic entities shaped like the real ones, for the scale benchmark.

    python tests/benchmarks/synth.py N OUT.ttl [--root REPO] [--seed 17]

Every synthetic entity is a copy of a real entity of the same kind in
``vocab/data/`` (its types, relations, dates, notes, blank-node memberships
and access options, sources and ``cd:lastChecked``), with its own slug, its own
English and German labels and definitions, and with most of its links to other
entities redirected to synthetic entities of the same classes, so that the
synthetic graph is linked like the real one (cities in networks, pledges made
at meetings by cities, documents adopted at meetings …) and stays SHACL-valid
(``sh:class`` constraints hold because a link only ever points to an entity
with the same types). A quarter of the links keep pointing at the real
entity, as a new city's pledge would point at the real GRF.

Deterministic for a given N and seed.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from pathlib import Path

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF, SKOS

ROOT = Path(__file__).resolve().parents[2]

#: share of each kind among the synthetic entities (by the cd: class local name);
#: pledges, cities, people and meetings are what grows when participation becomes data
WEIGHTS = {
    "Pledge": 22,
    "LocalGovernment": 18,
    "Person": 10,
    "Meeting": 12,
    "Document": 10,
    "CityNetwork": 4,
    "Initiative": 4,
    "InternationalOrganisation": 3,
    "StateBody": 4,
    "CivilSocietyOrganisation": 4,
    "ResearchInstitute": 3,
    "Foundation": 2,
    "Forum": 1,
    "Process": 1,
    "Framework": 1,
    "Business": 1,
}
#: how often a link to an entity is redirected to a synthetic one
REDIRECT = 0.75
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ne",
    "ra",
    "vi",
    "su",
    "to",
    "ber",
    "dan",
    "fel",
    "gor",
    "hal",
    "inn",
    "jus",
    "kor",
    "lem",
    "mor",
    "nor",
    "pel",
    "ros",
    "sal",
    "tem",
    "vel",
    "wen",
]
DROP = {OWL.sameAs, OWL.deprecated, URIRef("http://purl.org/dc/terms/isReplacedBy")}
TEXTS = {SKOS.prefLabel, SKOS.altLabel, SKOS.definition}

KIND_WORD = {
    "Pledge": ("Pledge", "Zusage"),
    "LocalGovernment": ("City of", "Stadt"),
    "Person": ("", ""),
    "Meeting": ("Meeting", "Treffen"),
    "Document": ("Declaration", "Erklärung"),
    "CityNetwork": ("Network of cities", "Städtenetzwerk"),
    "Initiative": ("Initiative", "Initiative"),
    "InternationalOrganisation": ("Agency", "Agentur"),
    "StateBody": ("Ministry", "Ministerium"),
    "CivilSocietyOrganisation": ("Association", "Verein"),
    "ResearchInstitute": ("Institute", "Institut"),
    "Foundation": ("Foundation", "Stiftung"),
    "Forum": ("Forum", "Forum"),
    "Process": ("Process", "Prozess"),
    "Framework": ("Compact", "Pakt"),
    "Business": ("Company", "Unternehmen"),
}


COUNTRY = URIRef("https://w3id.org/citydiplo/def/country")


def name(i: int) -> str:
    """A pronounceable, unique name for index ``i`` (base-25 syllables)."""
    parts = []
    n = i + 25 * 25  # at least three syllables
    while n:
        n, r = divmod(n, len(SYLLABLES))
        parts.append(SYLLABLES[r])
    return "".join(parts).capitalize()


def read_data(root: Path) -> tuple[Graph, dict[str, str]]:
    graph = Graph()
    prefixes: dict[str, str] = {}
    for path in sorted((root / "vocab" / "data").rglob("*.ttl")):
        if path.name.startswith("synthetic"):
            continue
        part = Graph()
        part.parse(path, format="turtle")
        for prefix, ns in part.namespaces():
            if prefix and prefix not in prefixes:
                prefixes[prefix] = str(ns)
        graph += part
    return graph, prefixes


def generate(n: int, root: Path = ROOT, seed: int = 17) -> Graph:
    data, prefixes = read_data(root)
    cd = Namespace(prefixes["cd"])
    cdi = prefixes["cdi"]
    rng = random.Random(seed)

    def types(node) -> tuple:
        return tuple(sorted(str(t) for t in data.objects(node, RDF.type)))

    def local(cls) -> str:
        return str(cls)[len(str(cd)) :]

    templates: dict[str, list[URIRef]] = defaultdict(list)
    for subject in sorted(set(data.subjects(RDF.type, None)), key=str):
        if not str(subject).startswith(cdi) or (subject, OWL.deprecated, None) in data:
            continue
        for cls in data.objects(subject, RDF.type):
            if local(cls) in WEIGHTS and str(cls).startswith(str(cd)):
                templates[local(cls)].append(subject)
                break
    kinds = [k for k in WEIGHTS if templates.get(k)]
    weights = [WEIGHTS[k] for k in kinds]

    # first decide every synthetic entity's template, so links can point forwards
    plan: list[tuple[URIRef, URIRef, str, int]] = []
    by_types: dict[tuple, list[URIRef]] = defaultdict(list)
    for i in range(n):
        kind = rng.choices(kinds, weights)[0]
        template = rng.choice(templates[kind])
        node = URIRef(f"{cdi}syn-{kind.lower()}-{i:05d}")
        plan.append((node, template, kind, i))
        by_types[types(template)].append(node)

    out = Graph()
    for prefix, ns in prefixes.items():
        out.bind(prefix, ns, override=True)

    def target(obj):
        if isinstance(obj, URIRef) and str(obj).startswith(cdi) and rng.random() < REDIRECT:
            choices = by_types.get(types(obj))
            if choices:
                return rng.choice(choices)
        return obj

    def copy(src, dst, label_en: str, label_de: str, definition: tuple[str, str] | None) -> None:
        for p, o in sorted(data.predicate_objects(src), key=lambda po: (str(po[0]), str(po[1]))):
            if p in DROP:
                continue
            if p in TEXTS and definition is not None:
                continue  # written below
            if isinstance(o, BNode):
                inner = BNode()
                out.add((dst, p, inner))
                copy(o, inner, label_en, label_de, None)
            elif p == COUNTRY:  # a country must have its ISO codes: keep the real one
                out.add((dst, p, o))
            else:
                out.add((dst, p, target(o)))

    for node, template, kind, i in plan:
        word_en, word_de = KIND_WORD[kind]
        base = name(i)
        if kind == "Person":
            first = name(i * 7 + 3)[:5].capitalize()
            label_en = label_de = f"{first} {base}"
        else:
            label_en = f"{word_en} {base}".strip()
            label_de = f"{word_de} {base}".strip()
        real_en = next((str(v) for v in data.objects(template, SKOS.prefLabel) if v.language == "en"), "")
        definition = (
            f"{label_en}: a synthetic {kind} for the scale benchmark, modelled on “{real_en}”.",
            f"{label_de}: ein synthetischer Eintrag ({kind}) für den Skalierungstest, "
            f"nach dem Vorbild von „{real_en}“.",
        )
        out.add((node, SKOS.prefLabel, Literal(label_en, lang="en")))
        out.add((node, SKOS.prefLabel, Literal(label_de, lang="de")))
        out.add((node, SKOS.definition, Literal(definition[0], lang="en")))
        out.add((node, SKOS.definition, Literal(definition[1], lang="de")))
        if rng.random() < 0.3:
            out.add((node, SKOS.altLabel, Literal(base[:4].upper(), lang="en")))
        copy(template, node, label_en, label_de, definition)
    return out


#: Largest synthetic file: vocab/ refuses files over 16 MiB (graph.load), so
#: 20,000 entities go into several files, split between subject blocks.
PART_BYTES = 8 * 2**20


def write(graph: Graph, path: Path) -> list[Path]:
    """Write ``path`` (and ``<stem>-2.ttl`` … when the text is over PART_BYTES); returns the files."""
    text = graph.serialize(format="turtle")
    if "_:" in text:
        raise ValueError("a blank node with a label would not survive the split into files")
    lines = text.split("\n")
    cut = next(i for i, line in enumerate(lines) if line.strip() and not line.startswith("@prefix"))
    prefixes, body = "\n".join(lines[:cut]).strip() + "\n\n", "\n".join(lines[cut:])
    parts: list[list[str]] = [[]]
    size = 0
    for block in body.split("\n\n"):
        if size + len(block) > PART_BYTES and parts[-1]:
            parts.append([])
            size = 0
        parts[-1].append(block)
        size += len(block.encode("utf-8")) + 2
    header = "# Synthetic entities for the scale benchmark (tests/benchmarks/synth.py); not real data.\n\n"
    written = []
    for number, blocks in enumerate(parts, start=1):
        target = path if number == 1 else path.with_name(f"{path.stem}-{number}{path.suffix}")
        target.write_text(header + prefixes + "\n\n".join(blocks).strip() + "\n", encoding="utf-8")
        written.append(target)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)
    graph = generate(args.n, args.root, args.seed)
    write(graph, args.out)
    print(f"{args.n} synthetic entities, {len(graph)} triples → {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
