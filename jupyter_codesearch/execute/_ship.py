"""Ship our kernel-side modules as source.

The sandboxes do not mount this package (it may live in the user's project directory, next to
the tests), so the kernel and the zygote receive the few modules they need as source text and
install them under a private package name. Relative imports between them keep working.
"""

from __future__ import annotations

from importlib.resources import files

__all__ = ["REMOTE_PACKAGE", "bootstrap"]

REMOTE_PACKAGE = "_codesearch_remote"

_LOADER = '''
def _cs_install(pkg, sources):
    import sys, types
    if pkg in sys.modules:
        return sys.modules[pkg]
    package = types.ModuleType(pkg)
    package.__path__ = []
    sys.modules[pkg] = package
    for name, src in sources:
        mod = types.ModuleType(pkg + "." + name)
        mod.__package__ = pkg
        mod.__file__ = "<" + pkg + "/" + name + ".py>"
        sys.modules[mod.__name__] = mod
        exec(compile(src, mod.__file__, "exec"), mod.__dict__)
        setattr(package, name, mod)
    return package
'''


def _source(name: str) -> str:
    return files(__package__).joinpath(f"{name}.py").read_text(encoding="utf-8")


def bootstrap(modules: tuple[str, ...], then: str) -> str:
    """Python source that installs ``modules`` (in order) and then runs ``then``."""
    sources = [(m, _source(m)) for m in modules]
    return f"{_LOADER}\n{REMOTE_PACKAGE} = _cs_install({REMOTE_PACKAGE!r}, {sources!r})\n{then}\n"
