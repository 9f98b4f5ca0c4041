"""The optional C accelerator of the node scan (graphtui/formats/_wirescan.c); everything else
is in pyproject.toml. Without a C compiler (or Python's headers) the build skips it and
graphtui uses the numpy scanner (formats/node_scan.py), which gives the same results."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "graphtui.formats._wirescan",
            ["graphtui/formats/_wirescan.c"],
            optional=True,
        )
    ]
)
