"""Builds the SWIG extension of the pidlock package; the metadata is in pyproject.toml.

SWIG runs here, at build time, from bindings/pidlock.i (the generated wrappers are never
committed), and libpidlock's C sources are compiled into the extension, so an installed
package needs no libpidlock.so.1 for its default backend.
"""
import glob
import os
import shutil
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

TOP = os.path.dirname(os.path.abspath(__file__))
IFACE = "bindings/pidlock.i"
CORE_SOURCES = sorted(glob.glob("libpidlock/src/*.c"))
SCRATCH = "build-python"
os.makedirs(SCRATCH, exist_ok=True)


class SwigBuildExt(build_ext):
    """Generate the wrapper and its Python proxy (pidlock_core.py) before compiling."""

    def run(self):
        swig = shutil.which("swig") or shutil.which("swig4.0")
        if not swig:
            raise SystemExit("pidlock: swig is needed to build the extension (apt install swig)")
        package_dir = os.path.join("python" if self.inplace else self.build_lib, "pidlock")
        os.makedirs(package_dir, exist_ok=True)
        os.makedirs(self.build_temp, exist_ok=True)
        wrapper = os.path.join(self.build_temp, "pidlock_python_wrap.c")
        subprocess.check_call([swig, "-python", "-threads", "-Ilibpidlock/include",
                               "-outdir", package_dir, "-o", wrapper, IFACE])
        for ext in self.extensions:
            ext.sources = [wrapper] + CORE_SOURCES
        super().run()


setup(
    ext_modules=[Extension(
        "pidlock._pidlock_core",
        sources=[IFACE],  # replaced by the generated wrapper in SwigBuildExt
        include_dirs=["libpidlock/include", "libpidlock/src"],
        # Only PyInit is exported: the library's own symbols stay inside the extension.
        extra_compile_args=["-fvisibility=hidden"],
    )],
    cmdclass={"build_ext": SwigBuildExt},
    # Keep setuptools' scratch space out of ./build, where CMake builds by default.
    options={"build": {"build_base": SCRATCH}, "egg_info": {"egg_base": SCRATCH}},
)
