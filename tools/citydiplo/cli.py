"""The ``citydiplo`` command: ``main(argv) -> int``.

User mistakes (bad Turtle, a SHACL violation, an unknown query) are reported
as ``path:line: entity: message`` lines and a non-zero exit, never as a
traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .config import ConfigError, Project, load_project

EPILOG = """\
examples:
  citydiplo validate                 check the knowledge graph (vocab/)
  citydiplo build                    validate, build the site and the dump (the main job)
  citydiplo build --edition trainer  the site with trainer notes, into build/html-trainer
  citydiplo build --with-downloads   the site with the course packs and the EPUB in downloads/
  citydiplo export                   the dump alone, into build/dist/
  citydiplo coursepack gfmd --edition trainer
                                     a PDF course pack, into build/coursepacks/gfmd-trainer.pdf
  citydiplo epub                     the whole handbook as an EPUB, into build/epub/
  citydiplo query vocab/queries/co-leads-of-mayors-mechanism.rq
  citydiplo query 'SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }'
  citydiplo serve --port 8000         the built site and a SPARQL endpoint on http://127.0.0.1:8000/
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="citydiplo",
        description="Validate the city-diplomacy knowledge graph and build the handbook and its data dump.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--root", help="repository root (default: the checkout this package is installed from)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("validate", help="check vocab/: Turtle syntax, SHACL shapes, references")
    p.add_argument("--quiet", "-q", action="store_true", help="print errors only, not notices")

    p = sub.add_parser("build", help="validate, then build the HTML site and the dump into build/")
    p.add_argument(
        "--edition",
        choices=["participant", "trainer"],
        default="participant",
        help="participant (default, the public site) or trainer (with trainer notes)",
    )
    p.add_argument("--language", "-l", default=None, help="build language (default: the first in conf/citydiplo.toml)")
    p.add_argument("--no-dump", action="store_true", help="skip writing the data dump")
    p.add_argument(
        "--with-downloads",
        action="store_true",
        help="first build every course pack (both editions) and the EPUB in the build language, "
        "and put them in the site's downloads/ (slow: WeasyPrint)",
    )
    p.add_argument("--jobs", "-j", default="auto", help="parallel Sphinx workers (default: auto)")

    p = sub.add_parser("export", help="write the data dump into build/dist/")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: build/dist)")

    p = sub.add_parser("query", help="run a SPARQL query against the graph")
    p.add_argument("query", help="a .rq file, a query name from vocab/queries/, or the query text")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")

    p = sub.add_parser("serve", help="serve the built site (IRIs negotiated) and a read-only SPARQL endpoint")
    p.add_argument("--port", "-p", type=int, default=8000, help="TCP port (default: 8000; 0 picks a free one)")
    p.add_argument("--bind", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--site", type=Path, default=None, help="the built site (default: build/html)")

    p = sub.add_parser("coursepack", help="build PDF course packs (conf/coursepacks.toml) into build/coursepacks/")
    p.add_argument("name", nargs="?", help="the pack to build (see --list)")
    p.add_argument(
        "--edition",
        choices=["participant", "trainer"],
        default="participant",
        help="participant (default) or trainer (with trainer notes)",
    )
    p.add_argument("--all", action="store_true", help="build every pack in both editions")
    p.add_argument("--list", action="store_true", help="list the packs and what they contain")
    p.add_argument("--language", "-l", default=None, help="build language (default: the first in conf/citydiplo.toml)")
    p.add_argument("--verbose", "-v", action="store_true", help="show Sphinx's progress")

    p = sub.add_parser("epub", help="validate, then build an EPUB of the whole handbook into build/epub/")
    p.add_argument("--language", "-l", default=None, help="build language (default: the first in conf/citydiplo.toml)")
    p.add_argument("--jobs", "-j", default="auto", help="parallel Sphinx workers (default: auto)")
    return parser


def cmd_validate(project: Project, args) -> int:
    from .graph.load import load
    from .graph.validate import validate

    problems = validate(load(project))
    shown = [p for p in problems if p.is_error or not args.quiet]
    for problem in shown:
        print(problem)
    n_errors = sum(p.is_error for p in problems)
    n_notices = len(problems) - n_errors
    if n_errors:
        print(f"citydiplo: {n_errors} error(s), {n_notices} notice(s) in vocab/", file=sys.stderr)
        return 1
    print(f"citydiplo: vocab/ is valid ({n_notices} notice(s))", file=sys.stderr)
    return 0


def cmd_build(project: Project, args) -> int:
    from .graph.export import export
    from .site.build import BuildError, build_site

    if args.with_downloads:
        # the site copies whatever packs and EPUB are built (citydiplo.site.theme)
        downloads = argparse.Namespace(
            list=False, all=True, name=None, language=args.language, jobs=args.jobs, verbose=False
        )
        if cmd_coursepack(project, downloads) or cmd_epub(project, downloads):
            print("citydiplo: build failed: the downloads could not be built (see above)", file=sys.stderr)
            return 1
    try:
        out = build_site(project, edition=args.edition, language=args.language, jobs=args.jobs)
    except BuildError as exc:
        print(f"citydiplo: build failed: {exc}", file=sys.stderr)
        return 1
    print(f"citydiplo: site written to {project.rel(out)}/index.html", file=sys.stderr)
    if not args.no_dump:
        result = export(project)
        print(f"citydiplo: dump written to {project.rel(result.directory)}/ ({counts(result)})", file=sys.stderr)
    return 0


def cmd_export(project: Project, args) -> int:
    from .graph.export import ExportError, export

    try:
        result = export(project, args.out)
    except ExportError as exc:
        print(f"citydiplo: export failed: {exc}", file=sys.stderr)
        return 1
    for path in result.files:
        print(project.rel(path))
    print(f"citydiplo: dump written to {project.rel(result.directory)}/ ({counts(result)})", file=sys.stderr)
    return 0


def cmd_query(project: Project, args) -> int:
    from .graph.query import QueryError, format_results, resolve_query, run_query

    try:
        text = resolve_query(project, args.query)
        variables, rows = run_query(project, text)
    except QueryError as exc:
        print(f"citydiplo: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(format_results(variables, rows, args.format))
    return 0


def counts(result) -> str:
    described = result.in_files - result.triples
    return f"{result.in_files:,} triples: {result.triples:,} of data and {described:,} describing the dataset"


def cmd_serve(project: Project, args) -> int:
    from .serve.server import ServeError, serve

    try:
        return serve(project, args.site, args.bind, args.port)
    except ServeError as exc:
        print(f"citydiplo: {exc}", file=sys.stderr)
        return 1


def cmd_coursepack(project: Project, args) -> int:
    import io

    from .print.coursepack import EDITIONS, CoursePackError, build_pack, load_packs, validate_vocab

    try:
        settings = load_packs(project)
    except CoursePackError as exc:
        print(f"citydiplo: {exc}", file=sys.stderr)
        return 1
    if args.list:
        for pack in settings.packs.values():
            print(f"{pack.name}: {pack.title} ({', '.join(pack.contents)})")
        return 0
    if args.all:
        jobs = [(pack, edition) for pack in settings.packs.values() for edition in EDITIONS]
    elif args.name in settings.packs:
        jobs = [(settings.packs[args.name], args.edition)]
    else:
        what = f"unknown course pack {args.name!r}" if args.name else "name a course pack or use --all"
        print(f"citydiplo: {what}; the packs are: {', '.join(settings.packs)}", file=sys.stderr)
        return 2
    try:
        validate_vocab(project)
    except CoursePackError as exc:
        print(f"citydiplo: {exc}", file=sys.stderr)
        return 1
    failed = 0
    for pack, edition in jobs:
        status = sys.stdout if args.verbose else io.StringIO()
        try:
            result = build_pack(project, pack, edition, settings, language=args.language, status=status)
        except CoursePackError as exc:
            print(f"citydiplo: course pack {pack.name} ({edition}) failed:\n{exc}", file=sys.stderr)
            failed += 1
            continue
        for notice in result.notices:
            print(f"citydiplo: notice: {notice}", file=sys.stderr)
        seconds = sum(result.seconds.values())
        print(f"citydiplo: {project.rel(result.pdf)} ({result.pages} pages, {seconds:.1f} s)", file=sys.stderr)
    if failed:
        print(f"citydiplo: {failed} of {len(jobs)} course pack(s) failed; their old PDFs were kept", file=sys.stderr)
        return 1
    return 0


def cmd_epub(project: Project, args) -> int:
    from .site.build import BuildError, build_site

    try:
        out = build_site(project, language=args.language, jobs=args.jobs, builder="epub")
    except BuildError as exc:
        print(f"citydiplo: EPUB build failed: {exc}", file=sys.stderr)
        return 1
    books = sorted(out.glob("*.epub"))
    shown = project.rel(books[0]) if books else project.rel(out) + "/"
    print(f"citydiplo: EPUB written to {shown}", file=sys.stderr)
    return 0


COMMANDS = {
    "validate": cmd_validate,
    "build": cmd_build,
    "export": cmd_export,
    "query": cmd_query,
    "serve": cmd_serve,
    "coursepack": cmd_coursepack,
    "epub": cmd_epub,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        project = load_project(args.root)
    except ConfigError as exc:
        print(f"citydiplo: {exc}", file=sys.stderr)
        return 2
    return COMMANDS[args.command](project, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
