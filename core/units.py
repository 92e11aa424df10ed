"""Unit conversions, defined once. Names say what converts to what."""

J_PER_KWH = 3.6e6
S_PER_H = 3600.0
H_PER_YEAR = 8760.0
SAMPLES_PER_MILLION = 1e6
FLOP_PER_TFLOP = 1e12
BYTES_PER_GIB = 2**30

