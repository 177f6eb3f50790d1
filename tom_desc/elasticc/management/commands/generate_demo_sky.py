"""Write a deterministic simulated sky in SNANA format (readable by load_snana_fits).

The engine is elasticc.loading.demo_sky (SNANA files) over elasticc.loading.simulation (light curves).
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from elasticc.loading import demo_sky, simulation


class Command(BaseCommand):
    help = (
        "Generate SNANA-format HEAD/PHOT FITS.gz files and a DUMP truth table per model "
        "(SN Ia, SN II, kilonova, M-dwarf flare, RR Lyrae, eclipsing binary, AGN) with light curves "
        "over three seasons in ugrizY; detections carry PHOTFLAG 4096 (|S/N| >= 5). The same "
        "--objects/--seed/--per-file always give byte-identical files. Load them with "
        "`manage.py load_snana_fits DIR`."
    )

    def add_arguments(self, parser):
        parser.add_argument("--objects", type=int, default=300, help="number of objects (default 300)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        parser.add_argument(
            "--out",
            type=Path,
            default=settings.REPO_DIR / "var" / "demo-sky",
            help="output directory (default var/demo-sky); existing files are overwritten",
        )
        parser.add_argument("--per-file", type=int, default=200, help="objects per HEAD/PHOT pair (default 200)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        from tqdm import tqdm

        n, per_file, out = options["objects"], options["per_file"], options["out"]
        if n < 1 or per_file < 1:
            raise CommandError("--objects and --per-file must be at least 1")
        with tqdm(total=n, unit="obj", desc="generate_demo_sky", disable=options["no_progress"]) as bar:
            files = demo_sky.generate(
                out, n, options["seed"], per_file=per_file, progress=lambda model, count: bar.update(count)
            )
        self.stdout.write(f"Wrote {len(files)} files for {n} objects ({simulation.counts_text(n)}) under {out}")
