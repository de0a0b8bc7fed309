"""The machine: what it has, and how fast it does imclass's work."""
