"""Lead sentences for the domain families (spatial, linalg, random, bitwise, structs, functions; geometry,
tiles and volumes in their own modules).

Their kernels' structure lives in their Jinja templates; what the family sampled (the variant, a mode
or method, a few options) says what the kernel computes.  Each lead is one sentence; the arrays and
builtins are stated by the facts sentence that ``describe`` appends.  No RNG is touched here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from warp_synth.synth.templates.describe_geometry import lead as _geometry
from warp_synth.synth.templates.describe_tiles import lead as _tiles
from warp_synth.synth.templates.facts import Facts
from warp_synth.synth.templates.kernel import KernelBuilder
from warp_synth.synth.templates.volumes import lead as _volumes

Ctx = dict[str, Any]


def _spatial(v: str, c: Ctx, p: Ctx, kb: KernelBuilder, f: Facts) -> str:
    o, a, dt = c["o"], c["a"], p["dtype"]
    if v == "mesh_points":
        where = "into world space" if o["world"] else "from world space into the body frame (the inverse transform)"
        src = {"indexed": ", each point's body read from an index array", "param": " given as a parameter",
               "array": ""}[o["src"]]
        nrm = " and their normals" if a.get("nrm") else ""
        axis = ", storing each normal's dominant axis (wp.argmax)" if a.get("axis_out") else ""
        return (f"A rigid-body point-transform kernel ({dt}): it maps shape points{nrm} {where} with a body "
                f"transform{src}{axis}.")
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
        back = {"ball": ", and reads the joint rotation back as Euler angles",
                "revolute": ", and reads the hinge angle back as a signed twist angle"}.get(o["joint"], "")
        return (f"A forward-kinematics kernel ({dt}) for {o['joint']} joints: each thread composes its parent body's "
                f"world transform with the joint frame and the joint's motion from its coordinates into the child "
                f"body's world transform{back if a.get('ang_out') else ''}.")
    if v == "pose_error":
        rot = {"axis_angle": "an axis-angle", "small": "a small-angle (quaternion vector part)",
               "matrix": "a rotation-matrix", "rpy": "a roll-pitch-yaw", "twist": "a twist-axis",
               "swing": "a swing", "euler": "an Euler-angle"}[o["rot"]]
        extra = {"energy": ", plus a weighted spring energy", "correct": ", plus a relaxed pose correction",
                 "none": ""}[o["extra"]]
        loss = {"huber": ", a Huber residual", "pseudo_huber": ", a pseudo-Huber residual"}.get(
            o.get("loss", "l2"), "") if a.get("nrm_out") else ""
        return (f"A pose-error kernel ({dt}): it computes the relative transform between two frames and stores its "
                f"position error and {rot} rotation error{loss}{extra}.")
    if v == "spatial_dyn":
        return (f"A spatial-dynamics kernel ({dt}): from each body's twist and 6x6 spatial inertia it computes the "
                f"spatial momentum and the bias (velocity-product) force, stored as a body wrench.")
    if v == "wrench_accum":
        acc = {"inplace": "`+=`", "atomic_add": "wp.atomic_add", "atomic_sub": "wp.atomic_sub"}[o["acc"]]
        damped = " and damping" if a.get("qd") else ""
        nrm = "smoothly normalised normal" if o["smooth"] else "normal"
        return (f"A contact-force kernel ({dt}): each contact's penalty force from its penetration depth along the "
                f"{nrm} (stiffness{damped}) is turned into a force-and-torque wrench about its body and "
                f"accumulated into the body wrenches with {acc}.")
    src = {"quats": "quaternions", "rpy": "roll-pitch-yaw angles", "matrix": "rotation matrices",
           "euler": "Euler angles", "align": "direction vectors (as the rotation aligning an up axis to them)"}
    mode = {"slerp": "wp.quat_slerp", "nlerp": "a normalised linear blend", "delta": "a relative-rotation step"}
    return (f"An orientation-blending kernel ({dt}): it turns {src[o['src']]} into quaternions and interpolates them "
            f"toward a second set of quaternions with {mode[o['mode']]} by a blend factor.")


def _linalg(v: str, c: Ctx, p: Ctx, kb: KernelBuilder, f: Facts) -> str:
    dt = p["dtype"]
    if v == "tet_fem":
        model = {"neo": "Neo-Hookean", "stvk": "Saint Venant-Kirchhoff", "corot": "corotated"}[p["model"]]
        return (f"A tetrahedral FEM kernel ({dt}): each thread builds its tetrahedron's deformation gradient from "
                f"the vertex positions and rest-pose inverse, evaluates {model} stress and adds the resulting nodal "
                f"forces to its four vertices.")
    if v == "tri_cloth":
        pres = " plus a pressure force along the normal" if "cross" in f.builtins else ""
        return (f"A cloth-membrane kernel ({dt}): each thread computes its triangle's 3x2 deformation gradient, Green "
                f"strain and Saint Venant-Kirchhoff stress and adds the membrane forces{pres} to its three vertices.")
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
               "its inverse", "aniso": "an anisotropy matrix built from its wp.eig3 eigen-decomposition",
               "major": "its dominant principal axis (the wp.eig3 eigenvector picked by wp.argmax) scaled by its "
                        "standard deviation"}[p["out"]]
        return f"A covariance kernel ({dt}): per point it accumulates a 3x3 covariance over {mode} and stores {out}."
    if v == "gaussian":
        mode = {"density": "evaluates the Gaussian's density at a query point",
                "project": "projects its covariance to screen space (a 2D conic and a radius)",
                "cov": "stores that covariance"}[p["mode"]]
        return (f"A 3D-Gaussian kernel ({dt}): per Gaussian it builds a covariance from a rotation quaternion and "
                f"scales, and {mode}.")
    if v == "solve":
        method = {"inverse": "the matrix inverse", "cramer": "Cramer's rule", "qr": "QR back-substitution",
                  "jacobi": "Jacobi sweeps", "refine": "an inverse with iterative refinement",
                  "gauss_seidel": "Gauss-Seidel sweeps over its rows"}[p["method"]]
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
        debug = {"": "", "printf": " (the first thread prints it with wp.printf)",
                 "print": " (the first thread prints it with print)"}[c["m"]["debug"]]
        return f"A Monte Carlo kernel: each thread averages a loop of random samples to estimate {mode}{debug}."
    if v == "curl_advect":
        return f"A curl-noise advection kernel ({p['dtype']}): each particle is moved by the wp.curlnoise velocity at its position over a timestep."
    if v == "noise_field":
        return f"A procedural-noise kernel: each {p['ndim']}-D grid cell sums wp.{p['noise']} samples into a fractal value added to a base field."
    if v == "dropout":
        mode = {"where": "zeroed with wp.where unless a random draw falls under the keep probability (kept ones "
                         "rescaled)", "branch": "zeroed in a branch unless a random draw falls under the keep "
                         "probability (kept ones rescaled)", "gauss": "multiplied by Gaussian noise (Gaussian dropout)",
                "bern": "multiplied by a Bernoulli keep factor, wp.nonzero of wp.floor of a uniform draw plus the keep "
                        "probability (kept ones rescaled)"}
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
    if v == "inverse_cdf":
        if p["mode"] in ("erfinv", "erfcinv"):
            how = ("sqrt(2) * wp.erfinv(2u - 1)" if p["mode"] == "erfinv" else "-sqrt(2) * wp.erfcinv(2u)")
            trunc = (" (the uniform draw limited to a band of plus or minus a given number of standard deviations: "
                     "a truncated Gaussian)" if p["truncated"] else " (the uniform draw kept inside the open unit interval)")
            hist = ("; it also counts the standard-normal values per bin of a sorted edge array found with wp.lower_bound"
                    if p["histogram"] else "")
            return (f"An inverse-CDF Gaussian sampler ({p['dtype']}): each thread turns a uniform draw u into a standard "
                    f"normal value {how}{trunc} and stores the mean plus sigma times it{hist}.")
        table = ("a cumulative table it builds in a wp.zeros local array from "
                 + ("its own row of weights" if p["rows"] else "the weights")) if p["mode"] == "table" else \
            "a cumulative-weight input array (ascending; the index is clamped into range on any input)"
        pick = {"index": "stores the index", "value": "stores the value at that index",
                "interp": "stores a continuous sample interpolated inside that bin"}[p["pick"]]
        hist = " and counts the picks with wp.atomic_add" if p["histogram"] else ""
        return (f"An inverse-CDF discrete sampler: each thread scales a uniform draw by the total weight, finds its bin "
                f"with wp.lower_bound over {table}, and {pick}{hist}.")
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
        svec = c.get("svec")
        store = (f", also stored as int16 vectors ({svec}{', x and y only' if svec == 'vec2s' else ''})" if svec
                 else "")
        return f"A pixel-packing kernel: it {mode}{store}."
    cells = "cells stored compactly as int16 vec3s, widened to vec3i," if p["int16"] else "vec3i cells"
    return (f"A grid-cell kernel: it does integer cell arithmetic on {cells} (neighbour offsets with wrap-around, "
            "tiles, distances) and computes linear cell indices.")


def _names(names: list[str]) -> str:
    items = [f"`{n}`" for n in names]
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _structs(v: str, c: Ctx, p: Ctx, kb: KernelBuilder, f: Facts) -> str:
    o, st, hs, dt = c["o"], c["struct_names"], c["helpers"], p["dtype"]
    if v == "particle_step":
        how = {"func": f" through the @wp.func `{hs[0]}`, which takes and returns a `{st[0]}`" if hs else "",
               "ctor": f" into a fresh `{st[0]}()` local set field by field", "fields": " in a copy whose fields it "
               "sets"}[o["how"]]
        cfg = f", reading the timestep and gravity from a @wp.struct parameter of type `{st[1]}`" if len(st) > 1 else ""
        damp = {"none": "", "linear": " with linear damping", "exp": " with exponential damping"}[o["damp"]]
        pin = ", keeps pinned particles (odd flags) unchanged" if o.get("pinned") else ""
        ground = {"none": "", "clamp": ", projects it above a ground plane",
                  "bounce": ", projects it above a ground plane reflecting its vertical velocity"}[o["ground"]]
        dst = "back in place" if o["inplace"] else f"into a second array of `{st[0]}`"
        return (f"A particle-integration kernel ({dt}) over an array of @wp.struct `{st[0]}` records: each thread "
                f"loads its particle, advances its velocity under gravity{damp} and its position by a timestep{how}"
                f"{cfg}{pin}{ground}, and writes the struct {dst}.")
    if v == "springs":
        damped = o["damped"]
        force = "strain" if o.get("strain") else "stretch"
        acc = ("scatters it to both endpoints with wp.atomic_add and wp.atomic_sub" if o["acc"] == "atomic"
               else "adds and subtracts it at the two endpoints with `+=` and `-=`")
        return (f"A spring-force kernel ({dt}) over an array of @wp.struct `{st[0]}` records holding two particle "
                f"indices, a rest length and a stiffness{' and a damping' if damped else ''}: each thread computes its "
                f"spring's {force} force{' with damping along the relative velocity' if damped else ''} and {acc}.")
    if v == "contacts":
        shape = ("a ground plane" if o["shape"] == "plane"
                 else f"the sphere given by a @wp.struct parameter of type `{st[1]}`")
        build = (f"with the @wp.func `{hs[0]}`, which returns one" if o["build"] == "func"
                 else f"as a local `{st[0]}()` set field by field")
        gate = {"store_all": "stores it", "if_hit": "stores it only when the particle penetrates",
                "clear": "stores it, with zero depth and index -1 when the particle does not penetrate"}[o["gate"]]
        count = ", counting penetrating particles with wp.atomic_add" if o["count"] else ""
        return (f"A contact-generation kernel ({dt}): each thread tests its particle against {shape}, builds a "
                f"@wp.struct `{st[0]}` contact record (point, normal, depth, particle index) {build}, and {gate}"
                f"{count}.")
    if v == "materials":
        src = {"param": "a struct parameter", "array": "an array of structs",
               "indexed": "an array of structs through a per-element material index"}[o["src"]]
        model = {"neo": "stable Neo-Hookean", "stvk": "Saint Venant-Kirchhoff", "linear": "linear-elastic"}[o["model"]]
        stress = " and first Piola-Kirchhoff stress" if len(hs) > 1 else ""
        return (f"A hyperelastic-energy kernel ({dt}): each thread reads a deformation gradient and its @wp.struct "
                f"`{st[0]}` material parameters (from {src}) and evaluates the {model} energy density{stress} with "
                f"@wp.func helpers taking the struct ({_names(hs)}).")
    if v == "bounds":
        around = {"points": "its point", "segments": "its segment's two vertices (indices read from arrays)",
                  "triangles": "its triangle's three vertices (indices read from arrays)"}[o["src"]]
        grow = f" and inflated by a margin with `{hs[1]}`" if len(hs) > 1 else " and inflated by a margin"
        refit = ", grown to contain the box already stored," if o.get("refit") else ""
        query = ", and tests it for overlap with a query box given as a struct parameter" if o["query"] else ""
        return (f"An AABB kernel ({dt}): each thread builds a @wp.struct `{st[0]}` box around {around}, merged with "
                f"the helper `{hs[0]}`{grow}{refit} and stores it into an array of `{st[0]}`{query}.")
    if v == "rope":
        packed = (" (position and inverse mass packed in one vec4 field, its position read with a vector slice)"
                  if o["packed"] else "")
        pre = "a first loop keeps its segment lengths in a wp.zeros local array, then " if o["scratch"] else ""
        sums = [w for w, on in (("the segments' stretch energy", o["scratch"]), ("the rope's momentum", o["momentum"]))
                if on]
        extra = f", and sums {' and '.join(sums)}" if sums else ""
        debug = "; the first rope's root tension is printed with wp.printf" if o["debug"] else ""
        return (f"A hanging-rope kernel ({dt}) over an array of @wp.struct `{st[0]}` particles{packed}: each thread "
                f"owns a rope of consecutive particles (returning when it would run past the array); {pre}a loop over "
                f"reversed(range(...)) from the free end up stores at each particle the weight it carries{extra}"
                f"{debug}.")
    forces = " plus external forces" if o["forces"] else ""
    return (f"A particle-state integration kernel ({dt}) in the style of Warp's simulator: @wp.struct parameters of "
            f"types `{st[0]}` and `{st[1]}` hold arrays (positions and velocities, inverse masses) and gravity; each "
            f"thread reads its particle through the structs' array fields, steps its velocity under gravity{forces} "
            f"{'with damping ' if o['damped'] else ''}and its "
            f"position by a timestep, and stores the results into plain arrays.")


def _functions(v: str, c: Ctx, p: Ctx, kb: KernelBuilder, f: Facts) -> str:
    o, hs, defs = c["o"], c["helpers"], c["defs"]
    if v == "sph_helpers":
        kern = "cubic-spline" if o["cubic"] else "poly6"
        grad = ", and also accumulates a spiky-kernel pressure gradient over the other particles" if o["grad"] else ""
        return (f"An SPH density kernel: each thread sums the {kern} smoothing kernel over a loop of particles "
                f"through nested @wp.func helpers ({_names(hs)}), weighting each by its mass{grad}.")
    if v == "overloads":
        name = defs[0]["name"]
        tys = [d["params"][0].split(": ", 1)[1].removeprefix("wp.") for d in defs]
        what = {"sq_norm": "squared norms", "huber": "Huber losses, the vector ones calling the scalar one on the "
                "length", "smooth_abs": "smoothed magnitudes", "clamp_mag": "magnitude clamps"}[o["kind"]]
        return (f"A kernel using Warp's function overloading: {len(defs)} @wp.func definitions share the name `{name}` "
                f"for {', '.join(tys[:-1])} and {tys[-1]} arguments ({what}), and each thread "
                f"calls every overload and sums the results.")
    if v == "generic":
        what = {"lerp": "linear interpolation", "weighted_sum": "a weighted sum", "max3": "a three-way maximum",
                "gather": "a clamped array gather", "abs_diff": "an absolute difference"}
        gens = o["generics"].split(",")
        pair = o["pair"].replace("wp.", "")
        s = "s" if len(hs) > 1 else ""
        prop = {"lerp": "a zero weight returns the first value", "weighted_sum": "a zero weight returns the first "
                "value", "max3": "the maximum of a value with itself is that value", "gather": "a clamped gather "
                "below the range reads the first element", "abs_diff": "an absolute difference is symmetric"}

        def _checks(gens: list[str]) -> str:
            fns = sorted({"wp.expect_near" if g in ("lerp", "weighted_sum") else "wp.expect_eq" for g in gens})
            return (f", checking with {' and '.join(fns)}, as Warp's tests do, that "
                    f"{', '.join(dict.fromkeys(prop[g] for g in gens))}.")
        return (f"A generic-function kernel: the @wp.func helper{s} {_names(hs)} ("
                f"{', '.join(what[g] for g in gens)}) take{'' if s else 's'} parameters annotated `Any`, and the "
                f"kernel calls {'them' if s else 'it'} with two concrete types, {pair}"
                + (_checks(gens) if o["checks"] else "."))
    if v == "custom_grad":
        fn = next(d["name"] for d in defs if d["deco"] == "wp.func")
        adj = next(d["name"] for d in defs if d["deco"].startswith("wp.func_grad"))
        what = {"safe_sqrt": "a square root clamped away from zero", "softplus": "the softplus activation",
                "sigmoid": "the logistic sigmoid", "safe_length": "a vector length smoothed at zero",
                "smooth_min": "a log-sum-exp smooth minimum of two values"}[o["kind"]]
        outer = f", called through the helper `{hs[1]}`" if len(hs) > 1 else ""
        out = "accumulates the sum with wp.atomic_add" if o.get("reduce") else "stores it"
        return (f"A custom-gradient kernel: the @wp.func `{fn}` ({what}) has a hand-written adjoint `{adj}` registered "
                f"with @wp.func_grad that adds the exact derivative to wp.adjoint{outer}; each thread applies it to "
                f"its input and {out}.")
    if v == "multi_return":
        what = {"closest_segment": "the parameter and the closest point of a segment to a query point",
                "polar": "a vector's length and direction", "sincos": "the Cartesian coordinates of a polar point",
                "min_max": "the smaller and the larger of two values", "quadratic": "the two real parts of a "
                "quadratic's roots (discriminant clamped at zero)", "homogeneous": "the Cartesian point (a vector "
                "slice of the first three components divided by the fourth) and the weight of a homogeneous "
                "point"}[o["kind"]]
        asserts = {"closest_segment": "wp.expect_near", "polar": "wp.expect_neq and wp.expect_near",
                   "sincos": "wp.expect_near", "min_max": "wp.expect_eq", "quadratic": "wp.expect_neq",
                   "homogeneous": "wp.expect_near"}[o["kind"]]
        checks = (f" and checks the results (or the inputs' preconditions) with Warp's in-kernel assertions "
                  f"({asserts})" if o["checks"] else "")
        return (f"A multi-return kernel: the @wp.func `{hs[0]}` returns {what} as two values, which each thread "
                f"unpacks into two locals{checks} and stores.")
    what = {"bilinear": "samples a 2-D grid bilinearly at a point's coordinates, its indices clamped to the grid",
            "table": "linearly interpolates a 1-D lookup table at a clamped coordinate",
            "stencil": "evaluates a three-point stencil with clamped neighbour indices, used for an explicit "
            "smoothing step", "horner": "evaluates the polynomial with those coefficients by Horner's rule, a loop "
            "over reversed(range(...)) from the highest coefficient" + {"shape": "", "degree": " up to a given degree",
                                                                        "const": " up to a constant degree"}.get(
                o.get("bound", ""), ""),
            "returns": "sums the discounted rewards from a start index to the end in a reversed(range(start, n)) "
            "loop (reward-to-go" + (", reset at episode ends" if o.get("dones") else "") + ")"}[o["kind"]]
    return f"An array-argument kernel: the @wp.func `{hs[0]}` takes an array and {what}; each thread calls it."


LEADS: dict[str, Callable[[str, Ctx, Ctx, KernelBuilder, Facts], str]] = {
    "spatial": _spatial, "linalg": _linalg, "random": _random, "bitwise": _bitwise, "geometry": _geometry,
    "structs": _structs,
    "functions": _functions, "tiles": _tiles, "volumes": _volumes}
