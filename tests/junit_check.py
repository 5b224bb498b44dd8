#!/usr/bin/python3
"""Check a ctlab --junit file as CI readers will take it.

1. Against the rules of the Jenkins xunit plugin's junit-10.xsd (the strictest
   common reader), restated here as facts, not copied: <testsuites> may carry
   name, time, tests, failures and errors and holds only <testsuite>; a
   <testsuite> must have name, tests, failures and errors, may have group,
   time, skipped, timestamp, hostname, id, package, file, log and url, and
   holds <testsuite>, <properties>, <testcase>, <system-out> and <system-err>;
   <properties> holds only <property>, each with exactly name and value; a
   <testcase> must have name, may have time, classname and group (no file, no
   line), and holds <skipped>, <error>, <failure>, the rerun/flaky elements,
   <system-out> and <system-err>; <failure>, <error> and <skipped> may have
   type and message and hold text only; times are decimal numbers.
2. Read back with junitparser (Debian's python3-junitparser), as GitLab- and
   GitHub-style reporters do: the properties and system-out it finds.

Usage: junit_check.py FILE [--expect-failed N] [--expect-skipped N]
Prints what it found; exit 1 with the first broken rule.
"""
import re
import sys
import xml.etree.ElementTree as ET

import junitparser

TIME = re.compile(r"[0-9]*(\.[0-9]*)?")
RESULT_ATTRS = ({"type", "message"}, set())
RULES = {
    # element: (allowed attributes, required attributes, allowed children, text allowed)
    "testsuites": ({"name", "time", "tests", "failures", "errors"}, set(), {"testsuite"}, False),
    "testsuite": ({"name", "tests", "failures", "errors", "group", "time", "skipped",
                   "timestamp", "hostname", "id", "package", "file", "log", "url"},
                  {"name", "tests", "failures", "errors"},
                  {"testsuite", "properties", "testcase", "system-out", "system-err"}, False),
    "properties": (set(), set(), {"property"}, False),
    "property": ({"name", "value"}, {"name", "value"}, set(), False),
    "testcase": ({"name", "time", "classname", "group"}, {"name"},
                 {"skipped", "error", "failure", "rerunFailure", "rerunError",
                  "flakyFailure", "flakyError", "system-out", "system-err"}, False),
    "failure": (*RESULT_ATTRS, set(), True),
    "error": (*RESULT_ATTRS, set(), True),
    "skipped": (*RESULT_ATTRS, set(), True),
    "system-out": (set(), set(), set(), True),
    "system-err": (set(), set(), set(), True),
}


def fail(message):
    print(f"junit_check: {message}")
    sys.exit(1)


def check(element, path):
    if element.tag not in RULES:
        fail(f"{path}: <{element.tag}> is not an element of the schema")
    allowed, required, children, text = RULES[element.tag]
    attrs = set(element.attrib)
    if attrs - allowed:
        fail(f"{path}: <{element.tag}> may not have {sorted(attrs - allowed)}")
    if required - attrs:
        fail(f"{path}: <{element.tag}> must have {sorted(required - attrs)}")
    if "time" in element.attrib and not TIME.fullmatch(element.attrib["time"]):
        fail(f"{path}: time '{element.attrib['time']}' is not a decimal number")
    if not text and (element.text or "").strip():
        fail(f"{path}: <{element.tag}> holds text")
    for child in element:
        if child.tag not in children:
            fail(f"{path}: <{element.tag}> may not hold <{child.tag}>")
        check(child, f"{path}/{child.tag}")


def main():
    path = sys.argv[1]
    args = sys.argv[2:]
    want = {"--expect-failed": None, "--expect-skipped": None}
    for i in range(0, len(args), 2):
        want[args[i]] = int(args[i + 1])
    root = ET.parse(path).getroot()
    if root.tag != "testsuites":
        fail(f"the root is <{root.tag}>, not <testsuites>")
    check(root, "testsuites")

    xml = junitparser.JUnitXml.fromfile(path)
    cases = failed = skipped = 0
    for suite in xml:
        names = {p.name for p in suite.properties()}
        needs = ["ctlab.version", "kernel.release"]
        if int(suite.tests) > int(suite.skipped or 0):     # a run that ran read the settings
            needs.append("net.netfilter.nf_conntrack_max")
        for needed in needs:
            if needed not in names:
                fail(f"suite {suite.name}: no property {needed} (has {sorted(names)})")
        if not suite.timestamp or not suite.hostname:
            fail(f"suite {suite.name}: no timestamp or hostname")
        for case in suite:
            cases += 1
            results = case.result
            if any(isinstance(r, junitparser.Skipped) for r in results):
                skipped += 1
                continue
            if not case.system_out or "--" not in case.system_out:
                fail(f"case {case.name}: no ladder in system-out")
            for r in results:
                if isinstance(r, (junitparser.Failure, junitparser.Error)):
                    if not r.message or not r.type:
                        fail(f"case {case.name}: a failure without message or type")
            if results:
                failed += 1
    if want["--expect-failed"] is not None and failed != want["--expect-failed"]:
        fail(f"{failed} failed cases, expected {want['--expect-failed']}")
    if want["--expect-skipped"] is not None and skipped != want["--expect-skipped"]:
        fail(f"{skipped} skipped cases, expected {want['--expect-skipped']}")
    print(f"junit_check: {len(list(xml))} suites, {cases} cases, {failed} failed, {skipped} skipped")


if __name__ == "__main__":
    main()
