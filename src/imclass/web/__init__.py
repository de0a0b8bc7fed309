"""What imclass's two HTTP servers share, the app (`imclass app`) and the prediction service
(`imclass serve`): images read from a request within limits (uploads.py) and the API docs served
offline (docs.py). Below both, so neither imports the other; uses data/ only, never torch."""
