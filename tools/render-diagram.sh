#!/usr/bin/env bash
# Renders docs/architecture/*.puml to SVG with the PlantUML jar from Maven Central (fetched once into ~/.m2)
# and the pure-Java smetana layout (no Graphviz needed). Stamps each SVG with the SHA-256 of its source so a
# test can tell a stale SVG from a fresh one (git keeps no mtimes).
# Usage: tools/render-diagram.sh            (pnpm docs:diagram)
set -euo pipefail
cd "$(dirname "$0")/.."

plantuml_version=1.2025.4
artifact="net.sourceforge.plantuml:plantuml-mit:$plantuml_version"
jar="${M2_REPO:-$HOME/.m2/repository}/net/sourceforge/plantuml/plantuml-mit/$plantuml_version/plantuml-mit-$plantuml_version.jar"

command -v java >/dev/null || { echo "render-diagram: Java 11+ is required" >&2; exit 1; }
if [[ ! -f "$jar" ]]; then
  command -v mvn >/dev/null || { echo "render-diagram: Maven is required to fetch $artifact" >&2; exit 1; }
  mvn -q dependency:get -Dartifact="$artifact" -Dtransitive=false
fi

for source in docs/architecture/*.puml; do
  svg="${source%.puml}.svg"
  java -Djava.awt.headless=true -jar "$jar" -tsvg -failfast2 -nometadata "$source"
  hash=$(sha256sum "$source" | cut -d' ' -f1)
  # The stamp goes first in the file, as an XML comment the browser ignores.
  { printf '<!-- source: %s sha256:%s -->\n' "$(basename "$source")" "$hash"; cat "$svg"; } >"$svg.tmp"
  mv "$svg.tmp" "$svg"
  echo "render-diagram: $svg"
done
