#!/usr/bin/env python3
"""Test-only: GlobalStorage as mount + users leave it (see module.desc)."""
import libcalamares


def pretty_name():
    return "Test: target and user"


def run():
    conf = libcalamares.job.configuration or {}
    for key in ("rootMountPoint", "username", "hostname"):
        if key in conf:
            libcalamares.globalstorage.insert(key, conf[key])
    libcalamares.utils.debug("kodertestgs: rootMountPoint={}".format(libcalamares.globalstorage.value("rootMountPoint")))
    return None
