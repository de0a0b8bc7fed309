"""Every label format: read, convert, read again gives the same labels; bad files name the line."""

import json

import pytest
from tests.helpers import colour_image, make_image_folder

from imclass.data.convert import convert
from imclass.data.dataset import LabelOptions, open_data
from imclass.errors import DataError

MULTI = {
    "a.jpg": {"can", "carton"},
    "b.jpg": {"can"},
    "c.jpg": {"milk", "can", "carton"},
    "d.jpg": {"milk"},
}


def labels_by_name(source) -> dict[str, set[str]]:
    images = source.all_images()
    return {
        p.name.split("__")[-1]: {
            source.classes[c] for c in (label if isinstance(label, tuple) else (label,))
        }
        for p, label in zip(images.paths, images.labels, strict=True)
    }


@pytest.fixture
def image_dir(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i, name in enumerate(MULTI):
        colour_image((20 * i, 100, 200), 32, seed=i).save(folder / name)
    return tmp_path


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def test_labels_csv_is_multilabel_and_round_trips_through_csv(image_dir, tmp_path):
    rows = "".join(f"{n},{' '.join(sorted(ls))}\n" for n, ls in MULTI.items())
    source = open_data(write(image_dir / "labels.csv", "filename,labels\n" + rows))
    assert source.multilabel and source.classes == ("can", "carton", "milk")
    assert labels_by_name(source) == MULTI
    convert(source, "csv", tmp_path / "out")
    assert labels_by_name(open_data(tmp_path / "out" / "labels.csv")) == MULTI


def test_custom_delimiter_and_forced_multilabel(image_dir):
    text = "filename,labels\na.jpg,can|carton\nb.jpg,can\nc.jpg,milk\nd.jpg,milk\n"
    source = open_data(write(image_dir / "l.csv", text), LabelOptions(delimiter="|"))
    assert labels_by_name(source)["a.jpg"] == {"can", "carton"}
    single = "filename,labels\na.jpg,can\nb.jpg,milk\n"
    forced = open_data(write(image_dir / "s.csv", single), LabelOptions(multilabel=True))
    assert forced.multilabel and forced.all_images().labels == ((0,), (1,))


def test_annotation_tsv_drops_excluded_rows_and_round_trips(image_dir, tmp_path):
    text = (
        "IM_FILENAME\tEXCLUDE\tLABELS\n"
        "a.jpg\tFalse\tcan,carton\nb.jpg\tTrue\tcan\nc.jpg\tFalse\tmilk,can,carton\n"
        "d.jpg\tfalse\tmilk\n"
    )
    source = open_data(write(image_dir / "annotations.tsv", text))
    expected = {k: v for k, v in MULTI.items() if k != "b.jpg"}
    assert labels_by_name(source) == expected
    convert(source, "csv", tmp_path / "out")
    assert labels_by_name(open_data(tmp_path / "out" / "labels.csv")) == expected


def label_studio_full(multi: bool) -> list[dict]:
    tasks = []
    for i, (name, labels) in enumerate(MULTI.items()):
        choices = sorted(labels) if multi else [sorted(labels)[0]]
        tasks.append(
            {
                "id": i + 1,
                "data": {"image": f"/data/upload/1/0a1b2c3{i}-{name}"},
                "annotations": [
                    {
                        "was_cancelled": False,
                        "result": [
                            {
                                "type": "choices",
                                "from_name": "choice",
                                "to_name": "image",
                                "value": {"choices": choices},
                            }
                        ],
                    }
                ],
            }
        )
    tasks.append({"id": 99, "data": {"image": "/data/upload/1/unlabelled.jpg"}, "annotations": []})
    return tasks


def test_label_studio_json_single_and_multiple_choices(image_dir, tmp_path):
    multi = open_data(write(image_dir / "ls.json", json.dumps(label_studio_full(True))))
    assert labels_by_name(multi) == MULTI
    single = open_data(write(image_dir / "ls1.json", json.dumps(label_studio_full(False))))
    assert not single.multilabel
    convert(single, "folders", tmp_path / "folders")
    again = open_data(tmp_path / "folders")
    assert labels_by_name(again) == labels_by_name(single)


def test_label_studio_json_min(image_dir):
    tasks = [
        {
            "image": f"/data/local-files/?d=images/{name}",
            "id": i,
            "choice": {"choices": sorted(labels)} if len(labels) > 1 else sorted(labels)[0],
            "annotator": 1,
            "lead_time": 3.2,
        }
        for i, (name, labels) in enumerate(MULTI.items())
    ]
    assert labels_by_name(open_data(write(image_dir / "min.json", json.dumps(tasks)))) == MULTI


def test_folders_round_trip_through_csv(tmp_path):
    make_image_folder(tmp_path / "data", ("red", "blue"), per_class=3)
    source = open_data(tmp_path / "data")
    convert(source, "csv", tmp_path / "out")
    again = open_data(tmp_path / "out" / "labels.csv")
    assert not again.multilabel and labels_by_name(again) == labels_by_name(source)


def test_split_file_round_trip_for_multilabel(image_dir, tmp_path):
    from imclass.data.split import plan_split, write_split_file

    rows = "".join(f"{n},{' '.join(sorted(ls))}\n" for n, ls in MULTI.items())
    source = open_data(write(image_dir / "labels.csv", "filename,labels\n" + rows))
    plan = plan_split(source.all_images(), source.classes, valid=0.25, seed=0)
    again = open_data(write_split_file(plan, tmp_path / "split.csv"))
    assert labels_by_name(again) == MULTI and again.multilabel


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file; expected a header line"),
        ("filename,labels\n", "no labelled rows"),
        ("filename,tags\na.jpg,can\n", r"line 1: missing column\(s\) labels"),
        ("file,tags\na.jpg,can\n", r"line 1: unknown columns \(file, tags\)"),
        ("IM_FILENAME\tLABELS\na.jpg\tcan\n", r"line 1: missing column\(s\) EXCLUDE"),
        ("filename,labels\na.jpg,can\nzzz.jpg,milk\n", r"line 3: image zzz.jpg not found"),
        ("filename,labels\na.jpg,can\nb.jpg,\n", r"line 3: no labels for b.jpg"),
        (
            "filename,labels\na.jpg,can\nb.jpg,milk\na.jpg,milk\n",
            r"line 4: a.jpg is listed again "
            r"\(first at line 2\)",
        ),
    ],
)
def test_malformed_label_files_name_the_file_and_line(image_dir, text, message):
    path = write(image_dir / "bad.csv", text)
    with pytest.raises(DataError, match=rf"bad.csv: {message}"):
        open_data(path)


def test_wrong_encoding_names_the_line(image_dir):
    path = image_dir / "latin1.csv"
    path.write_bytes("filename,labels\na.jpg,can\nb.jpg,crème\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1.csv: line 3: not UTF-8"):
        open_data(path)


def test_skip_missing_loads_the_rest_and_reports(image_dir):
    text = "filename,labels\na.jpg,can\nb.jpg,milk\nzzz.jpg,milk\n"
    source = open_data(write(image_dir / "l.csv", text), LabelOptions(skip_missing=True))
    assert len(source.all_images()) == 2
    assert "line 4: image zzz.jpg not found" in source.notes[0]


def test_multilabel_data_cannot_become_folders(image_dir, tmp_path):
    rows = "".join(f"{n},{' '.join(sorted(ls))}\n" for n, ls in MULTI.items())
    source = open_data(write(image_dir / "labels.csv", "filename,labels\n" + rows))
    with pytest.raises(DataError, match="use --to csv"):
        convert(source, "folders", tmp_path / "f")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("holdout", r"line 3: unknown split 'holdout'; expected train, valid \(or val, validation"),
        ("vaild", r"line 3: unknown split 'vaild'.* Did you mean 'valid'\?"),
        ("", r"line 3: unknown split ''"),
    ],
)
def test_unknown_split_value_names_the_file_line_and_value(image_dir, value, message):
    text = f"path,label,split\nimages/a.jpg,can,train\nimages/b.jpg,milk,{value}\n"
    with pytest.raises(DataError, match=rf"split.csv: {message}"):
        open_data(write(image_dir / "split.csv", text))


def test_split_aliases_are_read_as_their_split(image_dir):
    text = (
        "path,label,split\nimages/a.jpg,can,Train\nimages/b.jpg,milk,validation\n"
        "images/c.jpg,can,val\nimages/d.jpg,milk,TEST\n"
    )
    source = open_data(write(image_dir / "split.csv", text))
    assert {s: len(images) for s, images in source.splits.items()} == {
        "train": 1,
        "valid": 2,
        "test": 1,
    }


LABELS_CSV = "filename,labels\n" + "".join(
    f"{n},{' '.join(sorted(ls))}\n" for n, ls in MULTI.items()
)
ANNOTATIONS = "IM_FILENAME\tEXCLUDE\tLABELS\n" + "".join(
    f"{n}\tFalse\t{','.join(sorted(ls))}\n" for n, ls in MULTI.items()
)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("labels.csv", LABELS_CSV),
        ("annotations.tsv", ANNOTATIONS),
        ("export.json", json.dumps(label_studio_full(True))),
    ],
)
def test_a_folder_holding_one_label_file_is_read_as_that_file(image_dir, name, text):
    write(image_dir / name, text)
    (image_dir / "notes.csv").write_text("a,b\n1,2\n")  # not a label file by its header
    (image_dir / "report.csv").write_text("path,reason\nimages/a.jpg,zero bytes\n")
    source = open_data(image_dir)
    assert source.root == image_dir / name
    assert source.multilabel and source.classes == ("can", "carton", "milk")
    assert labels_by_name(source) == MULTI


def test_a_folder_holding_several_label_files_lists_them(image_dir):
    write(image_dir / "labels.csv", LABELS_CSV)
    write(image_dir / "annotations.tsv", ANNOTATIONS)
    with pytest.raises(
        DataError, match=r"2 label files \(annotations.tsv, labels.csv\); give one of them"
    ):
        open_data(image_dir)


def test_a_converted_folder_is_read_back_as_a_folder(image_dir, tmp_path):
    source = open_data(write(image_dir / "labels.csv", LABELS_CSV))
    convert(source, "csv", tmp_path / "out")
    assert labels_by_name(open_data(tmp_path / "out")) == MULTI
