"""Lead sentences for the four domain families (spatial, linalg, random, bitwise).

Their kernels' structure lives in their Jinja templates; what the family sampled (the variant, a mode
or method, a few options) says what the kernel computes.  Each lead is one sentence; the arrays and
builtins are stated by the facts sentence that ``describe`` appends.  No RNG is touched here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from warp_synth.synth.templates.facts import Facts
from warp_synth.synth.templates.kernel import KernelBuilder

Ctx = dict[str, Any]


def _spatial(v: str, c: Ctx, p: Ctx, kb: KernelBuilder, f: Facts) -> str:
    o, a, dt = c["o"], c["a"], p["dtype"]
    if v == "mesh_points":
        where = "into world space" if o["world"] else "from world space into the body frame (the inverse transform)"
        src = {"indexed": ", each point's body read from an index array", "param": " given as a parameter",
               "array": ""}[o["src"]]
        nrm = " and their normals" if a.get("nrm") else ""
        return f"A rigid-body point-transform kernel ({dt}): it maps shape points{nrm} {where} with a body transform{src}."
    if v == "integrate":
        forces = "forces and inverse mass and inertia" if a.get("body_f") else "the current twist only"
        damp = {"none": "", "linear": " with linear angular damping", "exp": " with exponential damping"}[o["damp"]]
        return (f"A rigid-body integrator ({dt}): each thread steps one body's twist from {forces} and gravity, and "
                f"its pose from the twist over a timestep{damp}.")
    if v == "point_velocity":
        if len(o["sfx"]) == 2:
            return (f"A contact-velocity kernel ({dt}): it computes the world velocities of contact points on two "
                    f"bodies from their transforms and twists and the relative velocity's normal part along the "
                    f"contact normal{' and its tangential part' if a.get('vt_out') else ''}.")
        return (f"A point-velocity kernel ({dt}): it computes the world velocity of points attached to rigid bodies "
                f"from each body's transform and twist (angular velocity cross lever arm plus linear velocity).")
    if v == "fk_chain":
        return (f"A forward-kinematics kernel ({dt}) for {o['joint']} joints: each thread composes its parent body's "
                f"world transform with the joint frame and the joint's motion from its coordinates into the child "
                f"body's world transform.")
    if v == "pose_error":
        rot = {"axis_angle": "an axis-angle", "small": "a small-angle (quaternion vector part)",
               "matrix": "a rotation-matrix", "rpy": "a roll-pitch-yaw", "twist": "a twist-axis",
               "swing": "a swing"}[o["rot"]]
        extra = {"energy": ", plus a weighted spring energy", "correct": ", plus a relaxed pose correction",
                 "none": ""}[o["extra"]]
        return (f"A pose-error kernel ({dt}): it computes the relative transform between two frames and stores its "
                f"position error and {rot} rotation error{extra}.")
    if v == "spatial_dyn":
        return (f"A spatial-dynamics kernel ({dt}): from each body's twist and 6x6 spatial inertia it computes the "
                f"spatial momentum and the bias (velocity-product) force, stored as a body wrench.")
    if v == "wrench_accum":
        acc = {"inplace": "`+=`", "atomic_add": "wp.atomic_add", "atomic_sub": "wp.atomic_sub"}[o["acc"]]
        damped = " and damping" if a.get("qd") else ""
        return (f"A contact-force kernel ({dt}): each contact's penalty force from its penetration depth along the "
                f"normal (stiffness{damped}) is turned into a force-and-torque wrench about its body and "
                f"accumulated into the body wrenches with {acc}.")
    src = {"quats": "quaternions", "rpy": "roll-pitch-yaw angles", "matrix": "rotation matrices",
           "euler": "Euler angles", "align": "direction vectors (as the rotation aligning an up axis to them)"}
    mode = {"slerp": "wp.quat_slerp", "nlerp": "a normalised linear blend", "delta": "a relative-rotation step"}
    return (f"An orientation-blending kernel ({dt}): it turns {src[o['src']]} into quaternions and interpolates them "
            f"toward a second set of quaternions with {mode[o['mode']]} by a blend factor.")


def _linalg(v: str, c: Ctx, p: Ctx, kb: KernelBuilder, f: Facts) -> str:
    dt = p["dtype"]
    if v == "tet_fem":
        model = {"neo": "Neo-Hookean", "stvk": "St. Venant-Kirchhoff", "corot": "corotated"}[p["model"]]
        return (f"A tetrahedral FEM kernel ({dt}): each thread builds its tetrahedron's deformation gradient from "
                f"the vertex positions and rest-pose inverse, evaluates {model} stress and adds the resulting nodal "
                f"forces to its four vertices.")
    if v == "tri_cloth":
        pres = " plus a pressure force along the normal" if "cross" in f.builtins else ""
        return (f"A cloth-membrane kernel ({dt}): each thread computes its triangle's 3x2 deformation gradient, Green "
                f"strain and St. Venant-Kirchhoff stress and adds the membrane forces{pres} to its three vertices.")
    if v == "strain":
        mode = {"green": "the Green strain and a linear-elastic stress",
                "neo_cauchy": "the Neo-Hookean Cauchy stress and the Almansi strain",
                "invariants": "the strain, its invariants and an invariant-based stress",
                "rate": "a Jaumann stress-rate update from the velocity gradient"}[p["mode"]]
        return f"A strain/stress kernel ({dt}, {p['n']}x{p['n']} matrices): per element it computes {mode}."
    if v == "polar":
        mode = {"rotation": "the rotation of a polar decomposition via wp.svd3",
                "plastic": "an updated deformation gradient whose singular values are clamped (plasticity via "
                           "wp.svd3), updating the plastic volume ratio",
                "stretch2d": "the rotation of a 2x2 polar decomposition via wp.svd2",
                "qr": "the QR decomposition via wp.qr3"}[p["mode"]]
        return f"A matrix-decomposition kernel ({dt}): per element it computes {mode} of the input matrix."
    if v == "covariance":
        mode = {"window": "a window of neighbouring points", "indexed": "neighbours given by an index table",
                "inertia": "mass-weighted neighbouring points (as an inertia tensor)"}[p["mode"]]
        out = {"eig": "its eigenvalues from wp.eig3", "eig_normal": "the eigenvector of its smallest eigenvalue "
               "from wp.eig3 (a normal)", "cov": "the (regularised) matrix" if p["mode"] != "inertia" else
               "its inverse", "aniso": "an anisotropy matrix built from its wp.eig3 eigen-decomposition"}[p["out"]]
        return f"A covariance kernel ({dt}): per point it accumulates a 3x3 covariance over {mode} and stores {out}."
    if v == "gaussian":
        mode = {"density": "evaluates the Gaussian's density at a query point",
                "project": "projects its covariance to screen space (a 2D conic and a radius)",
                "cov": "stores that covariance"}[p["mode"]]
        return (f"A 3D-Gaussian kernel ({dt}): per Gaussian it builds a covariance from a rotation quaternion and "
                f"scales, and {mode}.")
    if v == "solve":
        method = {"inverse": "the matrix inverse", "cramer": "Cramer's rule", "qr": "QR back-substitution",
                  "jacobi": "Jacobi sweeps", "refine": "an inverse with iterative refinement"}[p["method"]]
        return f"A block linear-solve kernel ({dt}): per element it solves A x = b for {p['dim']}x{p['dim']} A by {method}."
    mode = {"rodrigues": "a rotation update by Rodrigues' formula", "homogeneous": "4x4 homogeneous transforms of "
            "points (and normals)", "frame": "an orthonormal frame from two vectors"}.get(p["mode"], "rotations")
    return f"A rotation kernel ({dt}): per element it applies {mode}."


def _random(v: str, c: Ctx, p: Ctx, kb: KernelBuilder, f: Facts) -> str:
    if v == "jitter":
        mode = {"plain": "", "prob": ", only with a given probability", "box": ", clamped into a box"}[p["mode"]]
        return f"A random-jitter kernel ({p['dtype']} {p['type'].removeprefix('wp.')}): each point is displaced by a scaled random offset{mode}."
    if v == "init":
        return (f"A particle-initialisation kernel ({p['dtype']}): each thread places a particle at a random position "
                f"in a {p['shape']} region (and usually a random initial velocity).")
    if v == "monte_carlo":
        mode = {"ao": "an ambient-occlusion-style average over random directions",
                "area": "the fraction of random points inside a radius", "integral": "a 1-D integral",
                "option": "a European option price under geometric Brownian motion",
                "volume": "a Gaussian-weighted volume average around a probe"}[p["mode"]]
        return f"A Monte Carlo kernel: each thread averages a loop of random samples to estimate {mode}."
    if v == "curl_advect":
        return f"A curl-noise advection kernel ({p['dtype']}): each particle is moved by the wp.curlnoise velocity at its position over a timestep."
    if v == "noise_field":
        return f"A procedural-noise kernel: each {p['ndim']}-D grid cell sums wp.{p['noise']} samples into a fractal value added to a base field."
    if v == "dropout":
        mode = {"where": "zeroed with wp.where unless a random draw falls under the keep probability (kept ones "
                         "rescaled)", "branch": "zeroed in a branch unless a random draw falls under the keep "
                         "probability (kept ones rescaled)", "gauss": "multiplied by Gaussian noise (Gaussian dropout)"}
        return f"A dropout kernel ({p['dtype']}): each element is {mode[p['mode']]}."
    if v == "discrete":
        op = {"bootstrap": "averages values picked at random indices (a bootstrap)",
              "poisson": "draws a Poisson count whose rate scales with its value",
              "cdf": "picks an index by sampling a cumulative distribution and atomically adds its value there",
              "walk": "runs a random walk over indices and averages the values visited",
              "signs": "multiplies its value by random signs"}[p["op"]]
        return f"A discrete-sampling kernel: each thread {op}."
    if v == "brownian":
        mode = {"em": "Euler-Maruyama steps of Brownian motion", "ou": "Ornstein-Uhlenbeck (damped velocity) steps",
                "reflect": "Brownian steps reflected into the unit box"}[p["mode"]]
        return f"A Brownian-motion kernel ({p['dtype']}): each walker advances by a loop of {mode}."
    if v == "surface_sample":
        mode = {"tri": "a uniform random point on its triangle, lifted along the normal",
                "lens": "a thin-lens camera ray through a random aperture point",
                "bounce": "a random hemisphere bounce direction around the surface normal"}[p["mode"]]
        return f"A surface-sampling kernel: each thread draws {mode}."
    mode = {"mul": "multiplies it by a tile of random numbers", "add": "adds a scaled tile of random numbers to it",
            "mask": "masks it with a random tile"}[p["mode"]]
    return f"A tile-random kernel: each block loads a row tile and {mode} before storing it."


def _bitwise(v: str, c: Ctx, p: Ctx, kb: KernelBuilder, f: Facts) -> str:
    if v == "hash":
        mode = {"keys": "hashes integer ids with a seed into keys", "jitter": "turns a hash of the thread id and a "
                "seed into a small float jitter added to each point", "state": "steps a per-thread RNG state in "
                "place for a number of rounds and outputs the combined draws"}[p["mode"]]
        return f"A hashing kernel using the {p['hash']} hash helper `{c['fn']}`: it {mode}."
    if v == "popcount":
        method = {"kernighan": "Kernighan's clear-lowest-bit loop", "scan": "a bit-by-bit loop",
                  "builtin": "wp.bit_count"}[p["method"]]
        what = "Hamming distances to a second array" if c["b"] else "set bits"
        return f"A popcount kernel over {p['dtype']} words: it counts {what} with {method}."
    if v == "bit_reverse":
        method = {"loop": "a while-loop bit reversal", "for": "a for-loop bit reversal", "swap": "mask-swap bit "
                  "reversal", "gray": "a Gray-code mapping"}[p["method"]]
        return (f"A permutation kernel over {p['type'].removeprefix('wp.')} data: each element moves to the index "
                f"given by {method} of its own index.")
    if v == "gcd":
        method = {"binary": "binary GCD", "euclid": "Euclid's bounded remainder loop", "euclid_mod": "Euclid's "
                  "bounded wp.mod loop", "euclid_tuple": "Euclid's loop with tuple assignment"}[p["method"]]
        return f"A GCD kernel over {p['dtype']} pairs: it computes greatest common divisors by {method}."
    if v == "morton":
        how = "by bit-spreading helpers" if p["interleave"] == "magic" else "by a bit loop"
        return (f"A Morton-code kernel: it quantises {p['dim']}-D {'integer cells' if p['int_cells'] else 'points'} to "
                f"grid cells and interleaves their coordinates' bits into uint32 codes {how}.")
    if v == "radix_hist":
        return (f"A radix-histogram kernel: it extracts a {p['bits']}-bit digit from each {p['dtype']} key and counts "
                f"the digits in a histogram with atomics.")
    if v == "bitmask":
        return (f"A bitset kernel over {p['dtype']} words: each thread sets the bit of its cell in an occupancy mask "
                f"and also applies {', '.join(p['ops'])} operations.")
    if v == "pack":
        mode = {"rgba8": "packs float colours into 8-bit RGBA words", "unpack8": "unpacks 8-bit channels of packed "
                "words into float colours", "snorm16": "quantises unit normals to snorm16 integers",
                "int8_quant": "quantises normals to int8 integers"}[p["mode"]]
        return f"A pixel-packing kernel: it {mode}."
    return ("A grid-cell kernel: it does integer vec3i cell arithmetic (neighbour offsets with wrap-around, tiles, "
            "distances) and computes linear cell indices.")


LEADS: dict[str, Callable[[str, Ctx, Ctx, KernelBuilder, Facts], str]] = {
    "spatial": _spatial, "linalg": _linalg, "random": _random, "bitwise": _bitwise}
