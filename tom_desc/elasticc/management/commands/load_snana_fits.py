"""Load SNANA HEAD/PHOT/DUMP files into a campaign's tables (the engine is elasticc.loading.loader).

python manage.py load_snana_fits DIR_OR_TARBALL...                       # the ELAsTiCC tables
python manage.py load_snana_fits DIR_OR_TARBALL... --campaign elasticc2  # the ELAsTiCC2 ppdb and truth
python manage.py load_snana_fits -d DIR... --ppdb --do      # the original's flags: the ELAsTiCC2 ppdb
"""

from django.core.management.base import BaseCommand, CommandError

from elasticc.loading import campaigns, inputs, loader, snana
from elasticc.loading.errors import SnanaError
from elasticc.management import original_flags


class Command(BaseCommand):
    help = (
        "Load SNANA simulation output (directories or .tar/.tar.gz/.tar.bz2 archives holding "
        "*_HEAD.FITS.gz / *_PHOT.FITS.gz pairs and one <dir>.DUMP truth table per directory) into "
        "diaObject, diaSource (PHOTFLAG & 4096), diaForcedSource (every point), diaAlert (one unsent "
        "alert per source), diaTruth and diaObjectTruth, with COPY; with --campaign elasticc2 (or the "
        "original's --ppdb) into the ELAsTiCC2 ppdb tables and object truth. Fluxes are rescaled from zero point "
        "27.5 to 31.4; ids are SNID*100000 + the point's index within the object. Each HEAD/PHOT pair is "
        "one transaction, and objects already in the database are skipped, so re-running on the same "
        "files adds nothing. An unreadable, truncated or missing file fails its pair (nothing of it is "
        "stored), the other pairs still load, and the command exits non-zero naming the file. "
        "The original DESC TOM's -d/--directories, --do, --ppdb and -s/--simversion are accepted "
        "(docs/loading.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "paths",
            nargs="*",
            metavar="DIR_OR_TARBALL",
            help="a SNANA output directory (searched recursively) or a tarball of one",
        )
        parser.add_argument(
            "-d",
            "--directories",
            nargs="+",
            default=[],
            metavar="DIR",
            help="the original's spelling of the paths (one or more; may be combined with them)",
        )
        parser.add_argument(
            "--campaign",
            choices=campaigns.names(),
            default=None,
            help="whose tables to load: elasticc (the default) or elasticc2 (its ppdb tables and truth)",
        )
        parser.add_argument(
            "--ppdb",
            action="store_true",
            help="the original's flag: load the ELAsTiCC2 ppdb tables (the same as --campaign elasticc2)",
        )
        parser.add_argument(
            "-s",
            "--sim-version",
            "--simversion",
            dest="sim_version",
            default=None,
            help="value for the objects' simVersion (default: NULL for elasticc, 2023-04-01 for elasticc2 "
            "as the original wrote it)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        # The original's flags. It only read the files without --do and loaded either the
        # ELAsTiCC2 PPDB (--ppdb, above) or the training tables (--train); this loader always
        # writes, so --do says what it does anyway.
        original_flags.accept(parser, "--do", "--dont-disable-indexes-fks", "--verbose")
        original_flags.accept(parser, "-n", "--nprocs", takes_value=True)
        original_flags.refuse(parser, "--train", reason="there are no training tables here", takes_value=False)
        original_flags.refuse(
            parser, "-f", "--files", reason="give the directories or tarballs to load; every pair in them is loaded"
        )
        original_flags.fixed(parser, "-m", "--max-sources-per-object", value=snana.ID_STRIDE, what="id stride")
        original_flags.fixed(parser, "-p", "--photflag-detect", value=snana.DETECTION_BIT, what="detection bit")
        original_flags.fixed(parser, "-z", "--snana-zeropoint", value=snana.SNANA_ZEROPOINT, what="SNANA zero point")
        original_flags.fixed(parser, "-a", "--alert-zeropoint", value=snana.ALERT_ZEROPOINT, what="alert zero point")

    def handle(self, *args, **options):
        from tqdm import tqdm

        given = options["paths"] + options["directories"]
        if not given:
            raise CommandError("give at least one directory or tarball to load (DIR_OR_TARBALL or -d DIR)")
        campaign = options["campaign"] or ("elasticc2" if options["ppdb"] else "elasticc")
        if options["ppdb"] and campaign != "elasticc2":
            raise CommandError(f"--ppdb loads the ELAsTiCC2 ppdb tables; it contradicts --campaign {campaign}")
        try:
            target = campaigns.target(campaign)
            paths = inputs.existing_paths(given)
            with tqdm(
                total=inputs.count_pairs(paths),
                unit="pair",
                desc="load_snana_fits",
                disable=options["no_progress"],
                dynamic_ncols=True,
            ) as bar:
                report = loader.load(
                    paths,
                    sim_version=options["sim_version"],
                    progress=loader.progress_bar_callback(bar),
                    target=target,
                )
        except SnanaError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(report.summary())
        for failure in report.failures:
            self.stderr.write(f"failed: {failure}")
        if report.failures:
            raise CommandError(report.failure_text())
