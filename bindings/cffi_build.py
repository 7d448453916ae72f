"""The CFFI backend's declarations, made from pidlock.h at build time, never written by hand.

    cffi_build.py HEADER_DIR PACKAGE_DIR [--api TMPDIR LIBDIR]

writes PACKAGE_DIR/pidlock.cdef (the header's declarations, for the ABI-mode fallback) and,
with --api, compiles the out-of-line API-mode module PACKAGE_DIR/_pidlock_cffi*.so, linked
with libpidlock.so from LIBDIR: nothing is parsed when the package is imported. setup.py and
bindings/CMakeLists.txt run it; tests/python checks that what it declares is the header.
"""
import os
import re
import sys

# pidlock_message.h beside this file: the one wording of a failure, compiled in (API mode).
_MESSAGE_SOURCE = '#include "pidlock.h"\n#include "pidlock_message.h"\n'
_MESSAGE_CDEF = ("const char *pidlock_message(char *buf, size_t size, int rc, const char *path,"
                 " pid_t holder);\n")


def cdef_from_header(text, api=False):
    """The declarations of pidlock.h as CFFI takes them: comments, the C++ guard and the
    attribute macros dropped; integer #defines kept (in API mode every PIDLOCK_ constant,
    its value asked of the compiler)."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = text.replace("\\\n", " ")
    out, skip = [], []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            directive = stripped[1:].split()
            word = directive[0] if directive else ""
            if word in ("if", "ifdef", "ifndef"):
                skip.append("__cplusplus" in stripped)
            elif word == "endif":
                skip.pop()
            elif word == "define" and not any(skip) and len(directive) >= 3:
                name, value = directive[1], " ".join(directive[2:])
                if not name.startswith("PIDLOCK_") or "(" in name or name == "PIDLOCK_API":
                    continue
                literal = re.fullmatch(r"\(?\s*(-?\d+)\s*\)?", value)
                if api:
                    out.append(f"#define {name} ...")
                elif literal:
                    out.append(f"#define {name} {literal.group(1)}")
            continue
        if any(skip):
            continue
        out.append(re.sub(r"\bPIDLOCK_API\b\s*", "", line))
    body = re.sub(r"\n\s*\n+", "\n", "\n".join(out)).strip() + "\n"
    return ("typedef int... pid_t;\n" if api else "typedef int pid_t;\n") + body


def main(argv):
    if len(argv) not in (2, 5) or (len(argv) == 5 and argv[2] != "--api"):
        sys.exit(__doc__)
    header_dir, package_dir = argv[0], argv[1]
    with open(os.path.join(header_dir, "pidlock.h")) as f:
        header = f.read()
    os.makedirs(package_dir, exist_ok=True)
    target = os.path.join(package_dir, "pidlock.cdef")
    text = cdef_from_header(header)
    if not os.path.exists(target) or open(target).read() != text:
        with open(target, "w") as f:
            f.write(text)
    if len(argv) == 5:
        build_api(header, header_dir, package_dir, argv[3], argv[4])


def build_api(header, header_dir, package_dir, tmpdir, libdir):
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(cdef_from_header(header, api=True) + _MESSAGE_CDEF)
    here = os.path.dirname(os.path.abspath(__file__))
    ffi.set_source("_pidlock_cffi", _MESSAGE_SOURCE, libraries=["pidlock"],
                   include_dirs=[header_dir, here], library_dirs=[libdir],
                   extra_compile_args=["-fvisibility=hidden"])
    built = ffi.compile(tmpdir=tmpdir, verbose=False)
    name = os.path.basename(built)
    os.replace(built, os.path.join(package_dir, name))


if __name__ == "__main__":
    main(sys.argv[1:])
