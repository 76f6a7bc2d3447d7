"""Ships the models and the sample clips inside the wheel, as pinewatch/assets/ (package data).

They stay at the top of the source tree (models/, sample_videos/), where training, export and
the benchmarks write and read them; pinewatch.core.config finds them in either place.
Everything else about the package is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
ASSETS = {"models": ("*.onnx", "SHA256SUMS", "MODEL_CARD.md"), "sample_videos": ("*.mp4", "README.md")}


class build_py_with_assets(build_py):
    def run(self) -> None:
        super().run()
        for folder, patterns in ASSETS.items():
            target = Path(self.build_lib) / "pinewatch" / "assets" / folder
            target.mkdir(parents=True, exist_ok=True)
            for pattern in patterns:
                found = sorted((HERE / folder).glob(pattern))
                if not found:  # a wheel without its model would fail only at the user's first scan
                    raise SystemExit(f"setup.py: nothing matches {folder}/{pattern}; cannot ship the package data")
                for source in found:
                    shutil.copy2(source, target / source.name)


setup(cmdclass={"build_py": build_py_with_assets})
