"""Building a data set from image-search APIs (issue 12): the query plan (items x attributes),
one small client per provider, the shared downloader and the manifest with each image's
licence. Stands on data/ (decoding, dedup); cli/collect.py runs it, and `imclass info` and
the app's grid read the manifest (manifest.read_sources)."""
