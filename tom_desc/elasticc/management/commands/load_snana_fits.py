"""Load SNANA HEAD/PHOT/DUMP files into the ELAsTiCC tables (the engine is elasticc.loading.loader)."""

from django.core.management.base import BaseCommand, CommandError

from elasticc.loading import inputs, loader
from elasticc.loading.errors import SnanaError


class Command(BaseCommand):
    help = (
        "Load SNANA simulation output (directories or .tar/.tar.gz/.tar.bz2 archives holding "
        "*_HEAD.FITS.gz / *_PHOT.FITS.gz pairs and one <dir>.DUMP truth table per directory) into "
        "diaObject, diaSource (PHOTFLAG & 4096), diaForcedSource (every point), diaAlert (one unsent "
        "alert per source), diaTruth and diaObjectTruth, with COPY. Fluxes are rescaled from zero point "
        "27.5 to 31.4; ids are SNID*100000 + the point's index within the object. Each HEAD/PHOT pair is "
        "one transaction, and objects already in the database are skipped, so re-running on the same "
        "files adds nothing. An unreadable, truncated or missing file fails its pair (nothing of it is "
        "stored), the other pairs still load, and the command exits non-zero naming the file."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "paths",
            nargs="+",
            metavar="DIR_OR_TARBALL",
            help="a SNANA output directory (searched recursively) or a tarball of one",
        )
        parser.add_argument("--sim-version", default=None, help="value for diaObject.simVersion (default: NULL)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        from tqdm import tqdm

        try:
            paths = inputs.existing_paths(options["paths"])
            with tqdm(
                total=inputs.count_pairs(paths),
                unit="pair",
                desc="load_snana_fits",
                disable=options["no_progress"],
                dynamic_ncols=True,
            ) as bar:
                report = loader.load(
                    paths, sim_version=options["sim_version"], progress=loader.progress_bar_callback(bar)
                )
        except SnanaError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(report.summary())
        for failure in report.failures:
            self.stderr.write(f"failed: {failure}")
        if report.failures:
            raise CommandError(report.failure_text())
