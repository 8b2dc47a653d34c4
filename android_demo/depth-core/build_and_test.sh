#!/usr/bin/env bash
# Compiles depth-core (main + test sources) with bare kotlinc and runs its JUnit 4 tests on the JVM.
# No Gradle: there is no Google Maven here. Run ./setup.sh first (idempotent).
# Last line: "N passed, N failed"; exit status 0 only when everything passed.
# Env: KOTLINC (compiler path), JUNIT_JAR, HAMCREST_JAR override the defaults; REBUILD=1 forces a compile.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BUILD="$HERE/build/jvm"
CLASSES="$BUILD/classes"

KOTLINC="${KOTLINC:-}"
if [ -z "$KOTLINC" ]; then
  if [ -x "$REPO/.tools/kotlin/node_modules/kotlin-compiler/bin/kotlinc" ]; then
    KOTLINC="$REPO/.tools/kotlin/node_modules/kotlin-compiler/bin/kotlinc"
  elif command -v kotlinc >/dev/null 2>&1; then
    KOTLINC="$(command -v kotlinc)"
  else
    echo "build_and_test: kotlinc not found; run $HERE/setup.sh" >&2
    exit 2
  fi
fi
KOTLIN_LIB="$(cd "$(dirname "$(readlink -f "$KOTLINC")")/../lib" && pwd)"
STDLIB="$KOTLIN_LIB/kotlin-stdlib.jar"
JUNIT_JAR="${JUNIT_JAR:-/usr/share/java/junit4.jar}"
HAMCREST_JAR="${HAMCREST_JAR:-/usr/share/java/hamcrest-core.jar}"
for f in "$STDLIB" "$JUNIT_JAR" "$HAMCREST_JAR"; do
  [ -f "$f" ] || { echo "build_and_test: missing $f; run $HERE/setup.sh" >&2; exit 2; }
done
command -v java >/dev/null 2>&1 || { echo "build_and_test: java not found; run $HERE/setup.sh" >&2; exit 2; }

SOURCES=()
while IFS= read -r f; do SOURCES+=("$f"); done < <(find "$HERE/src/main/kotlin" "$HERE/src/test/kotlin" -name '*.kt' | sort)
STAMP="$BUILD/compiled.stamp"
# Recompile when any source or the compiler changed since the last good compile.
if [ "${REBUILD:-0}" = 1 ] || [ ! -f "$STAMP" ] || [ -n "$(find "$HERE/src/main/kotlin" "$HERE/src/test/kotlin" -newer "$STAMP" -name '*.kt' -print -quit)" ] \
   || [ "$(cat "$STAMP")" != "$KOTLINC ${#SOURCES[@]}" ]; then
  rm -rf "$CLASSES" "$STAMP"
  mkdir -p "$CLASSES"
  echo "build_and_test: compiling ${#SOURCES[@]} Kotlin files with $KOTLINC"
  start=$(date +%s)
  # The stamp takes the time compilation starts, so edits made meanwhile trigger the next compile.
  echo "$KOTLINC ${#SOURCES[@]}" > "$STAMP.new"
  "$KOTLINC" -nowarn -jvm-target 17 -cp "$JUNIT_JAR:$HAMCREST_JAR" -d "$CLASSES" "${SOURCES[@]}"
  echo "build_and_test: compiled in $(( $(date +%s) - start ))s"
  mv "$STAMP.new" "$STAMP"
else
  echo "build_and_test: sources unchanged, reusing $CLASSES"
fi

TEST_CLASSES=()
while IFS= read -r f; do
  rel="${f#"$CLASSES"/}"
  TEST_CLASSES+=("$(echo "${rel%.class}" | tr / .)")
done < <(find "$CLASSES" -name '*Test.class' ! -name '*$*' | sort)
[ ${#TEST_CLASSES[@]} -gt 0 ] || { echo "build_and_test: no test classes found" >&2; exit 1; }

LOG="$BUILD/junit.log"
set +e
java -cp "$CLASSES:$HERE/src/test/resources:$STDLIB:$JUNIT_JAR:$HAMCREST_JAR" org.junit.runner.JUnitCore "${TEST_CLASSES[@]}" 2>&1 | tee "$LOG"
status=${PIPESTATUS[0]}
set -e

if ok=$(grep -oE '^OK \(([0-9]+) tests?\)' "$LOG"); then
  run=$(echo "$ok" | grep -oE '[0-9]+'); failed=0
elif counts=$(grep -oE '^Tests run: [0-9]+, +Failures: [0-9]+' "$LOG"); then
  run=$(echo "$counts" | grep -oE '[0-9]+' | sed -n 1p); failed=$(echo "$counts" | grep -oE '[0-9]+' | sed -n 2p)
else
  run=0; failed=1
fi
echo "$(( run - failed )) passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
