"""
A stand-in for Calamares' `libcalamares` Python module (the real one is
built into libcalamares.so and only exists inside a running Calamares), the
way Calamares' own module tests stub it: the same names, backed by plain
Python objects that record what the job did.

    globalstorage.value(key) / contains(key) / insert(key, value) / keys()
    job.configuration, job.setprogress(x), job.pretty_name, job.working_path
    utils.debug/warning/error(msg), utils.gettext_path(), utils.gettext_languages()

Tests call `reset(gs=..., conf=...)` before each run and read `calls`.
"""


class _GlobalStorage:
    def __init__(self):
        self._d = {}

    def value(self, key):
        return self._d.get(key)

    def contains(self, key):
        return key in self._d

    def insert(self, key, value):
        self._d[key] = value

    def remove(self, key):
        return self._d.pop(key, None) is not None

    def keys(self):
        return list(self._d)

    def count(self):
        return len(self._d)


class _Job:
    def __init__(self):
        self.configuration = {}
        self.pretty_name = "koderrestore"
        self.working_path = ""
        self.module_name = "koderrestore"

    def setprogress(self, x):
        if not isinstance(x, (int, float)):
            raise TypeError("setprogress takes a number")
        calls.progress.append(float(x))


class _Utils:
    @staticmethod
    def debug(msg):
        calls.log.append(("debug", str(msg)))

    @staticmethod
    def warning(msg):
        calls.log.append(("warning", str(msg)))

    @staticmethod
    def error(msg):
        calls.log.append(("error", str(msg)))

    @staticmethod
    def gettext_path():
        return None

    @staticmethod
    def gettext_languages():
        return ["en"]


class _Calls:
    def __init__(self):
        self.progress = []
        self.log = []

    def warnings(self):
        return [m for (lvl, m) in self.log if lvl == "warning"]


calls = _Calls()
globalstorage = _GlobalStorage()
job = _Job()
utils = _Utils()


def reset(gs=None, conf=None):
    """Fresh state for one job run."""
    global calls
    calls.progress.clear()
    calls.log.clear()
    globalstorage._d = dict(gs or {})
    job.configuration = dict(conf or {})
