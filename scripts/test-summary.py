#!/usr/bin/env python3
"""Counts the tests of each leg: run, skipped, failed.

  test-summary.py [--ctest JUNIT_XML] [--vm DIR] [--extra 'LEG=passed|failed']...

The host legs come from CTest's JUnit report (scripts/test.sh writes it): its tests named
unit.*, streaming.* and integration.*. The cgroup v2 leg comes from the gtest JSON reports the
VM leaves in DIR (test/vm/run-vm-suite.sh); the VM leg's own CTest entry is not counted again. --extra adds
a leg of one check (the demo). Exits 1 when a leg has a failure or a skip, ran no test, or a
report is missing: a leg that did not run must not look like one that passed."""
import argparse
import glob
import json
import os
import sys
import xml.etree.ElementTree as ET


class Leg:
    def __init__(self, name):
        self.name, self.run, self.skipped, self.failed, self.missing = name, 0, 0, 0, False
        self.failed_names = []
        self.skipped_names = []

    def count(self, test, outcome):
        if outcome == "skipped":
            self.skipped += 1
            self.skipped_names.append(test)
            return
        self.run += 1
        if outcome == "failed":
            self.failed += 1
            self.failed_names.append(test)


def ctest_legs(path):
    legs = {"unit": Leg("unit tests (host, cgroup v1)"),
            "streaming": Leg("streaming room alone (host)"),
            "integration": Leg("integration tests (host, cgroup v1)")}
    if not os.path.exists(path):
        for leg in legs.values():
            leg.missing = True
        return list(legs.values())
    for case in ET.parse(path).getroot().iter("testcase"):
        name = case.get("name", "")
        prefix = name.split(".", 1)[0]
        if prefix not in legs:
            continue
        if case.find("skipped") is not None or case.get("status") in ("notrun", "disabled"):
            outcome = "skipped"
        elif case.find("failure") is not None or case.find("error") is not None or \
                case.get("status") == "fail":
            outcome = "failed"
        else:
            outcome = "passed"
        legs[prefix].count(name, outcome)
    return list(legs.values())


def vm_leg(directory):
    leg = Leg("cgroup v2 VM (Debian's kernel)")
    reports = sorted(glob.glob(os.path.join(directory, "*.json")))
    if not reports:
        leg.missing = True
        return leg
    for report in reports:
        try:
            data = json.load(open(report))
        except (OSError, ValueError):
            leg.missing = True  # a group cut short (a crash, a timeout) leaves no report
            continue
        for suite in data.get("testsuites", []):
            for test in suite.get("testsuite", []):
                name = f"{suite['name']}.{test['name']}"
                if test.get("status") == "NOTRUN" or test.get("result") == "SKIPPED":
                    outcome = "skipped"
                elif test.get("failures"):
                    outcome = "failed"
                else:
                    outcome = "passed"
                leg.count(name, outcome)
    return leg


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ctest")
    parser.add_argument("--vm")
    parser.add_argument("--extra", action="append", default=[])
    args = parser.parse_args()
    legs = []
    if args.ctest:
        legs += ctest_legs(args.ctest)
    if args.vm:
        legs.append(vm_leg(args.vm))
    for extra in args.extra:
        name, _, result = extra.partition("=")
        leg = Leg(name)
        leg.count(name, "passed" if result == "passed" else "failed")
        legs.append(leg)
    bad = False
    print(f"{'leg':<40} {'run':>5} {'skipped':>8} {'failed':>7}")
    for leg in legs:
        note = "  (no report: did not run to the end)" if leg.missing else \
            "  (no test ran)" if leg.run == 0 else ""
        print(f"{leg.name:<40} {leg.run:>5} {leg.skipped:>8} {leg.failed:>7}{note}")
        for name in leg.failed_names:
            print(f"    failed: {name}")
        for name in leg.skipped_names:
            print(f"    skipped: {name}")
        bad = bad or leg.missing or leg.run == 0 or leg.failed > 0 or leg.skipped > 0
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
