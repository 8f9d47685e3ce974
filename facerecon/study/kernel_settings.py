"""The float-kernel settings that :mod:`facerecon.study.kernels` runs the tests under: environment variables per
setting (none for the CPU's own choice). Apart from that module so that the CLI lists them without importing it."""

KERNEL_SETTINGS: dict[str, dict[str, str]] = {
    "native": {},
    "avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
             "OPENBLAS_CORETYPE": "Haswell"},
}
