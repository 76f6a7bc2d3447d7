"""What the CPU is and which 8-bit dot-product instructions it has (Linux /proc/cpuinfo).

int8 models depend on them: onnxruntime's u8 x s8 kernel without VNNI (plain AVX2 or
AVX-512BW) adds products in pairs into 16 bits, which saturate when weights use the full
s8 range. The shipped int8 model scored a labelled plume 0.18 there against fp32's 0.84;
with VNNI (or AMX) the same model matches fp32.
"""

from __future__ import annotations

import platform
from pathlib import Path

INT8_DOT_PRODUCT_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


def cpuinfo_field(field: str) -> str | None:
    """The first value of `field` in /proc/cpuinfo (Linux), else None."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.split(":", 1)[0].strip() == field:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model() -> str:
    return cpuinfo_field("model name") or platform.processor() or "unknown"


def int8_dot_product_flags() -> set[str] | None:
    """The CPU's 8-bit dot-product instructions (VNNI, AMX); None where /proc/cpuinfo is absent."""
    flags = cpuinfo_field("flags")
    return None if flags is None else set(flags.split()) & INT8_DOT_PRODUCT_FLAGS


def int8_weights_saturate(weight_bits: int, flags: set[str] | None = None) -> bool:
    """True where this CPU's int8 kernel can overflow on weights of `weight_bits` bits.

    Unknown CPUs (no /proc/cpuinfo) count as safe: the warning is for a known risk only.
    """
    flags = int8_dot_product_flags() if flags is None else flags
    return weight_bits > 7 and flags is not None and not flags
