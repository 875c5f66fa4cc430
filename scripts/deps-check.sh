#!/usr/bin/env bash
# Lists the module versions this build selects and fails on any inside a
# known advisory range (the table is in deps_test.go).
set -euo pipefail
cd "$(dirname "$0")/.."
go test -count=1 -run 'TestDependencyAdvisories|TestSemverLess|TestAdvisoryCheck' -v . | grep -v '^=== RUN'
