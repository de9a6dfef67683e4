"""Test vectors' stored form (extract.vectors): type names, JSON round trips, replay comparison."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest
import warp as wp

from warp_synth.extract import vectors as vec

pytestmark = pytest.mark.timeout(60)

VEC6D = wp.types.vector(length=6, dtype=wp.float64)
VEC5D = wp.types.vector(length=5, dtype=wp.float64)
MAT34F = wp.types.matrix(shape=(3, 4), dtype=wp.float32)


@pytest.mark.parametrize(("t", "name"), [
    (wp.float16, "float16"), (wp.float32, "float32"), (wp.float64, "float64"), (float, "float32"),
    (wp.int8, "int8"), (wp.int32, "int32"), (wp.int64, "int64"), (wp.uint32, "uint32"), (int, "int32"),
    (wp.bool, "bool"), (wp.vec3f, "vec3f"), (wp.vec3, "vec3f"), (wp.mat33d, "mat33d"), (wp.quatf, "quatf"),
    (wp.transformf, "transformf"), (wp.vec4f, "vec4f"),
])
def test_named_types_round_trip(t: Any, name: str):
    assert vec.dtype_name(t) == name
    back = vec.dtype_from_name(name)
    assert back is getattr(wp, name)
    assert wp.types.types_equal(back, t)


def test_quaternion_and_transform_are_not_confused_with_plain_vectors():
    assert vec.dtype_name(wp.quatf) != vec.dtype_name(wp.vec4f)
    assert vec.dtype_name(wp.transformf) == "transformf"
    assert wp.types.type_is_quaternion(vec.dtype_from_name("quatf"))
    assert wp.types.type_is_transformation(vec.dtype_from_name("transformf"))


def test_generic_vector_and_matrix_round_trip():
    # a length-6 float64 vector is Warp's spatial_vectord: stored under that public name
    name = vec.dtype_name(VEC6D)
    assert getattr(wp, name, None) is not None
    back = vec.dtype_from_name(name)
    assert wp.types.types_equal(back, VEC6D) and back._length_ == 6 and vec.scalar_type(back) is wp.float64
    # types Warp has no name for are stored as wp.types.vector / wp.types.matrix arguments
    assert vec.dtype_name(VEC5D) == "vector(length=5,dtype=float64)"
    assert wp.types.types_equal(vec.dtype_from_name("vector(length=5,dtype=float64)"), VEC5D)
    assert vec.dtype_name(MAT34F) == "matrix(shape=(3,4),dtype=float32)"
    back_m = vec.dtype_from_name("matrix(shape=(3,4),dtype=float32)")
    assert wp.types.types_equal(back_m, MAT34F) and tuple(back_m._shape_) == (3, 4)


def test_unknown_dtype_name_is_an_error():
    with pytest.raises(ValueError, match="unknown dtype 'no_such_type'"):
        vec.dtype_from_name("no_such_type")


@pytest.mark.parametrize("t", [wp.float32, wp.float64, wp.float16, wp.int32, wp.uint8, wp.bool, wp.vec3f,
                               wp.mat33d, wp.quatf, wp.transformf, VEC6D, VEC5D, MAT34F])
def test_arrays_encode_and_decode(t: Any):
    shape = (4, 3)
    data = vec.Draws(7, 4).elements(t, shape)
    assert data.shape == shape + vec.inner_shape(t)
    stored = vec.encode_array(t, data, shape)
    assert stored["shape"] == [4, 3] and stored["dtype"] == vec.dtype_name(t)
    assert len(stored["data"]) == data.size
    text = json.loads(json.dumps(stored))  # plain JSON
    back_t, back = vec.decode_array(text)
    assert wp.types.types_equal(back_t, t)
    assert back.dtype == data.dtype and back.shape == data.shape
    assert np.array_equal(back, data)
    # and Warp's public API accepts it as an array of that type
    arr = wp.array(back, dtype=back_t, device="cpu")
    assert arr.shape == shape and np.array_equal(arr.numpy(), data)


@pytest.mark.parametrize("t", [wp.float32, wp.float64, wp.int32, wp.bool, wp.vec3f, wp.mat33d, wp.quatf,
                               wp.transformf, VEC6D])
def test_values_encode_and_decode(t: Any):
    v = vec.Draws(3, 8).value(t)
    stored = json.loads(json.dumps(vec.encode_value(t, v)))
    assert stored["dtype"] == vec.dtype_name(t)
    back = vec.decode_value(stored)
    if vec.is_composite(t):
        assert len(stored["value"]) == int(np.prod(vec.inner_shape(t)))
        assert wp.types.types_equal(type(back), t)
        np.testing.assert_array_equal(np.array(back), np.array(v))
    else:
        assert back == v


def test_draws_follow_the_documented_domains():
    d = vec.Draws(11, 16)
    f = d.elements(wp.float32, (200,))
    assert f.dtype == np.float32 and f.min() >= 0.25 and f.max() <= 1.0
    n = d.elements(wp.int32, (200,))
    assert n.dtype == np.int32 and n.min() >= 0 and n.max() < 16
    q = d.elements(wp.quatf, (50,))
    np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1.0, rtol=1e-5)
    tf = d.elements(wp.transformf, (50,))
    np.testing.assert_allclose(np.linalg.norm(tf[:, 3:], axis=-1), 1.0, rtol=1e-5)
    m = d.elements(wp.mat33d, (50,))
    assert all(abs(np.linalg.det(x)) > 1.0 for x in m)  # diagonally dominant
    assert 1 <= d.value(wp.int32) < 16 and 0.25 <= d.value(wp.float32) <= 1.0
    # seeded: the same seed draws the same values
    assert np.array_equal(vec.Draws(5, 8).elements(wp.vec3f, (8,)), vec.Draws(5, 8).elements(wp.vec3f, (8,)))


def stored(t: Any, values: list[Any]) -> dict[str, Any]:
    a = np.array(values, dtype=wp.dtype_to_numpy(vec.scalar_type(t)))
    return vec.encode_array(t, a, (len(values),))


def test_compare_is_exact_for_integers():
    ref = {"n": stored(wp.int32, [1, 2, 3, 4])}
    assert vec.compare(ref, {"n": stored(wp.int32, [1, 2, 3, 4])}) == []
    [problem] = vec.compare(ref, {"n": stored(wp.int32, [1, 2, 4, 4])})
    # values are shown by repr: ``np.int32(4)`` with numpy 2, ``4`` before
    assert re.fullmatch(r"n: 1 of 4 values differ \(first at flat index 2: (np\.int32\(4\)|4) instead of "
                        r"(np\.int32\(3\)|3)\)", problem), problem
    # one step is never "close" for integers, however large the values
    big = {"n": stored(wp.int64, [10**12])}
    assert len(vec.compare(big, {"n": stored(wp.int64, [10**12 + 1])})) == 1
    b = {"m": stored(wp.bool, [True, False])}
    assert vec.compare(b, {"m": stored(wp.bool, [True, True])})[0].startswith("m: 1 of 2 values differ")


def test_compare_tolerates_float_rounding_and_reports_a_mismatch():
    ref = {"b": stored(wp.float32, [1.0, 0.5, 0.25, 0.0])}
    close = {"b": stored(wp.float32, [1.0 + 2e-6, 0.5 - 1e-6, 0.25, 1e-7])}
    assert vec.compare(ref, close) == []
    far = {"b": stored(wp.float32, [1.0, 0.5, 0.2501, 0.0])}
    [problem] = vec.compare(ref, far)
    assert problem.startswith("b: 1 of 4 values differ (first at flat index 2: ")
    assert "0.2501" in problem and "0.25)" in problem
    # float64 is held much tighter than float32
    ref64 = {"c": stored(wp.float64, [1.0, 2.0])}
    assert vec.compare(ref64, {"c": stored(wp.float64, [1.0 + 1e-13, 2.0])}) == []
    assert len(vec.compare(ref64, {"c": stored(wp.float64, [1.0 + 2e-6, 2.0])})) == 1
    # composite floats compare element by element
    v = {"v": stored(wp.vec3f, [[0.25, 0.5, 0.75]])}
    assert vec.compare(v, {"v": stored(wp.vec3f, [[0.25, 0.5, 0.75 + 1e-7]])}) == []
    assert vec.compare(v, {"v": stored(wp.vec3f, [[0.25, 0.6, 0.75]])})[0].startswith("v: 1 of 3 values differ")


def test_compare_reports_missing_and_reshaped_outputs():
    ref = {"b": stored(wp.float32, [1.0, 2.0]), "n": stored(wp.int32, [1])}
    got = {"b": stored(wp.float32, [1.0, 2.0, 3.0])}
    assert vec.compare(ref, got) == ["b: shape [3] instead of [2]", "n: missing from the replay"]


def test_compare_checks_arrays_of_structs_field_by_field():
    def structs(m: list[float], k: list[int]) -> dict:
        return {"p": {"dtype": "struct", "struct": "Particle", "shape": [2],
                      "fields": {"m": stored(wp.float32, m), "k": stored(wp.int32, k)}}}

    assert vec.compare(structs([0.5, 1.0], [1, 2]), structs([0.5, 1.0 + 1e-7], [1, 2])) == []
    [problem] = vec.compare(structs([0.5, 1.0], [1, 2]), structs([0.5, 1.0], [1, 3]))
    assert problem.startswith("p.k: 1 of 2 values differ (first at flat index 1: 3 instead of 2)")
