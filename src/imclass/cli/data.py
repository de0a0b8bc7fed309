"""The data-hygiene commands of `imclass`: info, verify, dedup, downsize, split, augment-preview.

Each parses, calls one library function and prints; the library does the work.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import click
from rich.table import Table

from imclass.cli.common import PATH, data_options, label_options, overwrite_option, stdout
from imclass.data.presets import AUGMENT_PRESETS
from imclass.data.split import GROUP_BY, STRATEGIES
from imclass.errors import DataError
from imclass.files import check_output, write_text
from imclass.progress import Reporter


def report_option(function):
    """--report FILE and --overwrite."""
    function = overwrite_option(function)
    return click.option("--report", type=PATH, help="also write a .json or .csv report")(function)


def data_inputs(source) -> list[Path]:
    """What a data set is read from, never to be written over: its folder (and the folders its
    images are in: a class folder may be a link to elsewhere), or its label file and images."""
    images = source.all_images().paths
    if source.root.is_dir():
        return [source.root, *dict.fromkeys(p.parent for p in images)]
    return [source.root, *images]


def warn_skipped(source) -> None:
    """One warning line per thing the data set's reading skipped: links, folders, rows."""
    for note in source.notes:
        click.echo(f"warning: {note}", err=True)


def warn_moved_rows(source, moved) -> None:
    """After files left a data set read from a label file: its rows still list them."""
    from imclass.data.relocate import moved_rows_warning

    note = moved_rows_warning(source, moved)
    if note:
        click.echo(f"warning: {note}", err=True)


def check_report(report: Path | None, source, overwrite: bool) -> None:
    if report is not None:
        check_output(report, data_inputs(source), overwrite=overwrite)


def write_report(path: Path | None, rows: list[dict], summary: dict | None = None) -> None:
    """rows as CSV (by extension) or, with the summary, as JSON; atomically."""
    if path is None:
        return
    if path.suffix.lower() == ".csv":
        buffer = io.StringIO()
        fields = list(dict.fromkeys(k for row in rows for k in row)) or ["path"]
        writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_text(path, buffer.getvalue())
    else:
        write_text(path, json.dumps({**(summary or {}), "rows": rows}, indent=2, default=str))
    click.echo(f"wrote {path}", err=True)


def _progress_map(description: str, total: int):
    """A Reporter task context for a job over total files."""
    return Reporter().task(description, total)


@click.command()
@click.argument("data", type=PATH)
@report_option
@data_options
def info(data, report, overwrite, **settings):
    """What is in DATA: classes, splits, resolutions, formats, problems, and advice."""
    from imclass.data.dataset import open_images
    from imclass.data.inspection import describe_data

    source = open_images(data, label_options(settings))
    check_report(report, source, overwrite)
    warn_skipped(source)
    with _progress_map("reading headers and hashing", len(source.all_images()) * 2) as advance:
        summary = describe_data(source, advance=advance)
    _print_classes(summary, source.is_presplit)
    provenance = _print_provenance(source)
    low, median, high = summary.megapixels()
    formats = summary.formats()
    stdout.print(
        f"resolution: {low:.2f} / {median:.2f} / {high:.2f} MP (min / median / max); "
        f"{len(summary.large)} above 4 MP"
    )
    stdout.print(
        f"formats: {', '.join(f'{f} {n}' for f, n in formats.most_common())}; "
        f"{summary.bytes / 1e6:.1f} MB on disk"
    )
    dups = summary.duplicates
    stdout.print(
        f"exact duplicates: {len(dups.groups)} group(s), {len(dups.redundant)} redundant "
        f"file(s), {len(dups.leaking)} spanning splits"
    )
    problems = summary.problems()
    for row in problems:
        stdout.print(f"{row['problem']}: {row['path']}: {row['reason']}")
    report_figures = summary.report() | ({"sources": provenance} if provenance else {})
    for line in report_figures["advice"]:
        stdout.print(f"advice: {line}")
    write_report(report, problems, report_figures)


def _print_classes(summary, presplit: bool) -> None:
    splits = sorted({s for c in summary.class_counts.values() for s in c}) if presplit else []
    if summary.class_counts:
        table = Table("class", *splits, "images")
        for name, counts in summary.class_counts.items():
            total = str(sum(counts.values()))
            table.add_row(name, *[str(counts.get(s, 0)) for s in splits], total)
        stdout.print(table)
    parts = [_classes_in_words(summary)] if summary.class_counts else []
    if summary.unlabelled:
        parts.append(f"{summary.unlabelled} images without a class")
    if summary.skipped:
        parts.append(f"{len(summary.skipped)} skipped (links, folders or rows; see the warnings)")
    stdout.print("; ".join(parts))


def _print_provenance(source) -> dict | None:
    """A collected folder's sources, from its manifest.csv (imclass collect): its images by
    provider and by licence, and how many have none recorded; None without a manifest."""
    from imclass.collect.manifest import MANIFEST, read_sources, summarize_sources

    try:
        found = summarize_sources(read_sources(source.folder).values())
    except DataError as error:
        click.echo(f"warning: {error}; no sources shown", err=True)
        return None
    if not found.images:
        return None
    total = len(source.all_images())
    stdout.print(
        f"sources ({MANIFEST}): {found.images} of {total} images; {_counted(found.providers)}"
    )
    licences = [_counted(found.licences)] if found.licences else []
    if found.unlicensed:
        licences.append(f"{found.unlicensed} without a licence recorded")
    stdout.print(f"licences: {'; '.join(licences)}")
    return {
        "images": found.images,
        "providers": dict(found.providers),
        "licences": dict(found.licences),
        "unlicensed": found.unlicensed,
    }


def _counted(counts: Counter) -> str:
    """'CC BY 4.0 60, CC0 1.0 5', most first; names came from the internet: control
    characters (a terminal's escape sequences) are shown escaped."""
    return ", ".join(f"{_visible(name)} {n}" for name, n in counts.most_common())


def _visible(text: str) -> str:
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def _classes_in_words(summary) -> str:
    if not summary.classified:
        return f"1 class ({next(iter(summary.class_counts))!r})"
    return (
        f"{len(summary.class_counts)} classes; imbalance ratio "
        f"{summary.imbalance_ratio:.2f} (largest / smallest)"
    )


@click.command()
@click.argument("data", type=PATH)
@click.option(
    "--quarantine",
    type=PATH,
    help="move the bad files here, keeping their relative paths",
)
@report_option
@data_options
def verify(data, quarantine, report, overwrite, **settings):
    """Decode every image fully; exit 0 when all are readable, 1 otherwise."""
    from imclass.data.dataset import open_images
    from imclass.data.inspection import verify_images
    from imclass.data.relocate import move_files

    source = open_images(data, label_options(settings))
    check_report(report, source, overwrite)
    if quarantine is not None:
        check_move_destination(quarantine, source)
    warn_skipped(source)
    paths = list(source.all_images().paths)
    with _progress_map("decoding", len(paths)) as advance:
        problems = verify_images(paths, advance=advance)
    for path, reason in problems.items():
        stdout.print(f"{path}: {reason}")
    stdout.print(
        f"{len(paths) - len(problems)} of {len(paths)} images readable; {len(problems)} problem(s)"
    )
    if quarantine and problems:
        moved = move_files(list(problems), source.folder, quarantine)
        stdout.print(f"moved {len(moved)} file(s) to {quarantine}")
        warn_moved_rows(source, moved)
    write_report(report, [{"path": str(p), "reason": r} for p, r in problems.items()])
    raise SystemExit(1 if problems else 0)


@click.command()
@click.argument("data", type=PATH)
@click.option(
    "--max-distance",
    type=click.IntRange(0, 64),
    default=0,
    show_default=True,
    help="Hamming distance in bits (of 256) for near duplicates; 0: exact",
)
@click.option(
    "--action", type=click.Choice(["report", "move", "clean"]), default="report", show_default=True
)
@click.option(
    "--to",
    "target",
    type=PATH,
    help="destination of move (redundant files) or clean (de-duplicated copy)",
)
@report_option
@data_options
def dedup(data, max_distance, action, target, report, overwrite, **settings):
    """Exact and near-duplicate images (dhash, 16 x 16); groups across splits first."""
    from imclass.data.dataset import open_images
    from imclass.data.dedup import find_duplicates
    from imclass.data.inspection import split_of

    if action != "report" and target is None:
        raise click.UsageError(f"--action {action} needs --to DIR")
    source = open_images(data, label_options(settings))
    check_report(report, source, overwrite)
    if action == "move":
        check_move_destination(target, source)
    elif action == "clean":
        check_new_folder(target, source)
    warn_skipped(source)
    paths = list(source.all_images().paths)
    with _progress_map("hashing", len(paths)) as advance:
        found = find_duplicates(paths, max_distance, split_of=split_of(source), advance=advance)
    rows = _print_groups(found)
    stdout.print(
        f"{len(found.groups)} group(s), {len(found.redundant)} redundant file(s), "
        f"{len(found.leaking)} group(s) spanning splits"
    )
    _apply_dedup(action, source, found, target)
    write_report(
        report,
        rows,
        {
            "max_distance": max_distance,
            "groups": len(found.groups),
            "redundant": len(found.redundant),
            "leaking_groups": len(found.leaking),
        },
    )


def check_move_destination(folder: Path, source) -> None:
    """Files moved there keep their names; a clash is found by the move itself, before it moves
    anything, so an existing folder is welcome."""
    check_output(folder, data_inputs(source), overwrite=True, kind="folder")


def check_new_folder(folder: Path, source) -> None:
    """A copy of a data set goes into a new or empty folder, --overwrite or not."""
    hint = "write the copy into a new or empty folder"
    check_output(folder, data_inputs(source), kind="new folder", hint=hint)


def _print_groups(found) -> list[dict]:
    rows = []
    for number, group in enumerate(found.groups, start=1):
        leak = "  LEAK across " + "/".join(group.splits) if group.spans_splits else ""
        stdout.print(f"group {number}{leak}\n  keep      {group.keep}")
        for path in group.redundant:
            stdout.print(f"  redundant {path}")
        rows += [
            {
                "group": number,
                "path": str(p),
                "role": "keep" if p == group.keep else "redundant",
                "spans_splits": group.spans_splits,
            }
            for p in group.members
        ]
    for path, reason in found.failures.items():
        stdout.print(f"unreadable: {path}: {reason}")
    return rows


def _apply_dedup(action: str, source, found, target: Path | None) -> None:
    from imclass.data.relocate import copy_files, move_files

    if action == "move":
        moved = move_files(found.redundant, source.folder, target)
        stdout.print(f"moved {len(moved)} redundant file(s) to {target}")
        warn_moved_rows(source, moved)
    elif action == "clean":
        redundant = set(found.redundant)
        kept = [p for p in source.all_images().paths if p not in redundant]
        ways = copy_files(kept, source.folder, target)
        stdout.print(
            f"wrote {len(kept)} file(s) to {target} ({ways['link']} hard links, "
            f"{ways['copy']} copies)"
        )


@click.command()
@click.argument("source", type=PATH)
@click.argument("target", type=PATH)
@click.option("--max-megapixels", type=float, default=4.0, show_default=True)
@click.option("--max-side", type=int, default=None, help="also cap the longer side in pixels")
@report_option
@data_options
def downsize(source, target, max_megapixels, max_side, report, overwrite, **settings):
    """Write a copy of SOURCE into TARGET with large images resized, same layout."""
    from imclass.data.dataset import open_images
    from imclass.data.downsize import SizeLimit, downsize_tree

    data = open_images(source, label_options(settings))
    check_new_folder(target, data)
    check_report(report, data, overwrite)
    warn_skipped(data)
    limit = SizeLimit(int(max_megapixels * 1e6), max_side)
    paths = list(data.all_images().paths)
    with _progress_map("downsizing", len(paths)) as advance:
        results = downsize_tree(paths, data.folder, target, limit, advance=advance)
    counts = Counter(action for action, _ in results.values())
    for path, (action, detail) in results.items():
        if action == "skipped":
            stdout.print(f"skipped {path}: {detail}")
    stdout.print(
        f"{counts['resized']} resized, {counts['link']} hard-linked, "
        f"{counts['copy']} copied, {counts['skipped']} skipped -> {target}"
    )
    write_report(
        report, [{"path": str(p), "action": a, "detail": d} for p, (a, d) in results.items()]
    )


@click.command()
@click.argument("data", type=PATH)
@click.option(
    "--strategy",
    type=click.Choice(STRATEGIES),
    default="stratified",
    show_default=True,
)
@click.option("--valid", type=click.FloatRange(0, 0.9), default=0.2, show_default=True)
@click.option("--test", type=click.FloatRange(0, 0.9), default=0.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--group-by",
    type=click.Choice(list(GROUP_BY)),
    default="name",
    show_default=True,
    help="group: file name less its frame number, or folder",
)
@click.option("--group-pattern", help="group: first capture of this regex in the file name")
@click.option("--per-class", type=click.IntRange(min=1), help="keep N training images per class")
@click.option(
    "--ignore-duplicates",
    is_flag=True,
    help="let exact duplicates fall on different sides (default: kept together)",
)
@click.option("--out", type=PATH, required=True, help="split.csv to write")
@overwrite_option
@data_options
def split(data, ignore_duplicates, out, overwrite, **settings):
    """Write a split file (path,label,split,group) that train and evaluate accept."""
    from imclass.data.dataset import open_data
    from imclass.data.split import split_data_set, write_split_file

    source = open_data(data, label_options(settings))
    check_output(out, data_inputs(source), overwrite=overwrite)
    warn_skipped(source)
    # what is left of settings: strategy, valid, test, seed, group_by, group_pattern, per_class
    plan, duplicate_groups = split_data_set(
        source.all_images(),
        source.classes,
        keep_duplicates_together=not ignore_duplicates,
        **settings,
    )
    write_split_file(plan, out)
    table = Table("class", "train", "valid", "test")
    for name, sides in plan.counts().items():
        table.add_row(name, *[str(n) for n in sides.values()])
    stdout.print(table)
    stdout.print(
        f"wrote {out} ({len(plan.sides)} images; {duplicate_groups} duplicate group(s) "
        "kept on one side)"
    )


@click.command("augment-preview")
@click.argument("data", type=PATH)
@click.option(
    "--augment",
    type=click.Choice(AUGMENT_PRESETS),
    default="photo",
    show_default=True,
)
@click.option("-n", "count", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--image-size", type=click.IntRange(16, 1024), default=224, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=PATH, required=True, help="grid.png to write")
@overwrite_option
@data_options
def augment_preview(data, augment, count, image_size, seed, out, overwrite, **settings):
    """A grid of images and their augmented versions, to judge a preset before training."""
    from imclass.data.dataset import open_data
    from imclass.data.preview import augment_grid, write_png
    from imclass.models.backbones import DEFAULT_MODEL, default_preprocessing

    source = open_data(data, label_options(settings))
    check_output(out, data_inputs(source), overwrite=overwrite)
    warn_skipped(source)
    pre = default_preprocessing(DEFAULT_MODEL).at_size(image_size)
    grid = augment_grid(source.all_images(), source.classes, augment, pre, n=count, seed=seed)
    write_png(grid, out)
    stdout.print(f"wrote {out} ({grid.size[0]} x {grid.size[1]} px)")


@click.command("convert")
@click.argument("data", type=PATH)
@click.option(
    "--to",
    "layout",
    type=click.Choice(["folders", "csv"]),
    required=True,
    help="folders: DIR/<class>/ (single-label); csv: DIR/labels.csv + DIR/images/",
)
@click.option("--out", type=PATH, required=True, help="a new folder")
@data_options
def convert_command(data, layout, out, **settings):
    """Write DATA in another label layout; images are linked or copied, never moved."""
    from imclass.data.convert import convert
    from imclass.data.dataset import open_data

    options = label_options(settings)
    source = open_data(data, options)
    check_new_folder(out, source)
    warn_skipped(source)
    ways = convert(source, layout, out, options.delimiter or " ")
    kind = "multi-label" if source.multilabel else "single-label"
    stdout.print(
        f"wrote {len(source.all_images())} {kind} images to {out} as {layout} "
        f"({ways['link']} hard links, {ways['copy']} copies)"
    )


COMMANDS = (info, verify, dedup, downsize, split, augment_preview, convert_command)
