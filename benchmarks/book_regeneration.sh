#!/usr/bin/env bash
# Benchmark: the whole book under a profile from an empty run cache, in a clean clone, one chapter per call.
#
#     benchmarks/book_regeneration.sh CLONE_DIR [PROFILE=cpu] [COMMIT=HEAD]
#
# Clones this repository at COMMIT into CLONE_DIR (which must not exist), installs it there (`make env`), points the
# run cache at CLONE_DIR/_cache (empty), then runs `facerecon run-notebooks --profile PROFILE --only <chapter>` for
# every chapter in the book's order and `facerecon build-book`: what `make book PROFILE=...` runs, with each
# chapter's start and end in CLONE_DIR/regeneration.log and a table of wall times at its end. Run it alone on the
# machine (the budget is measured alone) and detached, e.g.
#
#     setsid nohup benchmarks/book_regeneration.sh /work/regen cpu < /dev/null > /work/regen.out 2>&1 &
#
# CHAPTERS="00 01 02" (chapter numbers) runs only those, in the book's order, and builds no book: a part of the
# measurement (the chapters after them then lack what those before them made).
#
# Afterwards, store what it computed as the profile's reference and bring it into this checkout:
#
#     cd CLONE_DIR && .venv/bin/facerecon store-reference --profile cpu && cp -r results/cpu/. MAIN/results/cpu/
#
# The real samples (../shared/real-samples beside the clone) are read when present, as in any checkout.
set -euo pipefail
clone=${1:?usage: book_regeneration.sh CLONE_DIR [PROFILE] [COMMIT]}
profile=${2:-cpu}
commit=${3:-HEAD}
source_repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
if [ -e "$clone" ]; then
    echo "book_regeneration.sh: $clone exists; give a new folder (the measurement starts from nothing)" >&2
    exit 2
fi
git clone -q "$source_repo" "$clone"
git -C "$clone" checkout -q "$commit"
cd "$clone"
log="$clone/regeneration.log"
make env > /dev/null
export FACERECON_CACHE="$clone/_cache" TQDM_DISABLE=1
chapters=$(ls notebooks/[0-9][0-9]_*.ipynb | xargs -n1 basename | sed 's/\.ipynb$//')
if [ -n "${CHAPTERS:-}" ]; then
    chapters=$(for chapter in $chapters; do case " $CHAPTERS " in *" ${chapter:0:2} "*) echo "$chapter";; esac; done)
fi
echo "commit $(git rev-parse --short HEAD) profile $profile cpu $(lscpu | sed -n 's/^Model name: *//p')" | tee "$log"
start=$(date +%s)
for chapter in $chapters; do
    began=$(date +%s)
    echo "$(date -u +%FT%TZ) start $chapter" >> "$log"
    .venv/bin/facerecon run-notebooks --profile "$profile" --only "$chapter" --no-progress >> "$log" 2>&1
    echo "$(date -u +%FT%TZ) end $chapter $(( $(date +%s) - began )) s" >> "$log"
done
if [ -z "${CHAPTERS:-}" ]; then
    began=$(date +%s)
    .venv/bin/facerecon build-book >> "$log" 2>&1
    echo "$(date -u +%FT%TZ) end build-book $(( $(date +%s) - began )) s" >> "$log"
fi
total=$(( $(date +%s) - start ))
echo "total $total s = $(( total / 60 )) min $(( total % 60 )) s" | tee -a "$log"
grep -E " end " "$log"
