"""The names a screened kernel module may use from ``warp`` and ``math``: static allow-lists.

The screen runs in the parent process, which never imports Warp, so these lists are data.
``WP_BUILTINS`` is Warp's kernel builtin registry (``warp_adapter.kernel_builtin_names()``)
minus ``EXCLUDED_BUILTINS``; ``tests/extract/test_screen_names.py`` fails when the installed
Warp's registry and this file disagree, and prints the tuple to paste here.  Everything else
(types, constants, ``math`` names) is checked against the installed modules by the same test.

Positions (see ``screen_rules``):

* kernel and ``@wp.func`` bodies may use ``wp.<name>`` for ``name`` in ``WP_BODY``;
* annotations may use ``wp.<name>`` for ``name`` in ``WP_TYPES`` (and ``wp.types.<name>`` for
  ``name`` in ``WP_TYPE_CONSTRUCTORS``), which Python evaluates at import;
* module-level constants may call only the value types in ``WP_VALUE_TYPES`` (Python runs them).
"""

from __future__ import annotations

# Warp builtins that are never allowed: ``static`` evaluates Python source at codegen time;
# ``breakpoint`` stops a debugger.
EXCLUDED_BUILTINS = frozenset({"static", "breakpoint"})

# Warp's kernel builtin registry (Warp 1.19) minus EXCLUDED_BUILTINS.
WP_BUILTINS = frozenset((
    "abs", "acos", "add", "add_inplace", "address", "argmax", "argmin", "array", "array_store", "asin",
    "assign", "assign_copy", "assign_inplace", "atan", "atan2", "atomic_add", "atomic_and", "atomic_cas",
    "atomic_exch", "atomic_max", "atomic_min", "atomic_or", "atomic_sub", "atomic_xor", "bfloat16", "bit_and",
    "bit_and_inplace", "bit_count", "bit_or", "bit_or_inplace", "bit_xor", "bit_xor_inplace", "block_dim",
    "bool", "bvh_get_group_root", "bvh_query_aabb", "bvh_query_aabb_tiled", "bvh_query_capsule",
    "bvh_query_next", "bvh_query_next_tiled", "bvh_query_ray", "bvh_query_ray_tiled", "bvh_query_sphere",
    "cast", "cbrt", "ceil", "clamp", "closest_point_edge_edge", "copy", "copysign", "cos", "cosh", "cross",
    "curlnoise", "cw_div", "cw_mul", "ddot", "degrees", "dense_chol", "dense_chol_batched", "dense_gemm",
    "dense_gemm_batched", "dense_solve", "dense_solve_batched", "dense_subs", "determinant", "diag", "div",
    "div_approx", "dot", "eig3", "erf", "erfc", "erfcinv", "erfinv", "exp", "expect_eq", "expect_near",
    "expect_neq", "extract", "float", "float16", "float32", "float64", "floor", "floordiv", "frac",
    "get_diag", "hash_grid_point_id", "hash_grid_query", "hash_grid_query_next", "identity", "index",
    "indexref", "int", "int16", "int32", "int64", "int8", "intersect_tri_tri", "inverse", "inverse_approx",
    "invert", "isfinite", "isinf", "isnan", "iter_next", "len", "length", "length_sq", "lerp", "load", "log",
    "log10", "log2", "lower_bound", "lshift", "matrix", "matrix_from_cols", "matrix_from_rows", "max",
    "mesh_eval_face_normal", "mesh_eval_position", "mesh_eval_velocity", "mesh_get", "mesh_get_bvh",
    "mesh_get_group_root", "mesh_get_index", "mesh_get_point", "mesh_get_velocity", "mesh_query_aabb",
    "mesh_query_aabb_next", "mesh_query_aabb_next_tiled", "mesh_query_aabb_tiled",
    "mesh_query_furthest_point_no_sign", "mesh_query_next", "mesh_query_point", "mesh_query_point_no_sign",
    "mesh_query_point_sign_normal", "mesh_query_point_sign_parity", "mesh_query_point_sign_winding_number",
    "mesh_query_ray", "mesh_query_ray_anyhit", "mesh_query_ray_count_intersections", "mesh_query_sphere",
    "min", "mod", "mul", "neg", "noise", "nonzero", "norm_huber", "norm_l1", "norm_l2", "norm_pseudo_huber",
    "normalize", "outer", "pnoise", "poisson", "pos", "pow", "print", "printf", "qr3", "quat_from_axis_angle",
    "quat_from_euler", "quat_from_matrix", "quat_identity", "quat_inverse", "quat_rotate", "quat_rotate_inv",
    "quat_rpy", "quat_slerp", "quat_to_axis_angle", "quat_to_euler", "quat_to_matrix", "quat_to_rpy",
    "quat_twist", "quat_twist_angle", "quat_twist_angle_signed", "quaternion", "radians", "rand_init",
    "randf", "randi", "randn", "randu", "range", "reversed", "rint", "round", "rshift", "sample_cdf",
    "sample_triangle", "sample_unit_cube", "sample_unit_disk", "sample_unit_hemisphere",
    "sample_unit_hemisphere_surface", "sample_unit_ring", "sample_unit_sphere", "sample_unit_sphere_surface",
    "sample_unit_square", "select", "sign", "sin", "sinh", "skew", "slice", "smooth_normalize", "smoothstep",
    "spatial_adjoint", "spatial_bottom", "spatial_cross", "spatial_cross_dual", "spatial_dot", "spatial_top",
    "spatial_vector", "sqrt", "step", "store", "sub", "sub_inplace", "svd2", "svd3", "tan", "tanh",
    "texture_sample", "tid", "tile", "tile_add_inplace", "tile_arange", "tile_argmax", "tile_argmin",
    "tile_assign", "tile_astype", "tile_atomic_add", "tile_atomic_add_indexed", "tile_axpy",
    "tile_bit_and_inplace", "tile_bit_or_inplace", "tile_bit_xor_inplace", "tile_broadcast",
    "tile_bvh_query_aabb", "tile_bvh_query_next", "tile_bvh_query_ray", "tile_cholesky",
    "tile_cholesky_inplace", "tile_cholesky_solve", "tile_cholesky_solve_inplace", "tile_diag_add",
    "tile_dot", "tile_empty", "tile_extract", "tile_fft", "tile_from_thread", "tile_full", "tile_ifft",
    "tile_load", "tile_load_indexed", "tile_lower_solve", "tile_lower_solve_inplace", "tile_map",
    "tile_matmul", "tile_max", "tile_mesh_query_aabb", "tile_mesh_query_aabb_next", "tile_min", "tile_ones",
    "tile_query_valid", "tile_randf", "tile_randi", "tile_reduce", "tile_reshape", "tile_scan_exclusive",
    "tile_scan_inclusive", "tile_scan_max_inclusive", "tile_scan_min_inclusive", "tile_scatter_add",
    "tile_scatter_masked", "tile_slice_indexed", "tile_sort", "tile_squeeze", "tile_stack",
    "tile_stack_clear", "tile_stack_count", "tile_stack_pop", "tile_stack_push", "tile_store",
    "tile_store_indexed", "tile_sub_inplace", "tile_sum", "tile_transpose", "tile_upper_solve",
    "tile_upper_solve_inplace", "tile_view", "tile_zeros", "trace", "transform_add_inplace",
    "transform_compose", "transform_decompose", "transform_from_matrix", "transform_get_rotation",
    "transform_get_translation", "transform_identity", "transform_inverse", "transform_multiply",
    "transform_point", "transform_set_rotation", "transform_set_rotation_copy", "transform_set_translation",
    "transform_set_translation_copy", "transform_sub_inplace", "transform_to_matrix", "transform_twist",
    "transform_vector", "transform_wrench", "transformation", "transpose", "trunc", "tuple", "uint16",
    "uint32", "uint64", "uint8", "unot", "untile", "vector", "velocity_at_point", "view",
    "volume_index_to_world", "volume_index_to_world_dir", "volume_lookup", "volume_lookup_f",
    "volume_lookup_i", "volume_lookup_index", "volume_lookup_v", "volume_sample", "volume_sample_f",
    "volume_sample_grad", "volume_sample_grad_f", "volume_sample_grad_index", "volume_sample_i",
    "volume_sample_index", "volume_sample_v", "volume_store", "volume_store_f", "volume_store_i",
    "volume_store_v", "volume_voxel_count", "volume_world_to_index", "volume_world_to_index_dir", "where",
    "zeros"
))

# Warp functions exported by ``warp`` that are user-level ``@wp.func`` rather than registry builtins.
WP_EXTRA_FUNCS = frozenset({"quat_between_vectors"})

_SCALARS = ("bool", "float16", "float32", "float64", "bfloat16", "int8", "int16", "int32", "int64", "uint8",
            "uint16", "uint32", "uint64")
_VECTORS = tuple(f"vec{n}{s}" for n in (2, 3, 4) for s in ("", "b", "d", "f", "h", "i", "l", "s", "ub", "ui", "ul",
                                                                 "us"))
_MATRICES = tuple(f"mat{n}{n}{s}" for n in (2, 3, 4) for s in ("", "d", "f", "h"))
_COMPOSITES = tuple(f"{k}{s}" for k in ("quat", "transform", "spatial_vector", "spatial_matrix")
                    for s in ("", "d", "f", "h"))

# Value types: Python may construct them at import (``C = wp.constant(wp.vec3(1.0, 0.0, 0.0))``).
WP_VALUE_TYPES = frozenset(_SCALARS + _VECTORS + _MATRICES + _COMPOSITES)

# Array and tile kinds: annotations only (``a: wp.array(dtype=float)``, ``wp.array2d[wp.vec3]``).
WP_ARRAY_KINDS = frozenset({
    "array", "array1d", "array2d", "array3d", "array4d", "indexedarray", "indexedarray1d", "indexedarray2d",
    "indexedarray3d", "indexedarray4d", "fabricarray", "fabricarrayarray", "indexedfabricarray",
    "indexedfabricarrayarray", "tile", "ref",
})

# Other annotation types: generic type variables, function parameters (``g: wp.Function``) and the
# structs that query builtins return.
WP_OTHER_TYPES = frozenset({
    "Float", "Int", "Scalar", "Function", "handle", "BvhQuery", "BvhQueryTiled", "HashGridQuery", "MeshQuery",
    "MeshQueryAABB", "MeshQueryAABBTiled", "MeshQueryPoint", "MeshQueryRay", "Texture1D", "Texture2D", "Texture3D",
})

WP_TYPES = WP_VALUE_TYPES | WP_ARRAY_KINDS | WP_OTHER_TYPES

# ``wp.types.<name>``: type constructors (``wp.types.vector(length=5, dtype=float)``).
WP_TYPE_CONSTRUCTORS = frozenset({"vector", "matrix", "quaternion", "transformation"})

WP_CONSTANTS = frozenset({
    "e", "half_pi", "inf", "ln10", "ln2", "log10e", "log2e", "nan", "phi", "pi", "tau",
    "E", "HALF_PI", "INF", "LN10", "LN2", "LOG10E", "LOG2E", "NAN", "PHI", "PI", "TAU",
})

# ``wp.<Class>.<NAME>`` integer constants (``wp.Volume.LINEAR``).
WP_ENUMS: dict[str, frozenset[str]] = {
    "Volume": frozenset({"CLOSEST", "LINEAR"}),
    "TextureFilterMode": frozenset({"CLOSEST", "LINEAR"}),
    "TextureAddressMode": frozenset({"BORDER", "CLAMP", "MIRROR", "WRAP"}),
}

# Everything ``wp.<name>`` may name inside a kernel or function body.
WP_BODY = WP_BUILTINS | WP_EXTRA_FUNCS | WP_TYPES | WP_CONSTANTS

# ``from warp import <name> [as alias]`` binds one of these: the same names as ``WP_BODY``.
WP_IMPORTABLE = WP_BODY

# Python builtins a kernel body may name bare: those Warp maps to a kernel builtin of the same name.
BARE_BUILTINS = frozenset({
    "abs", "bool", "float", "int", "len", "max", "min", "pow", "print", "range", "reversed", "round", "slice", "tuple",
})

# ``math.<name>``: functions Warp maps to its builtins, and constants.
MATH_FUNCS = frozenset({
    "acos", "asin", "atan", "atan2", "cbrt", "ceil", "copysign", "cos", "cosh", "degrees", "erf", "erfc", "exp",
    "floor", "isfinite", "isinf", "isnan", "log", "log10", "log2", "pow", "radians", "sin", "sinh", "sqrt", "tan",
    "tanh", "trunc",
})
MATH_CONSTANTS = frozenset({"e", "inf", "nan", "pi", "tau"})

# Why some tempting ``wp.<name>`` are refused (the message a repair prompt gets); any other name
# outside the lists is "not a Warp kernel builtin, type or constant".
WP_REFUSED: dict[str, str] = {
    "static": "it evaluates Python code while Warp generates the kernel",
    "func_native": "it pastes C++ source into the generated code",
    "func_replay": "custom replay functions are not supported in generated kernels",
    "set_module_options": "it changes compiler options (only a top-level wp.set_module_options with "
                          "enable_backward, block_dim or max_unroll is allowed)",
    "get_module_options": "it exposes the module's compiler options",
    "constant": "wp.constant(...) is for module-level constants",
    "config": "it is Warp's global configuration",
    "types": "only wp.types.vector/matrix/quaternion/transformation are allowed",
    "utils": "it is host-side Python API",
    "breakpoint": "it stops a debugger",
    "launch": "it is host-side API (it launches kernels)",
    "launch_tiled": "it is host-side API (it launches kernels)",
    "load_module": "it is host-side API (it loads modules)",
    "force_load": "it is host-side API (it loads modules)",
    "ScopedDevice": "it is host-side API (it changes the device)",
    "set_device": "it is host-side API (it changes the device)",
    "empty": "it is host-side API (it allocates memory)",
    "full": "it is host-side API (it allocates memory)",
    "ones": "it is host-side API (it allocates memory)",
    "from_numpy": "it is host-side API (it allocates memory)",
    "grad": "it is only allowed as wp.grad(<function>)(...) inside kernel code",
}
