#!/usr/bin/env bash
# Fails when git tracks a compiled program or a file over 1 MiB: a stray `go build` in the root once added 127 MB
# that every clone downloaded.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
limit=$((1024 * 1024))
bad=0
while IFS= read -r -d '' f; do
  [ -f "$f" ] || continue
  size=$(stat -c %s "$f")
  if [ "$size" -gt "$limit" ]; then
    echo "tracked file over 1 MiB: $f ($size bytes)" >&2; bad=1
  fi
  # ELF, Mach-O, PE and shebang-less executables are recognised by their first bytes.
  case "$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')" in
    7f454c46|cffaedfe|cefaedfe|feedfacf|feedface|4d5a*)
      echo "tracked compiled program: $f" >&2; bad=1 ;;
  esac
done < <(git ls-files -z)
exit "$bad"
