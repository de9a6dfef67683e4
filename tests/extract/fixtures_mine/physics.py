"""Particles: helpers calling helpers, a struct argument and module constants."""

import warp as wp

GRAVITY = wp.constant(-9.81)
MAX_STEPS = wp.constant(4)
UP = wp.constant(wp.vec3(0.0, 1.0, 0.0))
DAMPING = 0.99  # a plain global: Warp inlines it too


@wp.struct
class Particles:
    pos: wp.array(dtype=wp.vec3)
    vel: wp.array(dtype=wp.vec3)
    mass: float


@wp.func
def clamp_speed(v: wp.vec3, vmax: float) -> wp.vec3:
    s = wp.length(v)
    if s > vmax:
        return v * (vmax / s)
    return v


@wp.func
def integrate(x: wp.vec3, v: wp.vec3, dt: float) -> wp.vec3:
    return x + clamp_speed(v, 10.0) * dt


@wp.kernel
def step(p: Particles, dt: float):
    tid = wp.tid()
    v = p.vel[tid] + UP * (GRAVITY * dt)
    for _ in range(MAX_STEPS):
        v = v * DAMPING
    p.vel[tid] = v
    p.pos[tid] = integrate(p.pos[tid], v, dt)


@wp.kernel(enable_backward=False)
def kinetic_energy(p: Particles, out: wp.array(dtype=float)):
    tid = wp.tid()
    v = p.vel[tid]
    wp.atomic_add(out, 0, 0.5 * p.mass * wp.dot(v, v))


if __name__ == "__main__":
    raise SystemExit("not run on import")
