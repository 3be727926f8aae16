"""Summarise pip-audit's JSON report: what was checked, what was found, what could not be.

Exits 1 when a known vulnerability is found. Packages pip-audit could not look up (a
registry mirror without PyPI's vulnerability data) are listed as unchecked, never
counted as clean.
"""

import json
import sys


def main(path: str) -> int:
    with open(path, encoding="utf-8") as file:
        report = json.load(file)
    checked = [d for d in report["dependencies"] if "skip_reason" not in d]
    skipped = [d for d in report["dependencies"] if "skip_reason" in d]
    found = [(d, v) for d in checked for v in d.get("vulns", [])]
    for dep, vuln in found:
        fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
        print(f"VULNERABLE {dep['name']} {dep['version']}: {vuln['id']} (fixed in: {fixes})")
    print(
        f"pip-audit: {len(checked)} of {len(report['dependencies'])} locked packages checked, "
        f"{len(found)} known vulnerabilities"
    )
    if skipped:
        print(
            f"NOT CHECKED: {len(skipped)} packages could not be looked up "
            f"({skipped[0]['skip_reason'].split(':')[0]}); run `make audit` where PyPI's "
            "vulnerability data is reachable"
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
