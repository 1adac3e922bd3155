"""The ``citydiplo`` command: ``main(argv) -> int``.

User mistakes (bad Turtle, a SHACL violation, an unknown query) are reported
as ``path:line: entity: message`` lines and a non-zero exit, never as a
traceback.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path

from . import __version__
from .config import ConfigError, Project, load_project
from .paths import UnsafePath

EPILOG = """\
examples:
  citydiplo validate                 check the knowledge graph (vocab/)
  citydiplo build                    validate, build the site and the dump (the main job)
  citydiplo build --edition trainer  the site with trainer notes, into build/html-trainer
  citydiplo build --with-downloads   the site with the course packs, the slides and the EPUB in downloads/
  citydiplo export                   the dump alone, into build/dist/
  citydiplo coursepack gfmd --edition trainer
                                     a PDF course pack, into build/coursepacks/gfmd-trainer.pdf
  citydiplo slides gfmd --workshop "City diplomacy training" --date 2027-03-15
                                     16:9 slides of a module, into build/slides/gfmd.pdf
  citydiplo epub                     the whole handbook as an EPUB, into build/epub/
  citydiplo epub --edition trainer   the EPUB with trainer and facilitator notes, into build/epub-trainer/
  citydiplo query vocab/queries/co-leads-of-mayors-mechanism.rq
  citydiplo query 'SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }'
  citydiplo diff old/dist/0.1.0 build/dist
                                     entities added, removed and changed between two releases
  citydiplo serve --port 8000        preview the built site and a SPARQL endpoint on http://127.0.0.1:8000/
                                     (for local use; to host the site see conf/nginx/)
  citydiplo serve --watch            the same, rebuilt whenever a file in handbook/, vocab/ or conf/ is saved
"""


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number: use 1-65535, or 0 for any free port")
    return port


def positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds between 0 and 3600")
    return seconds


def worker_count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 16:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of workers between 1 and 16")
    return int(text)


def jobs_arg(value: str):
    """``--jobs``: ``auto`` or a whole number of at least 1."""
    if value == "auto":
        return value
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', got {value!r}") from None
    if not 1 <= number <= 512:
        raise argparse.ArgumentTypeError(f"expected a number from 1 to 512, got {number}")
    return number


def out_arg(value: str) -> Path:
    """``--out``: a folder that can be created or replaced: no part of it is a
    file, and an existing folder is empty or a previous dump."""
    path = Path(value).expanduser().absolute()
    for part in (path, *path.parents):
        if part.exists() and not part.is_dir():
            raise argparse.ArgumentTypeError(f"{value}: {part} is a file, not a folder")
    if path.is_dir() and any(path.iterdir()) and not (path / "SHA256SUMS").is_file():
        raise argparse.ArgumentTypeError(
            f"{value} is a folder that holds other files; the dump replaces the whole folder, so name a new "
            "or empty folder (or a previous dump)"
        )
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="citydiplo",
        description="Validate the city-diplomacy knowledge graph and build the handbook and its data dump.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--root",
        help="the project's root folder (default: $CITYDIPLO_ROOT, else the current folder or the nearest "
        "folder above it that holds conf/citydiplo.toml)",
    )
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
        "and the slides of every module, and put them in the site's downloads/ (slow: WeasyPrint)",
    )
    p.add_argument("--jobs", "-j", type=jobs_arg, default="auto", help="parallel Sphinx workers (default: auto)")

    p = sub.add_parser("export", help="write the data dump into build/dist/")
    p.add_argument(
        "--out", type=out_arg, default=None, help="output folder, new or a previous dump (default: build/dist)"
    )

    p = sub.add_parser("query", help="run a SPARQL query against the graph")
    p.add_argument("query", help="a .rq file, a query name from vocab/queries/, or the query text")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")

    p = sub.add_parser("diff", help="list the entities added, removed and changed between two dumps")
    p.add_argument("old", type=Path, help="the older dump: a file (citydiplo.nt, .ttl, .jsonld) or a folder")
    p.add_argument("new", type=Path, help="the newer dump: a file or a folder (e.g. build/dist/)")

    p = sub.add_parser(
        "serve",
        help="preview the built site (IRIs negotiated) and a read-only SPARQL endpoint, for local use",
        description="Preview the built site and query the graph on this machine. For local use only: "
        "to host the site, use nginx (conf/nginx/, handbook/data/hosting.md).",
    )
    p.add_argument("--port", "-p", type=port_number, default=8000, help="TCP port (default: 8000; 0 picks a free one)")
    p.add_argument(
        "--bind",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only; any other address warns)",
    )
    p.add_argument("--site", type=Path, default=None, help="the built site (default: build/html)")
    p.add_argument(
        "--timeout",
        type=positive_seconds,
        default=10.0,
        help="time limit per SPARQL query in seconds; a slower query is stopped and answered with 503 (default: 10)",
    )
    p.add_argument("--workers", type=worker_count, default=2, help="query worker processes, 1-16 (default: 2)")
    p.add_argument(
        "--watch",
        action="store_true",
        help="an author's preview: build the site, then rebuild it whenever a file in handbook/, vocab/ or conf/ "
        "is saved (open pages reload); a failed rebuild prints its errors and the last good build stays served",
    )
    p.add_argument(
        "--sparql-only",
        action="store_true",
        help="answer only SPARQL queries (at /sparql and /query), from the site's dump or vocab/: "
        "the query backend on 127.0.0.1 behind nginx (handbook/data/hosting.md)",
    )

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
    p.add_argument(
        "--start",
        default=None,
        metavar="HH:MM",
        help="when the workshop starts, for the agenda's clock times (default: [settings.agenda] start, 09:00)",
    )
    p.add_argument(
        "--day",
        choices=["full", "half"],
        default="full",
        help="the agenda for a full day (default) or a half day, from the module's session table",
    )
    forms = p.add_argument_group(
        "forms",
        "Every pack ends with forms: the participant edition with an evaluation form (each session of the "
        "agenda rated 1-5, overall usefulness, next steps, comments), the trainer edition with an attendance "
        "sheet per workshop day (name, city or organisation, email, signature). Without --workshop and --date "
        "they print lines to write on.",
    )
    forms.add_argument(
        "--workshop", metavar="TEXT", help='the workshop\'s name on the forms, e.g. "Migration and cities, Leipzig"'
    )
    forms.add_argument("--date", metavar="YYYY-MM-DD", help="the workshop's (first) day on the forms, e.g. 2027-03-15")
    forms.add_argument(
        "--certificate",
        action="store_true",
        help="add a certificate of participation (needs --workshop and --date): one page with a blank line "
        "for the participant's name",
    )
    forms.add_argument(
        "--certificate-names",
        metavar="FILE",
        help="one certificate per name in FILE (UTF-8, one name per line, blank lines skipped); implies --certificate",
    )
    p.add_argument(
        "--duplex",
        action="store_true",
        help="for double-sided printing: mirrored margins, and every chapter (and the contents, agenda, "
        "glossary and forms) starts on a right-hand page, with an empty page inserted where needed",
    )
    p.add_argument(
        "--jobs",
        "-j",
        type=jobs_arg,
        default="auto",
        help="packs built at once with --all (default: auto, one per core, at most 4)",
    )
    p.add_argument("--verbose", "-v", action="store_true", help="show Sphinx's progress (one pack at a time)")

    p = sub.add_parser(
        "slides", help="16:9 PDF slides of a training module (key messages, diagrams) into build/slides/"
    )
    p.add_argument("module", nargs="?", help="the module: a folder of handbook/modules/ (e.g. gfmd)")
    p.add_argument("--all", action="store_true", help="the slides of every module")
    p.add_argument("--language", "-l", default=None, help="build language (default: the first in conf/citydiplo.toml)")
    p.add_argument("--workshop", default="", metavar="NAME", help="the workshop's name, on the title slide")
    p.add_argument("--date", default="", metavar="DATE", help="the workshop's date (2027-03-15), on the title slide")
    p.add_argument(
        "--jobs",
        "-j",
        type=jobs_arg,
        default="auto",
        help="modules built at once with --all (default: auto, one per core, at most 4)",
    )
    p.add_argument("--verbose", "-v", action="store_true", help="show Sphinx's progress (one module at a time)")

    p = sub.add_parser("epub", help="validate, then build an EPUB of the whole handbook into build/epub/")
    p.add_argument(
        "--edition",
        choices=["participant", "trainer"],
        default="participant",
        help="participant (default), or trainer: with the trainer and facilitator notes, into build/epub-trainer/",
    )
    p.add_argument("--language", "-l", default=None, help="build language (default: the first in conf/citydiplo.toml)")
    p.add_argument("--jobs", "-j", type=jobs_arg, default="auto", help="parallel Sphinx workers (default: auto)")
    return parser


def cmd_validate(project: Project, args) -> int:
    from .graph.load import load
    from .graph.validate import start_shacl, validate

    shacl = start_shacl(project)  # on the second core while the files are loaded
    problems = validate(load(project), shacl=shacl)
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


def file_problems(project: Project) -> bool:
    """Print the file-level problems of vocab/ (unreadable, not UTF-8, a
    folder named *.ttl …); True when there are some."""
    from .graph.load import check_files

    problems = check_files(project)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"citydiplo: {len(problems)} file(s) in vocab/ cannot be read (listed above)", file=sys.stderr)
    return bool(problems)


def notify(message: str) -> None:
    print(f"citydiplo: {message}", file=sys.stderr, flush=True)


def cmd_build(project: Project, args) -> int:
    from .graph.export import ExportError, copy_export, export
    from .site.build import BuildError, build_site

    if args.with_downloads:
        from .print.coursepack import EDITIONS

        # the site copies whatever packs and EPUBs are built (citydiplo.site.theme)
        downloads = argparse.Namespace(
            list=False,
            all=True,
            name=None,
            edition=None,
            start=None,
            day="full",
            workshop=None,
            date=None,
            certificate=False,
            certificate_names=None,
            duplex=False,
            language=args.language,
            jobs=args.jobs,
            verbose=False,
        )
        slides = argparse.Namespace(
            module=None, all=True, language=args.language, workshop="", date="", jobs=args.jobs, verbose=False
        )
        books = [argparse.Namespace(edition=edition, language=args.language, jobs=args.jobs) for edition in EDITIONS]
        if (
            cmd_coursepack(project, downloads)
            or any(cmd_epub(project, book) for book in books)
            or cmd_slides(project, slides)
        ):
            print("citydiplo: build failed: the downloads could not be built (see above)", file=sys.stderr)
            return 1

    dumped = []

    def write_dump(site: Path) -> None:
        # The dump first, then the site: see citydiplo.site.build. The HTML
        # build has just written the same dump into the site (its dist/):
        # copy that one rather than export again.
        from .site.publish import SITE_DUMPS, dump_key

        written = SITE_DUMPS.pop(dump_key(site), None)
        dumped.append(copy_export(project, written) if written is not None else export(project))

    try:
        out = build_site(
            project,
            edition=args.edition,
            language=args.language,
            jobs=args.jobs,
            before_swap=None if args.no_dump else write_dump,
            notify=notify,
        )
    except (BuildError, ExportError) as exc:
        print(f"citydiplo: build failed: {exc}", file=sys.stderr)
        return 1
    print(f"citydiplo: site written to {project.rel(out)}/index.html", file=sys.stderr)
    if dumped:
        result = dumped[0]
        print(f"citydiplo: dump written to {project.rel(result.directory)}/ ({counts(result)})", file=sys.stderr)
    return 0


def cmd_export(project: Project, args) -> int:
    from .files import build_lock
    from .graph.export import ExportError, export

    if file_problems(project):
        return 1
    out = args.out.resolve() if args.out is not None else None
    if out is not None:
        for folder in (project.root, project.vocab_dir, project.handbook_dir, project.conf_dir):
            folder = folder.resolve()
            inside = folder != project.root.resolve() and folder in out.parents
            if out == folder or out in folder.parents or inside:
                print(
                    f"citydiplo: --out {args.out} would write into or replace {folder}; name a folder outside "
                    "the project's sources (for example below build/)",
                    file=sys.stderr,
                )
                return 2
    try:
        with build_lock(project.build_dir, notify=notify):
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

    if file_problems(project):
        return 1
    try:
        text = resolve_query(project, args.query)
        variables, rows = run_query(project, text)
    except QueryError as exc:
        print(f"citydiplo: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(format_results(variables, rows, args.format))
    return 0


def cmd_diff(project: Project, args) -> int:
    from .graph.diff import DiffError, diff, markdown

    try:
        result = diff(project, args.old, args.new)
    except DiffError as exc:
        print(f"citydiplo: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(markdown(project, result))
    return 0


def counts(result) -> str:
    described = result.in_files - result.triples
    return f"{result.in_files:,} triples: {result.triples:,} of data and {described:,} describing the dataset"


def cmd_serve(project: Project, args) -> int:
    from .serve.server import ServeError, serve

    if args.watch and (args.sparql_only or args.site is not None):
        print(
            "citydiplo: --watch rebuilds and serves the site in build/html: it cannot be used with "
            f"{'--sparql-only' if args.sparql_only else '--site'}",
            file=sys.stderr,
        )
        return 2
    try:
        return serve(
            project,
            args.site,
            args.bind,
            args.port,
            timeout=args.timeout,
            workers=args.workers,
            sparql_only=args.sparql_only,
            watch=args.watch,
        )
    except ServeError as exc:
        print(f"citydiplo: {exc}", file=sys.stderr)
        return 1


def vocab_is_valid(project: Project) -> bool:
    """Before PDFs are built: vocab/ has no errors (else they are printed)."""
    from .print.coursepack import CoursePackError, validate_vocab

    try:
        validate_vocab(project)
    except CoursePackError as exc:
        print(f"citydiplo: {exc}", file=sys.stderr)
        return False
    return True


def pack_workers(jobs) -> int:
    """How many packs to build at once: ``--jobs`` (``auto``: one per core, at most 4)."""
    import os

    if jobs in (None, "auto"):
        return max(1, min(4, os.cpu_count() or 1))
    return max(1, int(jobs))


def cmd_coursepack(project: Project, args) -> int:
    from .print.coursepack import EDITIONS, CoursePackError, build_packs, load_packs

    try:
        settings = load_packs(project)
    except CoursePackError as exc:
        print(f"citydiplo: {exc}", file=sys.stderr)
        return 1
    if args.list:
        for pack in settings.packs.values():
            print(f"{pack.name}: {pack.title} ({', '.join(pack.contents)})")
        print(
            "Each pack also holds the agenda of each module and, at the end, forms: an evaluation form "
            "(participant edition) and an attendance sheet (trainer edition); --certificate adds certificates."
        )
        return 0
    if args.all:
        jobs = [(pack, edition) for pack in settings.packs.values() for edition in EDITIONS]
    elif args.name in settings.packs:
        jobs = [(settings.packs[args.name], args.edition)]
    else:
        what = f"unknown course pack {args.name!r}" if args.name else "name a course pack or use --all"
        print(f"citydiplo: {what}; the packs are: {', '.join(settings.packs)}", file=sys.stderr)
        return 2
    if args.start is not None:
        from .print.agenda import AgendaError, parse_time

        try:
            parse_time(args.start)
        except AgendaError as exc:
            print(f"citydiplo: --start: {exc}", file=sys.stderr)
            return 2
    from .print.handouts import HandoutError, workshop_details

    try:
        workshop = workshop_details(
            getattr(args, "workshop", None),
            getattr(args, "date", None),
            getattr(args, "certificate", False),
            getattr(args, "certificate_names", None),
        )
    except HandoutError as exc:
        print(f"citydiplo: {exc}", file=sys.stderr)
        return 2
    if not vocab_is_valid(project):
        return 1
    options = dict(
        language=args.language,
        day=args.day,
        start=args.start,
        workshop=workshop,
        duplex=getattr(args, "duplex", False),
    )
    # packs side by side; with -v (Sphinx's progress on the terminal) build_packs builds one at a time
    workers = pack_workers(getattr(args, "jobs", "auto"))
    outcomes = build_packs(project, jobs, settings, workers=workers, verbose=args.verbose, **options)

    def describe(result) -> list[str]:
        lines = [f"citydiplo: notice: {notice}" for notice in result.notices]
        outside = result.outline.get("outside_links", [])
        if args.verbose:  # on stdout
            for link in outside:
                print(f"citydiplo: link out of the pack ({link['kind']}): {link['chapter']}: {link['uri']}")
        seconds = sum(result.seconds.values())
        lines.append(
            f"citydiplo: {project.rel(result.pdf)} ({result.pages} pages, {seconds:.1f} s); "
            f"{len(outside)} links out of the pack print their address{'' if args.verbose else ' (-v lists them)'}"
        )
        return lines

    named = ((f"course pack {pack.name} ({edition})", result) for pack, edition, result in outcomes)
    return report_outcomes(project, named, len(jobs), "course pack(s)", describe)


def report_outcomes(project: Project, outcomes, total: int, what: str, describe) -> int:
    """Report the outcomes of builds run side by side (course packs, slides):
    ``outcomes`` yields ``(name, result or CoursePackError)`` as they are built
    (under the build lock); ``describe(result)`` gives the lines for a result.
    Returns the exit status: 1 if any failed."""
    from .files import build_lock
    from .print.coursepack import CoursePackError

    failed = 0
    with build_lock(project.build_dir, notify=notify):
        for name, result in outcomes:
            if isinstance(result, CoursePackError):
                print(f"citydiplo: {name} failed:\n{result}", file=sys.stderr)
                failed += 1
                continue
            for line in describe(result):
                print(line, file=sys.stderr)
    if failed:
        print(f"citydiplo: {failed} of {total} {what} failed; their old PDFs were kept", file=sys.stderr)
        return 1
    return 0


def cmd_slides(project: Project, args) -> int:
    from .print.slides import build_many, modules, workshop_date

    known = modules(project)
    if args.all:
        names = known
    elif args.module in known:
        names = [args.module]
    else:
        what = f"unknown module {args.module!r}" if args.module else "name a module or use --all"
        print(f"citydiplo: {what}; the modules are: {', '.join(known) or 'none'}", file=sys.stderr)
        return 2
    language = args.language or project.languages[0]
    if language not in project.languages:
        print(f"citydiplo: unknown language {language!r}: choose {', '.join(project.languages)}", file=sys.stderr)
        return 2
    if not vocab_is_valid(project):
        return 1
    outcomes = build_many(
        project,
        names,
        language,
        args.workshop,
        workshop_date(args.date, language),
        workers=pack_workers(getattr(args, "jobs", "auto")),
        verbose=args.verbose,
    )

    def describe(result) -> list[str]:
        lines = [f"citydiplo: warning: {warning}" for warning in result.warnings]
        lines.append(f"citydiplo: {project.rel(result.pdf)} ({result.pages} slides, {result.seconds:.1f} s)")
        return lines

    named = ((f"slides of {name}", result) for name, result in outcomes)
    return report_outcomes(project, named, len(names), "slide set(s)", describe)


def cmd_epub(project: Project, args) -> int:
    from .site.build import BuildError, build_site

    try:
        edition = getattr(args, "edition", None) or "participant"
        out = build_site(
            project, edition=edition, language=args.language, jobs=args.jobs, builder="epub", notify=notify
        )
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
    "diff": cmd_diff,
    "serve": cmd_serve,
    "coursepack": cmd_coursepack,
    "epub": cmd_epub,
    "slides": cmd_slides,
}


#: The command the last :func:`main` ran (for :func:`console`).
RAN: list[str] = []


#: Python's cyclic garbage collector while a command runs: a collection after
#: every 100,000 new container objects rather than every 700. A build makes
#: millions of objects that live until it ends (the graph, the doctrees), and
#: the default walked them again and again: at 5,000 entities a label edit's
#: rebuild took 20.0-20.4 s with the default, 16.5 s with this (peak memory
#: +37 MiB), 16.2 s with no collection at all. The previous setting is put
#: back afterwards (tests call :func:`main` in their own process).
GC_THRESHOLD = (100_000, 50, 100)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (already printed)
        return exc.code if isinstance(exc.code, int) else 2
    RAN[:] = [args.command]
    try:
        project = load_project(args.root)
    except ConfigError as exc:
        print(f"citydiplo: {exc}", file=sys.stderr)
        return 2
    previous = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLD)
    try:
        return COMMANDS[args.command](project, args)
    except KeyboardInterrupt:
        print("citydiplo: interrupted; the previous output in build/ was kept", file=sys.stderr)
        return 130
    except UnsafePath as exc:
        print(f"citydiplo: refused to write outside its folder: {exc} (run `citydiplo validate`)", file=sys.stderr)
        return 1
    except (OSError, UnicodeDecodeError) as exc:
        where = getattr(exc, "filename", None)
        what = f"{project.rel(Path(where))}: " if where else ""
        print(f"citydiplo: {what}{exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}", file=sys.stderr)
        return 1
    finally:
        gc.set_threshold(*previous)


#: Commands that write their output and end: the ``citydiplo`` script ends
#: them without the interpreter's teardown (below). ``serve`` is not one.
BATCH_COMMANDS = frozenset(COMMANDS) - {"serve"}


def console() -> None:  # pragma: no cover (the installed script; tests call main)
    """The ``citydiplo`` script: :func:`main`, then exit.

    After a batch command has written its output, freeing the objects of a
    large graph one by one (rdflib's graphs, Sphinx's environment) took
    Python's normal exit 2–3 s at 5,000 entities, while the reader waited
    for the prompt. The output is complete and closed by then; standard
    output and error are flushed, and the process ends at once."""
    code = main()
    if RAN and RAN[0] in BATCH_COMMANDS:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    console()
