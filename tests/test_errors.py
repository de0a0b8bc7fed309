"""The one exception tree: every error class is importable from the package root."""

import imclass
from imclass import errors


def test_every_error_class_is_re_exported_from_the_package():
    classes = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.ImclassError)
    }
    assert classes == {
        "ImclassError",
        *(n for n in imclass.__all__ if n.endswith(("Error", "Interrupted"))),
    }
    assert all(getattr(imclass, name) is getattr(errors, name) for name in classes)
    assert all(f" {name} " in errors.__doc__ or name == "ImclassError" for name in classes)
