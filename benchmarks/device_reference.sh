#!/usr/bin/env bash
# The benchmarks at the `gpu` profile's sizes on one GPU, each table written with its provenance to OUTDIR
# (committed under results/gpu/benchmarks/). From the repository root, with the package importable:
#
#     FACERECON_COMMIT=$(git rev-parse HEAD) bash benchmarks/device_reference.sh OUTDIR
#
# The step times give the `gpu` profile's expected training time per model (steps x ms per step); the full
# profile itself needs hours, more than one device check allows.
set -uo pipefail
out=${1:?usage: device_reference.sh OUTDIR}
py=${PYTHON:-python3}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 TQDM_DISABLE=1
{
    echo "made (UTC): $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: ${FACERECON_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | sed 's/^/gpu: /'
    echo "cpu cores: $(nproc)"
    $py -c "import sys, torch, numpy; print('python:', sys.version.split()[0]); print('torch:', torch.__version__, \
'cuda', torch.version.cuda); print('numpy:', numpy.__version__)"
} > "$out/provenance.txt"
cat "$out/provenance.txt"

run() {  # run NAME LIMIT_S COMMAND...: the table to OUTDIR/NAME.txt with the command line and wall time
    local name=$1 limit=$2; shift 2
    local start=$SECONDS
    { echo "\$ $*"; timeout "$limit" "$@" 2>&1; echo "exit status $?, wall time $((SECONDS - start)) s"; } \
        | tee "$out/$name.txt"
}
run model_speed_paper 150 $py benchmarks/model_speed.py --config paper --device cuda --threads 8 --repeats 20
run model_speed_cpu 100 $py benchmarks/model_speed.py --config cpu --device cuda --threads 8 --repeats 20
run training_speed_gpu 300 $py benchmarks/training_speed.py --profile gpu --device cuda --threads 8 --steps 20 \
    --workers 0 2 6
run generation_speed_gpu 150 $py benchmarks/generation_speed.py --profile gpu --device cuda --threads 8 \
    --steps 5 25 50 --repeats 3
