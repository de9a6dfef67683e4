"""No Warp kernels here: skipped without importing."""

VALUE = 1
