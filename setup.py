"""Builds the SWIG extension of the pidlock package; the metadata is in pyproject.toml.

SWIG runs here, at build time, from bindings/pidlock.i (the generated wrappers are never
committed), and libpidlock's C sources are compiled into the extension, so an installed
package needs no libpidlock.so.1 for its default backend.

The CFFI backend's declarations (pidlock.cdef) are written from pidlock.h here too
(bindings/cffi_build.py). Its out-of-line API-mode module is built as well when cffi is
there and a libpidlock.so can be linked (PIDLOCK_LIBDIR names its directory, else the
linker's default path): then the CFFI backend parses nothing at import. Otherwise it falls
back to ABI mode over the generated declarations.
"""
import glob
import os
import shutil
import subprocess
import sys

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
        self.build_cffi(package_dir)

    def build_cffi(self, package_dir):
        cmd = [sys.executable, "bindings/cffi_build.py", "libpidlock/include", package_dir]
        subprocess.check_call(cmd)  # the declarations, always
        try:
            import cffi  # noqa: F401
        except ImportError:
            print("pidlock: no cffi: the CFFI backend will use ABI mode")
            return
        libdir = os.environ.get("PIDLOCK_LIBDIR", "/usr/lib")
        tmp = os.path.join(self.build_temp, "cffi")
        if subprocess.call(cmd + ["--api", tmp, libdir]) != 0:
            print("pidlock: no libpidlock.so to link: the CFFI backend will use ABI mode")


setup(
    ext_modules=[Extension(
        "pidlock._pidlock_core",
        sources=[IFACE],  # replaced by the generated wrapper in SwigBuildExt
        include_dirs=["libpidlock/include", "libpidlock/src", "bindings"],
        # Only PyInit is exported: the library's own symbols stay inside the extension.
        extra_compile_args=["-fvisibility=hidden"],
    )],
    cmdclass={"build_ext": SwigBuildExt},
    # Keep setuptools' scratch space out of ./build, where CMake builds by default.
    options={"build": {"build_base": SCRATCH}, "egg_info": {"egg_base": SCRATCH}},
)
