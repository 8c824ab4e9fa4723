#!/usr/bin/env bash
# libFuzzer runs of the pure parsers, beside the randomized tests (swift test --filter Fuzz):
#   scripts/fuzz.sh json|config [SECONDS]
# builds scripts/fuzz/<target>.swift with the parser's sources under -sanitize=fuzzer,address and fuzzes
# for SECONDS (default 60). The corpus grows in .build/fuzz/<target>/corpus; a crashing input is
# written to .build/fuzz/<target>/crash-* and the script fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH

target=${1:?usage: scripts/fuzz.sh json|config [SECONDS]}
seconds=${2:-60}
case "$target" in
  json)
    sources=(Sources/OutboxdCore/JSON*.swift)
    seeds=('{"title":"x","description":null,"status":"todo","due_at":"2026-01-31T09:00:00Z"}' '[1,-0.5e3,"\ud83d\ude00",true,null,{}]') ;;
  config)
    sources=(Sources/OutboxdDaemon/EnvironmentFile.swift Sources/OutboxdDaemon/ConfigurationError.swift Sources/OutboxdDaemon/Redaction.swift)
    seeds=($'# comment\nA=plain value\r\nB="quoted \\"inner\\""\nC=\'single\'\n' $'HTTP_LISTEN=127.0.0.1:8080\n') ;;
  *) echo "unknown fuzz target $target (json, config)" >&2; exit 64 ;;
esac

dir=.build/fuzz/$target
mkdir -p "$dir/corpus"
for index in "${!seeds[@]}"; do printf '%s' "${seeds[$index]}" >"$dir/corpus/seed-$index"; done
swiftc -sanitize=fuzzer,address -parse-as-library -O "${sources[@]}" "scripts/fuzz/$target.swift" -o "$dir/fuzzer" 2>"$dir/build.log" \
  || { cat "$dir/build.log" >&2; exit 1; }
"$dir/fuzzer" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$dir/" "$dir/corpus"
